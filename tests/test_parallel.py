"""Data-parallel training on a local 2-CPU Ray: Keras on PyTorch workers averaging gradients."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # every test here trains on a Ray cluster or waits for one (make test-fast leaves them out)

pytest.importorskip("ray")
pytest.importorskip("torch")


def cli(*args, timeout=900):
    return subprocess.run([sys.executable, "-m", "digitrec", *map(str, args)], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def parallel_run(mnist_dir, tmp_path_factory):
    # with test-time shifts and elastic distortion: the workers distort on PyTorch, and the driver
    # saves the network wrapped with its shifts, as a local run does
    out = tmp_path_factory.mktemp("parallel") / "fast-2"
    finished = cli("train", "--model", "fast", "--engine", "ray", "--workers", 2, "--limit", 3000, "--epochs", 2, "--batch-size", 64,
                   "--test-shifts", "on", "--elastic", 20, "--out", out, "--data-dir", mnist_dir)
    assert finished.returncode == 0, finished.stderr
    return out, finished.stdout


def test_two_workers_make_a_run_folder_like_a_local_run(parallel_run):
    out, printed = parallel_run
    assert sorted(path.name for path in out.iterdir()) == ["config.json", "curves.png", "history.json", "metrics.json", "model.keras"]
    assert [line.split()[:2] for line in printed.splitlines() if line.startswith("epoch")] == [["epoch", "1/2"], ["epoch", "2/2"]]
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == len(history["val_accuracy"]) == 2 and len(history["learning_rate"]) == 2
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["workers"] == 2 and metrics["test_accuracy"] > 0.9
    record = json.loads((out / "config.json").read_text())
    assert record["config"]["batch_size"] == 64 and record["versions"]["backend"] == "tensorflow"  # measured and saved on TF
    assert record["config"]["test_shifts"] is True and record["config"]["augmentation"]["elastic_alpha"] == 20
    from digitrec.ensemble import SHIFTS, shifts_of
    from digitrec.saving import load_model

    assert sorted(shifts_of(load_model(out))) == sorted(SHIFTS)  # saved with its shifts
    assert metrics["validation_accuracy"] > 0.9  # the saved (shifted) model measured on the held-out rows too
    leftovers = [path.name for path in out.parent.iterdir() if path.name.startswith(".")]
    assert leftovers == []


def test_evaluate_export_and_predict_take_it(parallel_run, mnist_dir, hwd_dir, tmp_path):
    out, _ = parallel_run
    evaluated = cli("evaluate", out, "--data-dir", mnist_dir, "--json", "--no-pictures")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["test_accuracy"] == json.loads((out / "metrics.json").read_text())["test_accuracy"]
    exported = cli("export", out, "--format", "onnx", "--out", tmp_path)
    assert exported.returncode == 0, exported.stderr
    picture = sorted((hwd_dir / "img").glob("*.png"))[0]
    predicted = cli("predict", picture, "--model", tmp_path / "model.onnx", "--json")
    assert predicted.returncode == 0 and json.loads(predicted.stdout)[0]["digits"], predicted.stderr


@pytest.fixture(scope="module")
def fixed_step_runs(mnist_dir, tmp_path_factory):
    """seed004_cnn, 16 fixed steps of 64 on Ray: on 1 worker, on 2, and on 2 with a weights EMA."""
    out = tmp_path_factory.mktemp("fixed-steps")
    common = ["--model", "seed004_cnn", "--limit", 1024, "--epochs", 1, "--steps-per-epoch", 16, "--batch-size", 64,
              "--engine", "ray", "--data-dir", mnist_dir]
    for name, extra in (("workers-1", ["--workers", 1]), ("workers-2", ["--workers", 2]), ("ema-2", ["--workers", 2, "--ema", 0.9])):
        finished = cli("train", *common, *extra, "--out", out / name)
        assert finished.returncode == 0, finished.stderr
    return out


def outputs(run_dir):
    from digitrec.saving import load_model

    images = np.random.default_rng(0).random((32, 28, 28, 1), dtype=np.float32)
    return np.asarray(load_model(run_dir)(images))


def test_averaged_gradients_follow_the_global_batch(fixed_step_runs):
    """Two workers with half of every batch each end where one worker with the whole batches
    does (the same batches: fixed steps; the same starting weights), up to float rounding."""
    one, two = outputs(fixed_step_runs / "workers-1"), outputs(fixed_step_runs / "workers-2")
    assert np.abs(one - two).max() < 1e-4
    import keras

    from digitrec.models import create_model

    keras.utils.set_random_seed(0)  # the weights both started from: training moved them far more than the two differ
    images = np.random.default_rng(0).random((32, 28, 28, 1), dtype=np.float32)
    untrained = np.asarray(create_model("seed004_cnn")(images))
    assert np.abs(one - untrained).max() > 100 * np.abs(one - two).max()


def test_a_weights_average_on_ray_is_what_the_workers_validate_and_what_is_saved(fixed_step_runs):
    # the workers swap the average in to validate (on the test set: seed004's recipe), and the
    # driver measures the saved model on TensorFlow: the same loss, so the same weights
    history = json.loads((fixed_step_runs / "ema-2" / "history.json").read_text())
    metrics = json.loads((fixed_step_runs / "ema-2" / "metrics.json").read_text())
    assert history["test_loss"][-1] == pytest.approx(metrics["test_loss"], rel=1e-5)
    raw = json.loads((fixed_step_runs / "workers-2" / "metrics.json").read_text())
    assert abs(raw["test_loss"] - metrics["test_loss"]) > 1e-3  # and they are not the last raw weights
    gap = np.abs(outputs(fixed_step_runs / "workers-1") - outputs(fixed_step_runs / "workers-2")).max()
    assert np.abs(outputs(fixed_step_runs / "ema-2") - outputs(fixed_step_runs / "workers-2")).max() > 100 * gap


def test_a_batch_that_does_not_divide_is_one_line(mnist_dir, tmp_path):
    finished = cli("train", "--model", "fast", "--engine", "ray", "--workers", 2, "--batch-size", 255, "--out", tmp_path / "x",
                   "--data-dir", mnist_dir, timeout=120)
    assert finished.returncode == 1 and "Traceback" not in finished.stderr
    assert finished.stderr.strip() == ("digitrec: error: the recipe's batch of 255 does not divide among 2 workers; "
                                       "give --batch-size a multiple of 2")
    assert not (tmp_path / "x").exists()


def ray_train_workers():
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if b"RayTrainWorker" in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return pids


def test_a_killed_worker_restarts_the_group_from_the_last_checkpoint(mnist_dir, tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "digitrec", "train", "--model", "fast", "--engine", "ray", "--workers", "2", "--limit", "3000",
               "--epochs", "3", "--out", str(out), "--data-dir", str(mnist_dir)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    latest = tmp_path / ".run.resume" / "latest"
    deadline = time.monotonic() + 600
    while not latest.is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = ray_train_workers()
    assert workers, "no Ray Train worker found"
    os.kill(workers[-1], signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=900)
    assert process.returncode == 0, stderr
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 3
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_an_unreachable_cluster_is_one_line(mnist_dir, tmp_path):
    # with the data given: without it (no DIGITREC_DATA_DIR, as outside `make test`) MNIST is fetched first
    finished = cli("train", "--model", "fast", "--engine", "ray", "--ray-address", "127.0.0.1:9", "--out", tmp_path / "x",
                   "--data-dir", mnist_dir, timeout=120)
    assert finished.returncode == 1 and len(finished.stderr.strip().splitlines()) == 1
    assert "cannot start or join the Ray cluster at 127.0.0.1:9" in finished.stderr
    assert not (tmp_path / "x").exists()


def test_a_killed_command_resumes_on_ray(mnist_dir, tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "digitrec", "train", "--model", "fast", "--engine", "ray", "--workers", "2", "--limit", "3000",
               "--epochs", "3", "--out", str(out), "--data-dir", str(mnist_dir)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latest = tmp_path / ".run.resume" / "latest"
    deadline = time.monotonic() + 600
    while not latest.is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # the command itself: its local Ray and the workers go with it
    process.wait()
    assert not out.exists() and latest.is_file()
    deadline = time.monotonic() + 60
    while ray_train_workers() and time.monotonic() < deadline:
        time.sleep(0.5)
    resumed = cli("train", "--resume", out, "--engine", "ray", "--workers", 2, "--data-dir", mnist_dir)
    assert resumed.returncode == 0, resumed.stderr
    history = json.loads((out / "history.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(history["loss"]) == 3 and metrics["resumed_after_epoch"] >= 1
