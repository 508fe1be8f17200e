"""The run-folder format: the names every module uses are the files a run really holds."""

import pytest

from digitrec import runs
from digitrec.errors import DigitrecError


def test_a_trained_run_holds_exactly_the_trained_files(trained_run):
    assert sorted(path.name for path in trained_run.run_dir.iterdir()) == sorted(runs.TRAINED_FILES)
    assert runs.is_run(trained_run.run_dir)
    assert runs.read(trained_run.run_dir, runs.CONFIG)["model"]["name"] == "fast"


def test_reading_a_missing_or_damaged_file(tmp_path):
    assert not runs.is_run(tmp_path)
    assert runs.read(tmp_path, runs.METRICS, {}) == {}
    (tmp_path / runs.HISTORY).write_text("{not json")
    with pytest.raises(DigitrecError, match="history.json: not valid JSON"):
        runs.read(tmp_path, runs.HISTORY)
    assert runs.listed(runs.EVALUATION_PICTURES) == "confusion.png, mistakes.png, predictions.png"
