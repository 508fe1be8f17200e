"""Several runs at once: ensemble members and sweeps, on this machine and on a local 2-CPU Ray."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from digitrec.cli import main
from digitrec.errors import DigitrecError
from digitrec.multirun import Job, member_jobs, run_jobs, sweep_jobs

pytest.importorskip("ray")


def cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "digitrec", *map(str, args)], capture_output=True, text=True, **kwargs)


def test_jobs_are_named_after_what_they_change():
    assert [job.name for job in member_jobs("fast", [0, 1], epochs=1)] == ["fast-seed0", "fast-seed1"]
    jobs = sweep_jobs("fast", {"learning_rate": [0.005, 0.01], "epochs": [1, 2], "batch_size": None}, validation_split=0.08)
    assert [job.name for job in jobs] == ["fast-learningrate0.005-epochs1", "fast-learningrate0.005-epochs2",
                                          "fast-learningrate0.01-epochs1", "fast-learningrate0.01-epochs2"]
    assert dict(jobs[0].overrides) == {"learning_rate": 0.005, "epochs": 1, "validation_split": 0.08}


@pytest.mark.slow
def test_ray_members_make_the_same_ensemble_as_the_same_runs_locally(mnist_dir, tmp_path):
    out = tmp_path / "ray-ensemble"
    finished = cli("ensemble", "--train", "fast", "--seeds", 0, 1, "--epochs", 1, "--limit", 2000, "--engine", "ray",
                   "--workers", 2, "--out", out, "--data-dir", mnist_dir, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert "training 2 runs" in finished.stdout and "ensemble of 2: test accuracy" in finished.stdout
    members = [tmp_path / "ray-ensemble-members" / f"fast-seed{seed}" for seed in (0, 1)]
    for member in members:
        config = json.loads((member / "config.json").read_text())["config"]
        assert (config["seed"], config["epochs"], config["limit"]) == (members.index(member), 1, 2000)
    local = tmp_path / "local-ensemble"
    assert main(["ensemble", *map(str, members), "--out", str(local), "--data-dir", str(mnist_dir)]) == 0
    from digitrec.saving import load_model

    images = np.random.default_rng(1).random((64, 28, 28, 1), dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(load_model(out)(images)), np.asarray(load_model(local)(images)))
    assert json.loads((out / "metrics.json").read_text())["test_accuracy"] == json.loads((local / "metrics.json").read_text())["test_accuracy"]


def training_process(name):
    """The pid of the `digitrec train` process writing run `name`, and its parent's, or None."""
    from pathlib import Path

    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            status = (entry / "status").read_text()
        except OSError:
            continue
        words = [word.decode(errors="replace") for word in args]
        if "digitrec" in words and "train" in words and any(word.endswith(f"/{name}") for word in words):
            ppid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
            return int(entry.name), ppid
    return None


