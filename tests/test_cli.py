"""The command line: exit codes 0 (success), 1 (bad input, one line, no traceback), 2 (bad usage)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import cli_in_fresh_python
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
    assert keras_cnn["parameters"] == 1_199_882 and "adadelta" in keras_cnn["recipe"]  # a number, not text


def test_models_needs_no_tensorflow_and_its_counts_are_keras_own():
    from conftest import cli_in_fresh_python

    from digitrec.models import MODELS, count_parameters, create_model

    code, heavy, output = cli_in_fresh_python(["models"])
    assert (code, heavy) == (0, [])
    assert output.splitlines()[0].split() == ["model", "parameters", "source"]
    for spec in MODELS.values():
        assert count_parameters(create_model(spec.name)) == spec.parameters, spec.name


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


@pytest.mark.slow
def test_train_evaluate_export_end_to_end(mnist_dir, tmp_path, capsys):
    out_dir = tmp_path / "run"
    # with a weights average (--ema), weight decay and test-time shifts: the saved model, compiled
    # with our warmed-up optimizer and reading five positions, is read back by evaluate and export
    # (legacy JSON pair included) like any other
    assert main(["train", "--model", "fast", "--limit", "2000", "--batch-size", "64", "--ema", "0.9", "--weight-decay", "0.01",
                 "--test-shifts", "on", "--out", str(out_dir), "--data-dir", str(mnist_dir), "--report"]) == 0
    printed = capsys.readouterr().out
    saved = json.loads((out_dir / "config.json").read_text())["config"]
    assert saved["ema_momentum"] == 0.9 and saved["weight_decay"] == 0.01 and saved["test_shifts"] is True
    assert "fast: test accuracy" in printed and f"saved {out_dir}" in printed
    assert f"wrote {out_dir / 'report.html'}" in printed
    assert {"model.keras", "config.json", "history.json", "metrics.json", "curves.png", "report.html"} <= {p.name for p in out_dir.iterdir()}
    from digitrec.data import MNIST_FILES

    assert json.loads((out_dir / "config.json").read_text())["data"]["files_sha256"] == MNIST_FILES
    assert main(["evaluate", str(out_dir), "--data-dir", str(mnist_dir)]) == 0
    printed = capsys.readouterr().out
    saved = json.loads((out_dir / "metrics.json").read_text())
    assert f"test accuracy {100 * saved['test_accuracy']:.2f} %" in printed
    assert "confusion matrix" in printed
    assert all((out_dir / name).is_file() for name in ("confusion.png", "mistakes.png", "predictions.png"))
    assert main(["export", str(out_dir), "--format", "legacy"]) == 0
    assert (out_dir / "model.json").is_file() and (out_dir / "model.weights.h5").is_file()
    capsys.readouterr()
    # the legacy pair evaluates to the same accuracy as the .keras model did
    os.remove(out_dir / "model.keras")
    assert main(["evaluate", str(out_dir), "--data-dir", str(mnist_dir), "--json"]) == 0
    legacy_metrics = json.loads(capsys.readouterr().out)
    assert legacy_metrics["test_accuracy"] == saved["test_accuracy"]
    assert legacy_metrics["confusion_matrix"] == saved["confusion_matrix"]


@pytest.mark.slow
def test_test_shifts_off_saves_the_bare_network(mnist_dir, tmp_path, capsys):
    import keras

    from digitrec.saving import load_model

    # best's recipe reads shifts; off saves the network alone (a fifth of the work per picture);
    # --elastic adds elastic distortion to the recipe's own affine augmentation
    assert main(["train", "--model", "best", "--limit", "300", "--epochs", "1", "--test-shifts", "off", "--elastic", "34",
                 "--out", str(tmp_path / "run"), "--data-dir", str(mnist_dir)]) == 0
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert saved["test_shifts"] is False
    assert saved["augmentation"] == {"rotation_degrees": 10, "zoom": 0.1, "shift": 0.1, "stroke_width": False, "elastic_alpha": 34, "elastic_sigma": 4}
    assert isinstance(load_model(tmp_path / "run"), keras.Sequential)
    assert "validation_accuracy" not in json.loads((tmp_path / "run" / "metrics.json").read_text())


def test_evaluate_missing_model_exits_1(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err.strip() == f"digitrec: error: {tmp_path / 'nope'}: no such file or folder"


# --- predict ------------------------------------------------------------------------------------


def table_rows(out):
    """The predict table's rows as [path, digits, confidence, note], after checking its header."""
    import re

    lines = out.strip().splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["path", "digits", "confidence", "note"]
    return [re.split(r"\s{2,}", line, maxsplit=3) + [""] * (4 - len(re.split(r"\s{2,}", line, maxsplit=3))) for line in lines[1:]]


