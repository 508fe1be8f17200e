"""Does a killed run that is resumed end like one that never stopped?

For each model: `digitrec train --model M --out A` uninterrupted; then `--out B` killed with
SIGKILL as soon as its checkpoint after epoch K exists, and `digitrec train --resume B`. Writes
both test accuracies, their difference, and the learning rates per epoch of both runs (for
codeastar_cnn they show ReduceLROnPlateau's state surviving the kill) into
benchmarks/results/resume_training.json and the README.

    python benchmarks/resume_training.py                        # fast (kill after 1 of 2) and codeastar_cnn (after 12 of 30)
    python benchmarks/resume_training.py --models fast
"""

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_description, run_main, update_readme_section, write_results  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "resume_training.json"
KILL_AFTER = {"fast": 1, "codeastar_cnn": 12}
EXTRA = {"fast": ["--epochs", "2"]}  # fast's recipe is one epoch: two, to have an epoch to kill after
TOLERANCE = 0.001  # 0.1 points of test accuracy


def digitrec(*args):
    return [str(Path(sys.executable).with_name("digitrec")), *map(str, args)]


def killed_and_resumed(model, out, kill_after):
    process = subprocess.Popen(digitrec("train", "--model", model, *EXTRA.get(model, []), "--out", out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latest = out.parent / f".{out.name}.resume" / "latest"
    while process.poll() is None:
        if latest.is_file() and latest.read_text().strip() == f"epoch-{kill_after:04d}":
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    if process.wait() != -signal.SIGKILL:
        raise SystemExit(f"{model}: the run ended before it could be killed")
    started = time.perf_counter()
    subprocess.run(digitrec("train", "--resume", out), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(KILL_AFTER), choices=list(KILL_AFTER))
    args = parser.parse_args()
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results = {"machine": machine_description(), "date": time.strftime("%Y-%m-%d"), "models": previous.get("models", {})}
    with tempfile.TemporaryDirectory() as scratch:
        for model in args.models:
            whole, resumed = Path(scratch) / f"{model}-whole", Path(scratch) / f"{model}-resumed"
            subprocess.run(digitrec("train", "--model", model, *EXTRA.get(model, []), "--out", whole), check=True, stdout=subprocess.DEVNULL)
            killed_and_resumed(model, resumed, KILL_AFTER[model])
            record = {}
            for name, folder in (("uninterrupted", whole), ("killed and resumed", resumed)):
                metrics = json.loads((folder / "metrics.json").read_text())
                history = json.loads((folder / "history.json").read_text())
                record[name] = {"test_accuracy": metrics["test_accuracy"], "epochs": len(history["loss"]),
                                "learning_rate": history["learning_rate"]}
            record["kill_after_epoch"] = KILL_AFTER[model]
            record["difference_points"] = 100 * (record["killed and resumed"]["test_accuracy"] - record["uninterrupted"]["test_accuracy"])
            results["models"][model] = record
            write_results(RESULTS, results)
    update_readme_section("resume-training", table(results))
    print(table(results))


def table(results):
    lines = ["| model | killed after epoch | uninterrupted | killed, then `--resume` | difference | within 0.1 points |",
             "| --- | --- | --- | --- | --- | --- |"]
    for model, r in results["models"].items():
        a, b = r["uninterrupted"], r["killed and resumed"]
        lines.append(f"| {model} | {r['kill_after_epoch']} of {a['epochs']} | {100 * a['test_accuracy']:.2f} % | "
                     f"{100 * b['test_accuracy']:.2f} % ({b['epochs']} epochs in the history) | {r['difference_points']:+.2f} | "
                     f"{'yes' if abs(r['difference_points']) <= 100 * TOLERANCE else 'no'} |")
    for model, r in results["models"].items():
        rates = lambda run: " ".join(f"{rate:.2g}" for rate in run["learning_rate"])  # noqa: E731
        lines.append("")
        lines.append(f"{model}, learning rate per epoch: uninterrupted `{rates(r['uninterrupted'])}`; resumed `{rates(r['killed and resumed'])}`.")
    lines += ["", f"Measured {results['date']} on {results['machine']} with `python benchmarks/resume_training.py`."]
    return "\n".join(lines)


if __name__ == "__main__":
    run_main(main)
