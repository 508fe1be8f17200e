"""Two ensemble members: one after the other, two at once here, and two Ray tasks on a local Ray;
and one model trained data-parallel on 1 and 2 Ray workers next to one process.

`digitrec ensemble --train MODEL --seeds 0 1` three ways, one after the other in one run, whole
processes: `--workers 1` (each run with both CPUs), `--workers 2` (two runs at once, a CPU
each) and `--engine ray --workers 2` (a local Ray with 2 CPUs, a task per member). Writes the wall
times and the members' and ensemble's test accuracies to benchmarks/results/multirun.json and
the README. Then `digitrec train --model fast` on a subset of MNIST: in one process (TensorFlow),
and with `--engine ray` on 1 and on 2 workers (Keras on PyTorch, gradients averaged).

    python benchmarks/multirun.py                  # fast, full MNIST, its one-epoch recipe
    python benchmarks/multirun.py --model best --epochs 2
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_description, run_main, update_readme_section, write_results  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "multirun.json"
WAYS = {
    "one after the other (--workers 1)": ["--workers", "1"],
    "two at once here (--workers 2)": ["--workers", "2"],
    "local Ray, 2 CPUs (--engine ray --workers 2)": ["--engine", "ray", "--workers", "2"],
}


PARALLEL = {
    "one process, TensorFlow (no Ray)": [],
    "Ray, 1 worker (Keras on PyTorch)": ["--engine", "ray", "--workers", "1"],
    "Ray, 2 workers, data-parallel (Keras on PyTorch)": ["--engine", "ray", "--workers", "2"],
}


def data_parallel_rows(digitrec, scratch, limit, epochs):
    """`digitrec train --model fast` on `limit` images: locally, and on 1 and 2 Ray workers."""
    rows = []
    for number, (way, flags) in enumerate(PARALLEL.items()):
        out = Path(scratch) / f"p{number}"
        command = [digitrec, "train", "--model", "fast", "--limit", str(limit), "--epochs", str(epochs), *flags, "--out", str(out)]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        metrics = json.loads((out / "metrics.json").read_text())
        rows.append({"way": way, "seconds": round(seconds, 1), "train_seconds": round(metrics["train_seconds"], 1),
                     "images_per_second": round(metrics["train_images_per_second"]), "test_accuracy": metrics["test_accuracy"]})
        print(f"{way}: {seconds:.1f} s whole, {metrics['train_seconds']:.1f} s training, {metrics['test_accuracy']}", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="fast")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--parallel-limit", type=int, default=12_000, help="training images for the data-parallel rows (default: 12000)")
    parser.add_argument("--parallel-epochs", type=int, default=2, help="epochs for the data-parallel rows (default: 2)")
    args = parser.parse_args()
    results = {"machine": machine_description(), "date": time.strftime("%Y-%m-%d"), "model": args.model, "rows": []}
    digitrec = str(Path(sys.executable).with_name("digitrec"))
    with tempfile.TemporaryDirectory() as scratch:
        for number, (way, flags) in enumerate(WAYS.items()):
            out = Path(scratch) / f"e{number}"
            command = [digitrec, "ensemble", "--train", args.model, "--seeds", "0", "1", *flags, "--out", str(out)]
            if args.epochs:
                command += ["--epochs", str(args.epochs)]
            started = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            seconds = time.perf_counter() - started
            metrics = json.loads((out / "metrics.json").read_text())
            row = {"way": way, "seconds": round(seconds, 1), "members": [m["test_accuracy"] for m in metrics["members"]],
                   "ensemble": metrics["test_accuracy"]}
            results["rows"].append(row)
            print(f"{way}: {seconds:.1f} s, members {row['members']}, ensemble {row['ensemble']}", flush=True)
        results["data_parallel"] = {"limit": args.parallel_limit, "epochs": args.parallel_epochs,
                                    "rows": data_parallel_rows(digitrec, scratch, args.parallel_limit, args.parallel_epochs)}
    write_results(RESULTS, results)
    lines = ["| two members of `%s` | wall time | members' test accuracy | ensemble |" % args.model, "| --- | --- | --- | --- |"]
    for row in results["rows"]:
        members = ", ".join(f"{100 * a:.2f} %" for a in row["members"])
        lines.append(f"| {row['way']} | {row['seconds']:.0f} s | {members} | {100 * row['ensemble']:.2f} % |")
    parallel = results["data_parallel"]
    lines += ["", f"| `digitrec train --model fast --limit {parallel['limit']} --epochs {parallel['epochs']}` | wall time | training | "
              "training images/s | test accuracy |", "| --- | --- | --- | --- | --- |"]
    for row in parallel["rows"]:
        lines.append(f"| {row['way']} | {row['seconds']:.0f} s | {row['train_seconds']:.1f} s | {row['images_per_second']:,} | "
                     f"{100 * row['test_accuracy']:.2f} % |")
    update_readme_section("multirun", "\n".join(lines) + f"\n\nMeasured {results['date']} on {results['machine']} with "
                          f"`python benchmarks/multirun.py` (whole processes, one after the other in one run; timings here vary by "
                          "about 30 % between runs).")


if __name__ == "__main__":
    run_main(main)
