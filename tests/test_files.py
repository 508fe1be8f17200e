"""Run folders: taken before a long job, never lost, never silently replaced."""

import os
import subprocess
import sys
import time

import pytest

from digitrec import files
from digitrec.errors import DigitrecError
from digitrec.training import train


def test_a_file_in_the_way_is_refused_before_any_training(tmp_path):
    from digitrec.config import TrainConfig

    target = tmp_path / "run"
    target.write_text("not a folder")
    started = time.perf_counter()
    # no data anywhere: the --out check must come first, or this would be a data error
    with pytest.raises(DigitrecError, match=r"run: is a file, not a folder; choose another --out$"):
        train(TrainConfig.from_recipe("fast"), data_dir=tmp_path / "no-data", out_dir=target)
    assert time.perf_counter() - started < 5


def test_a_folder_that_cannot_be_written_is_one_line():
    with pytest.raises(DigitrecError, match=r"^/proc/self: cannot write a run here \("):
        files.claim_run_folder("/proc/self/digitrec-run")


def test_a_second_writer_of_the_same_folder_is_refused_at_once(tmp_path):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])  # a live process holding the lock
    try:
        (tmp_path / ".run.lock").write_text(str(other.pid))
        with pytest.raises(DigitrecError, match=rf"run: another digitrec is writing it \(pid {other.pid}\); wait for it or choose another --out$"):
            files.claim_run_folder(tmp_path / "run")
    finally:
        other.kill()
        other.wait()


def test_a_killed_runs_lock_and_staging_are_taken_over(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / ".run.lock").write_text(finished.stdout.strip())  # its process is gone: a stale lock
    (tmp_path / ".run.abc123.partial").mkdir()  # what kill -9 during a save leaves
    (tmp_path / ".run.abc123.partial" / "model.keras").write_bytes(b"half")
    claim = files.claim_run_folder(tmp_path / "run")
    assert claim.lock.read_text() == str(os.getpid())
    assert not (tmp_path / ".run.abc123.partial").exists()
    claim.release()
    assert not claim.lock.exists()


def test_a_folder_that_appeared_during_the_run_is_not_replaced(tmp_path):
    destination = tmp_path / "run"
    claim = files.claim_run_folder(destination, overwrite=True)
    destination.mkdir()
    (destination / "someone-elses.txt").write_text("keep me")
    with pytest.raises(DigitrecError, match=r"run: appeared while this run was being made; the run is kept as .*run-\d{8}-\d{6}-\d+$") as caught:
        with files.atomic_directory(destination, overwrite=True, claim=claim) as staging:
            (staging / "model.keras").write_bytes(b"the new run")
    claim.release()
    assert (destination / "someone-elses.txt").read_text() == "keep me"
    kept = str(caught.value).rsplit("kept as ", 1)[1]
    assert (tmp_path / os.path.basename(kept) / "model.keras").read_bytes() == b"the new run"


def test_a_write_that_fails_is_one_line_and_replaces_nothing(tmp_path):
    destination = tmp_path / "run"
    destination.mkdir()
    (destination / "model.keras").write_bytes(b"the old run")
    with pytest.raises(DigitrecError, match=r"run: cannot write the run \(no space left on device\); nothing was replaced$"):
        with files.atomic_directory(destination, overwrite=True):
            raise OSError(28, "No space left on device")
    assert (destination / "model.keras").read_bytes() == b"the old run"
    assert not list(tmp_path.glob(".run.*"))