def draw_digit_file(path, points, size=(200, 200)):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).line(points, fill="black", width=9)
    image.save(path)
    return path


def test_predict_folder_with_a_bad_file_answers_the_rest(tmp_path, capsys):
    folder = tmp_path / "pictures"
    (folder / "nested").mkdir(parents=True)
    draw_digit_file(folder / "one.png", [(100, 30), (100, 170)])
    draw_digit_file(folder / "nested" / "seven.jpg", [(50, 40), (150, 40), (90, 170)])
    (folder / "broken.png").write_text("this is not a picture")
    code = main(["predict", str(folder)])
    out = capsys.readouterr()
    assert code == 1
    rows = table_rows(out.out)
    assert [row[:2] for row in rows] == [[str(folder / "broken.png"), "-"], [str(folder / "nested" / "seven.jpg"), "7"], [str(folder / "one.png"), "1"]]
    assert rows[0][3] == "error: not an image Pillow can read"
    header, *lines = out.out.splitlines()
    column = header.index("digits")
    assert [line[column] for line in lines] == ["-", "7", "1"]  # the columns line up under the header
    assert out.err.strip() == "digitrec: error: 1 of 3 inputs could not be read"


def test_predict_json(tmp_path, capsys):
    picture = draw_digit_file(tmp_path / "seven.png", [(50, 40), (150, 40), (90, 170)])
    assert main(["predict", str(picture), "--json"]) == 0
    (answer,) = json.loads(capsys.readouterr().out)
    assert answer["path"] == str(picture) and answer["digit"] == 7 and len(answer["probabilities"]) == 10
    assert answer["uncertain"] is False and 0.8 <= answer["confidence"] <= 1


