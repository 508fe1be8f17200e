"""Helpers shared by the benchmarks: where results go and how the README shows them."""

import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def current_commit() -> str:
    """The short commit measured, said to be dirty when src/ has uncommitted changes."""
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return done.stdout.strip() + (" (with uncommitted changes to src/)" if dirty else "")


def write_results(path, results):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.partial")
    temporary.write_text(json.dumps(results, indent=2) + "\n")
    os.replace(temporary, path)


def update_readme_section(name, text):
    """Replace the README text between <!-- bench:NAME --> and <!-- /bench:NAME -->."""
    readme = README.read_text()
    pattern = re.compile(rf"(<!-- bench:{name} -->\n).*?(<!-- /bench:{name} -->)", re.S)
    if not pattern.search(readme):
        raise SystemExit(f"README.md has no <!-- bench:{name} --> section")
    README.write_text(pattern.sub(lambda m: m.group(1) + text + "\n" + m.group(2), readme))


def run_main(main):
    """Run a benchmark's `main()`. A command it runs that fails ends it with one line naming the
    command and, when its output was captured, the command's last line of error (otherwise that was
    printed above), instead of a traceback; so does digitrec's own error (MNIST not found, say)."""
    from digitrec.errors import DigitrecError

    try:
        main()
    except DigitrecError as error:
        raise SystemExit(f"{Path(sys.argv[0]).name}: {error}") from None
    except subprocess.CalledProcessError as error:
        command = error.cmd if isinstance(error.cmd, (list, tuple)) else [error.cmd]
        shown = " ".join(str(part) if len(str(part)) <= 80 else "…" for part in command)
        stderr = error.stderr.decode(errors="replace") if isinstance(error.stderr, bytes) else (error.stderr or "")
        last = stderr.strip().splitlines()[-1:]
        raise SystemExit(f"{Path(sys.argv[0]).name}: `{shown}` exited with {error.returncode}" + (f": {last[0]}" if last else "")) from None
