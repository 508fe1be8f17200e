"""Checkpoints and `train --resume`: a run killed (kill -9) mid-epoch or during its save continues
from its last finished epoch; a fixed-steps recipe resumes bit for bit; wrong uses are one line."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from digitrec import checkpoints
from digitrec.cli import main
from digitrec.config import TrainConfig
from digitrec.training import RepeatingBatches, ResumableReduceLROnPlateau, train


def train_command(*args):
    return [sys.executable, "-m", "digitrec", "train", *map(str, args)]


def wait_for(predicate, process, timeout=300):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def assert_clean_run(out, epochs):
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == len(history["val_accuracy"]) == epochs  # fast validates on a split
    assert (out / "model.keras").is_file() and (out / "curves.png").is_file()
    leftovers = [path.name for path in out.parent.iterdir() if path.name.startswith(f".{out.name}.")]
    assert leftovers == []  # no lock, no staging folder, no checkpoints once the run is saved
    return history


@pytest.mark.slow
def test_kill_9_mid_epoch_then_resume(mnist_dir, tmp_path):
    out = tmp_path / "run"
    args = ["--model", "fast", "--limit", "3000", "--epochs", "3", "--batch-size", "64", "--data-dir", mnist_dir]
    process = subprocess.Popen(train_command(*args, "--out", out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latest = checkpoints.resume_dir(out) / "latest"
    wait_for(lambda: latest.is_file(), process)
    time.sleep(0.3)  # into the second epoch
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not out.exists()
    result = subprocess.run(train_command("--resume", out, "--data-dir", mnist_dir), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "saved" in result.stdout
    history = assert_clean_run(out, 3)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["resumed_after_epoch"] in (1, 2) and metrics["test_accuracy"] > 0.9
    rates = history["learning_rate"]
    assert rates[0] > rates[1] > rates[2]  # the one-cycle schedule went on where it was, not from its start


@pytest.mark.slow
def test_kill_9_during_the_save_then_resume(mnist_dir, tmp_path):
    out = tmp_path / "run"
    args = ["--model", "fast", "--limit", "2000", "--epochs", "1", "--batch-size", "64", "--data-dir", mnist_dir]
    process = subprocess.Popen(train_command(*args, "--out", out, "--report"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: any(tmp_path.glob(".run.*.partial")), process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not out.exists() and (checkpoints.resume_dir(out) / "latest").is_file()
    result = subprocess.run(train_command("--resume", out, "--data-dir", mnist_dir), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert_clean_run(out, 1)


@pytest.mark.slow
def test_a_fixed_steps_recipe_resumes_bit_for_bit(small_mnist, tmp_path, monkeypatch):
    config = TrainConfig.from_recipe("codeastar_cnn", epochs=3, steps_per_epoch=8, batch_size=32)
    whole = train(config, mnist=small_mnist, out_dir=tmp_path / "whole")
    save = checkpoints.save

    def save_then_die(folder, epoch, trainer, state):
        save(folder, epoch, trainer, state)
        if epoch == 1:
            raise KeyboardInterrupt  # as a kill right after the first checkpoint

    monkeypatch.setattr(checkpoints, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(config, mnist=small_mnist, out_dir=tmp_path / "cut")
    monkeypatch.setattr(checkpoints, "save", save)
    resumed = train(config, mnist=small_mnist, out_dir=tmp_path / "cut", resume=True)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
        assert resumed.history[key] == whole.history[key]
    assert resumed.metrics["test_accuracy"] == whole.metrics["test_accuracy"]
    for a, b in zip(whole.model.get_weights(), resumed.model.get_weights()):
        assert np.array_equal(a, b)


def test_batches_are_a_function_of_seed_and_step():
    images, labels = np.arange(10)[:, None], np.arange(10)
    stream = RepeatingBatches(images, labels, 4, 3, seed=5)
    first = [stream[i][1].tolist() for i in range(3)] + [stream[i][1].tolist() for i in range(3)]
    assert sorted(sum(first[:2], []) + first[2][:2]) == list(range(10))  # a permutation, then the next one
    later = RepeatingBatches(images, labels, 4, 3, seed=5, start_step=3)
    assert [later[i][1].tolist() for i in range(3)] == first[3:]


def test_plateau_counters_survive():
    callback = ResumableReduceLROnPlateau({"wait": 2.0, "best": 0.98, "cooldown_counter": 0.0}, monitor="val_accuracy", patience=3)
    callback.on_train_begin()
    assert (callback.wait, callback.best) == (2.0, 0.98)
    assert callback.state() == {"wait": 2.0, "best": 0.98, "cooldown_counter": 0.0}


def test_wrong_uses_of_resume_are_one_line(tmp_path, trained_run, capsys):
    for args, message in [
        (["--resume", str(tmp_path / "never")], "nothing to resume"),
        (["--resume", str(trained_run.run_dir)], "this run finished already"),
        (["--resume", str(tmp_path / "x"), "--model", "fast"], "--resume continues a run with its own settings; leave out --model"),
        # a zero is a setting too (not silently dropped because it is falsy)
        (["--resume", str(tmp_path / "x"), "--weight-decay", "0", "--validation-split", "0", "--test-shifts", "off",
          "--elastic", "0"],
         "--resume continues a run with its own settings; leave out --validation-split, --weight-decay, --test-shifts, --elastic"),
        ([], "train needs --model NAME"),
    ]:
        assert main(["train", *args]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0]


def test_resuming_with_other_settings_is_refused(tmp_path, small_mnist):
    out = tmp_path / "run"
    checkpoints.start(out, TrainConfig.from_recipe("fast", epochs=2))
    with pytest.raises(Exception, match="the checkpoint was made with other settings"):
        train(TrainConfig.from_recipe("fast", epochs=3), mnist=small_mnist, out_dir=out, resume=True)


@pytest.mark.slow
@pytest.mark.parametrize("killed_after", [1, 2])
def test_a_run_with_weights_ema_resumes_to_the_same_average(small_mnist, tmp_path, monkeypatch, killed_after):
    # the average is in the checkpoint; killed after the last epoch, while saving, nothing is left to
    # fit, and the saved model must still be the average
    config = TrainConfig.from_recipe("fast", epochs=2, steps_per_epoch=6, batch_size=64, limit=1000, ema_momentum=0.9)
    whole = train(config, mnist=small_mnist, out_dir=tmp_path / "whole")
    save = checkpoints.save

    def save_then_die(folder, epoch, trainer, state):
        save(folder, epoch, trainer, state)
        if epoch == killed_after:
            raise KeyboardInterrupt  # as a kill right after that checkpoint

    monkeypatch.setattr(checkpoints, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(config, mnist=small_mnist, out_dir=tmp_path / "cut")
    monkeypatch.setattr(checkpoints, "save", save)
    resumed = train(config, mnist=small_mnist, out_dir=tmp_path / "cut", resume=True)
    assert resumed.metrics["resumed_after_epoch"] == killed_after
    assert resumed.history == whole.history | {"epoch_seconds": resumed.history["epoch_seconds"]}
    for a, b in zip(whole.model.get_weights(), resumed.model.get_weights()):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("damage", ["variables", "state"])
def test_a_damaged_checkpoint_is_one_line(small_mnist, mnist_dir, tmp_path, monkeypatch, capsys, damage):
    config = TrainConfig.from_recipe("codeastar_cnn", epochs=2, steps_per_epoch=4, batch_size=32)
    save = checkpoints.save

    def save_then_die(folder, epoch, trainer, state):
        save(folder, epoch, trainer, state)
        raise KeyboardInterrupt  # as a kill right after the first checkpoint

    monkeypatch.setattr(checkpoints, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(config, mnist=small_mnist, out_dir=tmp_path / "run")
    monkeypatch.setattr(checkpoints, "save", save)
    epoch_dir = checkpoints.resume_dir(tmp_path / "run") / "epoch-0001"
    damaged = epoch_dir / ("variables.npz" if damage == "variables" else "state.json")
    damaged.write_bytes(damaged.read_bytes()[: len(damaged.read_bytes()) // 2])  # cut in half, as a full disk would
    assert main(["train", "--resume", str(tmp_path / "run"), "--data-dir", str(mnist_dir)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"digitrec: error: {damaged}: damaged checkpoint (")
    assert err[0].endswith("start the run again with --model")