def members_training(tmp_path, mnist_dir, member, *flags):
    """Start `digitrec ensemble --train fast` (3 epochs) and wait until `member` has a checkpoint;
    (the command's process, (pid, parent pid) of the member's `digitrec train`)."""
    command = [sys.executable, "-m", "digitrec", "ensemble", "--train", "fast", "--seeds", "0", "1", "--epochs", "3",
               "--limit", "3000", "--workers", "2", *flags, "--out", str(tmp_path / "e"), "--data-dir", str(mnist_dir)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    latest = tmp_path / "e-members" / f".{member}.resume" / "latest"
    deadline = time.monotonic() + 300
    while not latest.is_file() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    found = training_process(member)
    assert found, "the member's training process was not found"
    return process, found


def test_a_summary_takes_the_saved_models_held_out_figure_when_it_has_one(tmp_path):
    from digitrec.multirun import summary

    job = Job("best-seed0", "best", (("seed", 0),))
    (tmp_path / "history.json").write_text(json.dumps({"val_accuracy": [0.98, 0.99]}))
    (tmp_path / "metrics.json").write_text(json.dumps({"test_accuracy": 0.995, "train_seconds": 1.0}))
    assert summary(job, tmp_path)["validation_accuracy"] == 0.99  # the last epoch's: that network is the saved model
    # with test-time shifts the saved model reads five positions; its own held-out figure is in metrics.json
    (tmp_path / "metrics.json").write_text(json.dumps({"test_accuracy": 0.995, "validation_accuracy": 0.992, "train_seconds": 1.0}))
    assert summary(job, tmp_path)["validation_accuracy"] == 0.992


@pytest.mark.slow
def test_a_killed_ray_worker_is_retried_and_its_run_continues(mnist_dir, tmp_path):
    process, found = members_training(tmp_path, mnist_dir, "fast-seed0", "--engine", "ray")
    from pathlib import Path

    assert b"train_job" in Path(f"/proc/{found[1]}/cmdline").read_bytes()  # its parent is the Ray worker
    os.kill(found[1], signal.SIGKILL)  # the Ray worker running the task; its `digitrec train` dies with it
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    history = json.loads((tmp_path / "e-members" / "fast-seed0" / "history.json").read_text())
    assert len(history["loss"]) == 3  # the retry continued the killed run (or ran it again) to the end
    leftovers = [path.name for path in (tmp_path / "e-members").iterdir() if path.name.startswith(".")]
    assert leftovers == []


@pytest.mark.slow
def test_a_failing_member_is_one_line_and_finished_runs_are_kept(mnist_dir, tmp_path):
    finished = cli("ensemble", "--train", "fast", "--seeds", 0, 1, "--epochs", 1, "--limit", 500, "--out", tmp_path / "e",
                   "--data-dir", tmp_path / "no-mnist-here", timeout=300)
    assert finished.returncode == 1
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1 and "fast-seed" in lines[0] and "training failed" in lines[0] and "Traceback" not in finished.stderr
    assert not (tmp_path / "e").exists()


@pytest.mark.slow
def test_a_finished_run_is_not_trained_again_unless_its_settings_differ(small_mnist, mnist_dir, tmp_path):
    jobs = [Job("a", "fast", (("seed", 0), ("epochs", 1), ("limit", 600))), Job("b", "fast", (("seed", 1), ("epochs", 1), ("limit", 600)))]
    first = run_jobs(jobs, tmp_path, workers=2, data_dir=mnist_dir)
    modified = (tmp_path / "a" / "model.keras").stat().st_mtime_ns
    again = run_jobs(jobs, tmp_path, workers=2, data_dir=mnist_dir)
    assert again == first and (tmp_path / "a" / "model.keras").stat().st_mtime_ns == modified
    with pytest.raises(DigitrecError, match="trained with limit 600, not 700"):
        run_jobs([Job("a", "fast", (("seed", 0), ("epochs", 1), ("limit", 700)))], tmp_path, data_dir=mnist_dir)


@pytest.mark.slow
def test_sweep_compares_on_held_out_training_images(mnist_dir, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", "--model", "keras_mnist_cnn", "--learning-rate", "0.5", "1.0", "--epochs", "1", "--limit", "1000",
                 "--out", str(out), "--data-dir", str(mnist_dir)]) == 0
    printed = capsys.readouterr().out
    assert "never the test set" in printed
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert [row["name"] for row in rows] == sorted([row["name"] for row in rows], key=lambda n: -float(
        next(r["validation_accuracy"] for r in rows if r["name"] == n)))
    assert {row["learning_rate"] for row in rows} == {"0.5", "1.0"}
    for row in rows:
        config = json.loads((out / row["name"] / "config.json").read_text())["config"]
        # keras_mnist_cnn's recipe validates on the test set; a sweep holds out 8 % instead
        assert (config["validation"], config["validation_fraction"]) == ("split", 0.08)
        history = json.loads((out / row["name"] / "history.json").read_text())
        assert float(row["validation_accuracy"]) == pytest.approx(history["val_accuracy"][-1])


@pytest.mark.slow
def test_local_runs_import_neither_ray_nor_torch(mnist_dir, tmp_path):
    from conftest import cli_in_fresh_python

    code, heavy, _ = cli_in_fresh_python(["sweep", "--model", "fast", "--epochs", "1", "--seeds", "0", "1", "--limit", "300",
                                          "--out", tmp_path / "sweep", "--data-dir", mnist_dir])
    assert code == 0
    assert not any(name.split(".")[0] in ("ray", "torch") for name in heavy)  # the driver; its runs are `digitrec train`
    code, heavy, _ = cli_in_fresh_python(["train", "--model", "fast", "--epochs", "1", "--limit", "300", "--out", tmp_path / "one",
                                          "--data-dir", mnist_dir])
    assert code == 0 and "keras" in heavy and not any(name.split(".")[0] in ("ray", "torch") for name in heavy)
    # nor pyplot, pandas or scikit-learn, which Keras imports only for features digitrec does not use
    # (cli.WithoutOptionalImports; all three are installed here); the curves are drawn all the same
    assert not {"matplotlib.pyplot", "pandas", "sklearn"} & set(heavy)
    assert (tmp_path / "one" / "curves.png").stat().st_size > 10_000