def test_predict_says_not_a_digit_and_several_digits(tmp_path, capsys):
    from PIL import Image, ImageDraw

    letter = tmp_path / "letter.png"
    image = Image.new("L", (200, 200), 255)
    draw = ImageDraw.Draw(image)
    for stroke in ([(40, 180), (100, 20), (160, 180)], [(65, 110), (135, 110)]):  # an A
        draw.line(stroke, fill=0, width=10)
    image.save(letter)
    number = tmp_path / "number.png"
    image = Image.new("L", (300, 200), 255)
    draw = ImageDraw.Draw(image)
    draw.line([(50, 40), (50, 160)], fill=0, width=10)
    draw.line([(140, 40), (230, 40), (170, 160)], fill=0, width=10)
    image.save(number)
    assert main(["predict", str(letter), str(number)]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert rows[0][3].startswith("uncertain: not a digit")
    assert rows[1][3].startswith("uncertain: several digits found; use --multi")
    assert main(["predict", str(letter), "--json"]) == 0
    (answer,) = json.loads(capsys.readouterr().out)
    assert answer["uncertain"] is True and answer["reason"] == "not a digit"


def test_predict_kaggle_csv_writes_a_submission(small_mnist, tmp_path, capsys):
    from digitrec.data import write_kaggle_csv

    images = small_mnist[1][0][:50]
    test_csv = write_kaggle_csv(tmp_path / "test.csv", images)
    submission = tmp_path / "submission.csv"
    assert main(["predict", str(test_csv), "--submission", str(submission)]) == 0
    rows = submission.read_text().splitlines()
    assert rows[0] == "ImageId,Label" and len(rows) == 51
    assert rows[1].startswith("1,") and rows[50].startswith("50,")
    labels = np.array([int(row.split(",")[1]) for row in rows[1:]])
    assert (labels == small_mnist[1][1][:50]).mean() >= 0.96
    assert "wrote" in capsys.readouterr().out


def test_predict_labelled_csv_reports_accuracy(small_mnist, tmp_path, capsys):
    from digitrec.data import write_kaggle_csv

    train_csv = write_kaggle_csv(tmp_path / "train.csv", small_mnist[0][0][:40], small_mnist[0][1][:40])
    assert main(["predict", str(train_csv)]) == 0
    out = capsys.readouterr().out
    right = sum(row[1] == str(label) for row, label in zip(table_rows(out.rsplit("\n", 2)[0]), small_mnist[0][1][:40]))
    assert out.strip().splitlines()[-1] == f"{train_csv}: {right}/40 correct ({100 * right / 40:.2f} %)" and right >= 36


def test_predict_idx_file(small_mnist, tmp_path, capsys):
    from conftest import write_idx

    path = write_idx(tmp_path / "few-images-idx3-ubyte.gz", small_mnist[1][0][:12])
    assert main(["predict", str(path)]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert len(rows) == 12 and rows[0][:2] == [f"{path}#1", "7"]
    # with its labels file beside it (named as MNIST's are), the accuracy is printed, as for train.csv
    write_idx(tmp_path / "few-labels-idx1-ubyte.gz", small_mnist[1][1][:12], magic=None)
    assert main(["predict", str(path)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"{path}: 12/12 correct (100.00 %)"


def test_predict_with_a_run_folder_model(run_copy, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DIGITREC_CACHE_DIR", str(tmp_path / "cache"))
    picture = draw_digit_file(tmp_path / "one.png", [(100, 30), (100, 170)])
    assert main(["predict", str(picture), "--model", str(run_copy), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["path"] == str(picture)
    assert not (run_copy / "model.onnx").exists()  # converted into the cache, not beside the model


def test_predict_submission_without_csv_is_bad_input(tmp_path, capsys):
    picture = draw_digit_file(tmp_path / "one.png", [(100, 30), (100, 170)])
    assert main(["predict", str(picture), "--submission", str(tmp_path / "s.csv")]) == 1
    assert "--submission needs a Kaggle test.csv" in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()


def test_data_show_writes_both_pictures(mnist_dir, tmp_path, capsys):
    assert main(["data", "show", "--rows", "1", "--columns", "5", "--out", str(tmp_path), "--data-dir", str(mnist_dir)]) == 0
    for name in ("samples.png", "distribution.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    assert main(["data", "show", "--start", "70000", "--out", str(tmp_path), "--data-dir", str(mnist_dir)]) == 1
    assert "--start must be between 0 and 59999, got 70000" in capsys.readouterr().err
    args = ["data", "show", "--rows", "20", "--columns", "20", "--start", "59990", "--out", str(tmp_path), "--data-dir", str(mnist_dir)]
    assert main(args) == 1  # a grid that would run past the data: refused, not drawn mostly blank
    assert "runs past the 60,000 training images; use --start 59600 or less" in capsys.readouterr().err


def test_successful_command_prints_no_tensorflow_chatter():
    result = run_cli("models")
    assert result.returncode == 0 and "keras_mnist_cnn" in result.stdout
    assert result.stderr == ""


def test_a_closed_pipe_ends_quietly(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    for index in range(40):
        draw_digit_file(folder / f"one-{index:02d}.png", [(100, 30), (100, 170)])
    binary = os.path.join(os.path.dirname(sys.executable), "digitrec")
    result = subprocess.run(f"'{binary}' predict '{folder}' | head -2", shell=True, capture_output=True, text=True, timeout=120)
    assert result.stdout.count("\n") == 2 and result.stdout.splitlines()[1].startswith(str(folder))
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


def test_predicting_with_a_run_folder_writes_nothing_into_it(run_copy, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIGITREC_CACHE_DIR", str(tmp_path / "cache"))
    picture = draw_digit_file(tmp_path / "seven.png", [(50, 40), (150, 40), (90, 170)])
    before = sorted(path.name for path in run_copy.iterdir())
    os.chmod(run_copy, 0o555)  # a read-only run folder
    try:
        assert main(["predict", str(picture), "--model", str(run_copy)]) == 0
    finally:
        os.chmod(run_copy, 0o755)
    assert sorted(path.name for path in run_copy.iterdir()) == before
    assert len(list((tmp_path / "cache" / "onnx").glob("*.onnx"))) == 1  # converted once, into the cache
    assert main(["predict", str(picture), "--model", str(run_copy)]) == 0  # the second time from the cache
    capsys.readouterr()


def test_evaluating_an_onnx_model_reads_only_and_needs_no_tensorflow(mnist_dir):
    from digitrec.inference import pretrained_dir

    before = sorted(path.name for path in pretrained_dir().iterdir())
    code, heavy, output = cli_in_fresh_python(["evaluate", pretrained_dir() / "model.onnx", "--no-pictures", "--data-dir", mnist_dir, "--json"])
    assert (code, heavy) == (0, [])
    assert '"test_accuracy": 0.99' in output
    assert sorted(path.name for path in pretrained_dir().iterdir()) == before  # no metrics.json in the package


@pytest.mark.parametrize("module, command, extra", [("keras", ["train", "--model", "fast"], "train"), ("fastapi", ["serve", "--port", "1"], "serve")])
def test_a_missing_extra_is_one_line_naming_the_install(module, command, extra, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed: importing it fails
    for name in [name for name in sys.modules if name.startswith(module + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    assert main(command) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"digitrec: error: this command needs {module}, which is not installed: pip install 'digitrec[{extra}]'"]


def test_odd_file_names_print_as_one_safe_line_each(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    names = [b"new\nline.png", b"latin-\xe9.png"]  # a newline; a byte that is not UTF-8
    for name in names:
        draw_digit_file(os.path.join(os.fsencode(folder), name).decode("utf-8", "surrogateescape"), [(100, 30), (100, 170)])
    result = subprocess.run([sys.executable, "-m", "digitrec", "predict", str(folder)], capture_output=True, timeout=120)
    assert result.returncode == 0 and b"Traceback" not in result.stderr
    rows = table_rows(result.stdout.decode("utf-8"))
    assert len(rows) == 2
    assert sorted((row[0].rsplit("/", 1)[1], row[1]) for row in rows) == [("latin-\\xe9.png", "1"), ("new\\nline.png", "1")]


def test_export_refuses_to_overwrite_without_the_flag(run_copy, capsys):
    assert main(["export", str(run_copy), "--format", "onnx"]) == 0
    onnx = run_copy / "model.onnx"
    before = onnx.read_bytes()
    capsys.readouterr()
    for fmt in ("onnx", "legacy"):
        if fmt == "legacy":
            assert main(["export", str(run_copy), "--format", "legacy"]) == 0
            capsys.readouterr()
        assert main(["export", str(run_copy), "--format", fmt]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].endswith("already exists; pass --overwrite to replace it")
    assert onnx.read_bytes() == before
    assert main(["export", str(run_copy), "--format", "onnx", "--overwrite"]) == 0


def test_the_shipped_model_by_name(mnist_dir, capsys):
    from conftest import cli_in_fresh_python

    code, heavy, output = cli_in_fresh_python(["evaluate", "pretrained", "--no-pictures", "--data-dir", mnist_dir])
    assert (code, heavy) == (0, [])
    assert output.startswith("test accuracy 99.")


def test_predict_reads_standard_input_and_shows_top_k(tmp_path):
    picture = draw_digit_file(tmp_path / "seven.png", [(50, 40), (150, 40), (90, 170)])
    command = [sys.executable, "-m", "digitrec", "predict", "-", "--top-k", "4"]
    with open(picture, "rb") as stdin:
        result = subprocess.run(command, stdin=stdin, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    (row,) = table_rows(result.stdout)
    assert row[:2] == ["-", "7"] and row[3].startswith("top: 7 ") and row[3].count("%") == 4
    empty = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert empty.returncode == 1 and "standard input is empty" in empty.stdout
    mixed = subprocess.run([*command[:4], str(picture), "-"], capture_output=True, text=True, timeout=120)
    assert mixed.returncode == 1 and mixed.stderr.strip() == "digitrec: error: - (a picture on standard input) can only be given alone"


def test_bad_top_k_and_a_missing_training_csv_are_one_line(tmp_path, capsys):
    picture = draw_digit_file(tmp_path / "one.png", [(100, 30), (100, 170)])
    assert main(["predict", str(picture), "--top-k", "11"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == ["digitrec: error: --top-k must be between 1 and 10, got 11"]
    assert main(["train", "--model", "fast", "--data", str(tmp_path / "nowhere.csv"), "--out", str(tmp_path / "run")]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [f"digitrec: error: {tmp_path / 'nowhere.csv'}: no such file (--data takes Kaggle's train.csv)"]
    assert not (tmp_path / "run").exists()


def test_a_bad_weight_decay_is_one_line(mnist_dir, tmp_path, capsys):
    assert main(["train", "--model", "fast", "--weight-decay", "-0.1", "--out", str(tmp_path / "run"), "--data-dir", str(mnist_dir)]) == 1
    assert capsys.readouterr().err.strip().splitlines() == ["digitrec: error: --weight-decay must be in (0, 1), got -0.1"]
    assert not (tmp_path / "run").exists()


def test_elastic_on_a_recipe_without_augmentation_and_bad_strengths(mnist_dir, tmp_path, capsys):
    from digitrec.config import TrainConfig

    # fast has no augmentation: --elastic alone distorts, no rotation, zoom or shift added
    assert main(["train", "--model", "fast", "--limit", "256", "--epochs", "1", "--elastic", "20",
                 "--out", str(tmp_path / "run"), "--data-dir", str(mnist_dir)]) == 0
    config = TrainConfig.from_dict(json.loads((tmp_path / "run" / "config.json").read_text())["config"])
    assert (config.augmentation.elastic_alpha, config.augmentation.rotation_degrees, config.augmentation.zoom, config.augmentation.shift) == (20, 0, 0, 0)
    for bad in ("-1", "nan", "1000"):
        assert main(["train", "--model", "best", "--elastic", bad, "--out", str(tmp_path / "bad"), "--data-dir", str(mnist_dir)]) == 1
        assert capsys.readouterr().err.strip().splitlines() == [f"digitrec: error: --elastic must be a strength from 0 (none) to 100, got {float(bad):g}"]
    assert not (tmp_path / "bad").exists()


def test_a_bad_ema_momentum_is_one_line(mnist_dir, tmp_path, capsys):
    assert main(["train", "--model", "fast", "--ema", "1.5", "--out", str(tmp_path / "run"), "--data-dir", str(mnist_dir)]) == 1
    assert capsys.readouterr().err.strip().splitlines() == ["digitrec: error: --ema must be a momentum in (0, 1), got 1.5"]
    assert list(tmp_path.iterdir()) == []  # no run folder, nothing half-written


@pytest.mark.slow
def test_keras_is_imported_quietly_without_the_optional_modules_it_does_not_need():
    # cli.quiet_tensorflow: no absl/oneDNN chatter on stderr, and Keras comes up without pyplot,
    # pandas and scikit-learn (all installed here); Keras works, and they import normally afterwards
    script = (
        "import sys\n"
        "from digitrec.cli import quiet_tensorflow\n"
        "quiet_tensorflow()\n"
        "import keras, numpy as np\n"
        "skipped = sorted(m for m in ('matplotlib.pyplot', 'pandas', 'sklearn') if m in sys.modules)\n"
        "model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])\n"
        "model.compile(loss='mse')\n"
        "model.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0)\n"
        "import pandas, sklearn\n"
        "print(skipped, pandas.DataFrame({'a': [1]}).shape)\n"
    )
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "[] (1, 1)"
    assert "oneDNN" not in result.stderr and "cpu_feature_guard" not in result.stderr
