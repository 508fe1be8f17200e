"""The command line: exit codes 0 (success), 1 (bad input, one line, no traceback), 2 (bad usage)."""

import json
import os
import subprocess
import sys

import pytest

from digitrec.cli import main


def run_cli(*args, env=None):
    """The real `digitrec` command in a fresh process."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run([sys.executable, "-m", "digitrec", *args], capture_output=True, text=True, env=environment, timeout=300)


def test_models_lists_the_registry(capsys):
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row["name"] for row in rows} >= {"keras_mnist_cnn", "codeastar_cnn", "fast", "best"}
    keras_cnn = next(row for row in rows if row["name"] == "keras_mnist_cnn")
    assert keras_cnn["parameters"] == "1,199,882" and "adadelta" in keras_cnn["recipe"]


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["train", "--model", "lenet"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        main(["train", "--model", "fast", "--epochs", "-3"])
    assert caught.value.code == 2
    assert "'-3' must be at least 1" in capsys.readouterr().err


def test_bad_input_exits_1_with_one_line_and_no_traceback(tmp_path):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 20)
    result = run_cli("data", "info", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip() == f"digitrec: error: {tmp_path}: data folder has no train-labels-idx1-ubyte[.gz]"
    assert "Traceback" not in result.stderr


def test_corrupt_data_exits_1(tmp_path, mnist_dir):
    for name in os.listdir(mnist_dir):
        (tmp_path / name).write_bytes((mnist_dir / name).read_bytes())
    truncated = tmp_path / "train-labels-idx1-ubyte.gz"
    truncated.write_bytes(truncated.read_bytes()[:1000])
    code = main(["data", "info", "--data-dir", str(tmp_path)])
    assert code == 1


def test_train_evaluate_export_end_to_end(mnist_dir, tmp_path, capsys):
    out_dir = tmp_path / "run"
    assert main(["train", "--model", "fast", "--limit", "2000", "--batch-size", "64", "--out", str(out_dir), "--data-dir", str(mnist_dir)]) == 0
    printed = capsys.readouterr().out
    assert "fast: test accuracy" in printed and f"saved {out_dir}" in printed
    assert main(["evaluate", str(out_dir), "--data-dir", str(mnist_dir)]) == 0
    printed = capsys.readouterr().out
    saved = json.loads((out_dir / "metrics.json").read_text())
    assert f"test accuracy {100 * saved['test_accuracy']:.2f} %" in printed
    assert "confusion matrix" in printed
    assert main(["export", str(out_dir), "--format", "legacy"]) == 0
    assert (out_dir / "model.json").is_file() and (out_dir / "model.weights.h5").is_file()
    capsys.readouterr()
    # the legacy pair evaluates to the same accuracy as the .keras model did
    os.remove(out_dir / "model.keras")
    assert main(["evaluate", str(out_dir), "--data-dir", str(mnist_dir), "--json"]) == 0
    legacy_metrics = json.loads(capsys.readouterr().out)
    assert legacy_metrics["test_accuracy"] == saved["test_accuracy"]
    assert legacy_metrics["confusion_matrix"] == saved["confusion_matrix"]


def test_evaluate_missing_model_exits_1(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err.strip() == f"digitrec: error: {tmp_path / 'nope'}: no such file or folder"