@pytest.mark.slow
def test_a_killed_local_run_is_tried_again_from_its_checkpoint(mnist_dir, tmp_path):
    process, found = members_training(tmp_path, mnist_dir, "fast-seed1")
    os.kill(found[0], signal.SIGKILL)  # the `digitrec train` process itself
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    history = json.loads((tmp_path / "e-members" / "fast-seed1" / "history.json").read_text())
    assert len(history["loss"]) == 3
    metrics = json.loads((tmp_path / "e-members" / "fast-seed1" / "metrics.json").read_text())
    assert metrics.get("resumed_after_epoch", 0) >= 1  # the second try continued the killed run


@pytest.mark.parametrize("argv, message", [
    (["ensemble", "runs/a", "--train", "fast"], "give member runs or --train MODEL, not both"),
    (["ensemble", "--train", "fast", "--seeds", "3", "3"], "--seeds needs at least 2 different seeds, got 3 3"),
    (["ensemble", "runs/a", "runs/b", "--epochs", "2"], "--epochs, --limit, --engine, --workers and --ray-address are for training members (--train MODEL)"),
    (["ensemble", "runs/a", "runs/b", "--workers", "2"], "--epochs, --limit, --engine, --workers and --ray-address are for training members (--train MODEL)"),
    (["sweep", "--model", "fast", "--epochs", "1"],
     "a sweep needs at least two settings: give several values to --learning-rate, --epochs, --batch-size or --seeds"),
    (["sweep", "--model", "fast", "--epochs", "1", "2", "--validation-split", "1.5"], "--validation-split must be a fraction between 0 and 1, got 1.5"),
    (["train", "--model", "fast", "--validation-split", "1.5"], "--validation-split must be a fraction between 0 and 1, got 1.5"),
    (["train", "--model", "codeastar_cnn", "--validation-split", "0"],
     "the reduce_on_plateau schedule watches validation accuracy; it cannot train without validation"),
    (["train", "--model", "fast", "--workers", "2"], "--workers and --ray-address are for data-parallel training: add --engine ray"),
])
def test_bad_settings_are_one_line_and_write_nothing(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 1
    assert capsys.readouterr().err.strip() == f"digitrec: error: {message}"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, message", [
    (["train", "--model", "fast", "--validation-split", "-0.1"], "'-0.1' must be positive"),
    (["train", "--model", "fast", "--validation-split", "none"], "'none' is not a number"),
    (["sweep", "--model", "fast", "--epochs", "1", "2", "--validation-split", "0"], "'0' must be positive"),  # a sweep compares on it
])
def test_a_validation_split_that_is_not_a_fraction_or_zero_is_a_usage_error(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit:
        main([*argv, "--out", str(tmp_path / "out")])
    assert exit.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(f"argument --validation-split: {message}")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_ensemble_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "model.keras").write_text("kept")
    assert main(["ensemble", "--train", "fast", "--seeds", "0", "1", "--out", str(tmp_path / "e")]) == 1
    assert capsys.readouterr().err.strip() == f"digitrec: error: {tmp_path / 'e'}: already exists; choose another --out or pass --overwrite"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["e"] and (tmp_path / "e" / "model.keras").read_text() == "kept"


def test_two_jobs_for_one_folder_are_refused(tmp_path):
    with pytest.raises(DigitrecError, match="two jobs would write the same run folder: a"):
        run_jobs([Job("a", "fast"), Job("a", "fast", (("seed", 1),))], tmp_path / "runs")
    assert list(tmp_path.iterdir()) == []


def test_ray_engine_names_the_missing_extra(monkeypatch, tmp_path):
    import importlib.util

    from digitrec.config import TrainConfig
    from digitrec.parallel import train_data_parallel

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(DigitrecError, match=r"--engine ray needs torch, which is not installed: pip install 'digitrec\[cluster,distributed\]'"):
        train_data_parallel(TrainConfig.from_recipe("fast"), 2, tmp_path / "run")
    assert list(tmp_path.iterdir()) == []
