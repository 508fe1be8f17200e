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


def test_a_benchmark_that_succeeds_runs_once():
    calls = []
    run_main(lambda: calls.append(1))
    assert calls == [1]
