"""benchmarks/common.py: what every benchmark shares."""

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from common import run_main  # noqa: E402


def test_a_failed_command_ends_a_benchmark_with_one_line_naming_it():
    def main():
        subprocess.run([sys.executable, "-c", "import sys; print('first', file=sys.stderr); sys.exit('no data here')  # a script too long to show " + "x" * 80],
                       check=True, capture_output=True, text=True)

    with pytest.raises(SystemExit) as ended:
        run_main(main)
    message = str(ended.value.code)
    assert "\n" not in message
    assert f"`{sys.executable} -c …` exited with 1: no data here" in message


def test_a_failed_command_whose_error_was_shown_is_named_without_it():
    def main():
        subprocess.run([sys.executable, "-c", "import sys; sys.exit(3)"], check=True)

    with pytest.raises(SystemExit) as ended:
        run_main(main)
    assert str(ended.value.code).endswith(f"`{sys.executable} -c import sys; sys.exit(3)` exited with 3")


def test_digitrecs_own_error_ends_a_benchmark_with_its_one_line(tmp_path):
    from digitrec.data import load_mnist

    with pytest.raises(SystemExit) as ended:
        run_main(lambda: load_mnist(tmp_path / "nowhere", download=False))
    message = str(ended.value.code)
    assert "\n" not in message and "nowhere" in message and "Traceback" not in message


def test_a_benchmark_that_succeeds_runs_once():
    calls = []
    run_main(lambda: calls.append(1))
    assert calls == [1]


def test_the_seeds_table_names_a_variant_row_by_its_model_and_command(tmp_path, monkeypatch):
    """reproduce_seeds.py's `best-all` row trains `best` with options of its own; the table shows
    the registry name and the whole command, measured against best's target."""
    import reproduce_seeds

    calls = []

    def fake_run(model, out_dir, extra=()):
        calls.append((model, list(extra)))
        return {"test_accuracy": 0.9968, "epochs": 20, "wall_seconds": 700.0, "train_images_per_second": 1600.0}

    monkeypatch.setattr(reproduce_seeds, "run_digitrec", fake_run)
    monkeypatch.setattr(reproduce_seeds, "RESULTS", tmp_path / "results.json")
    monkeypatch.setattr(reproduce_seeds, "write_results", lambda path, results: None)
    written = {}
    monkeypatch.setattr(reproduce_seeds, "update_readme_section", lambda name, text: written.update({name: text}))
    monkeypatch.setattr(sys, "argv", ["reproduce_seeds.py", "--models", "best-all", "--skip-ratio"])
    reproduce_seeds.main()
    assert calls == [("best", ["--validation-split", "0", "--seed", "0"])]
    row = next(line for line in written["reproduce-seeds"].splitlines() if "--validation-split 0" in line)
    assert row.startswith("| `best` | 99.68 % ✗ | ≥99.7 % | 20 |") and row.endswith("`digitrec train --model best --validation-split 0` |")
