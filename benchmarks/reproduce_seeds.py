"""Reproduce the tutorials: train every registry model with its recipe on full MNIST.

Writes benchmarks/results/reproduce_seeds.json and the table between the README's markers:
test accuracy, epochs, wall time (whole `digitrec train` process), training images/s and the
command. It also times plain Keras `fit` of keras_mnist_cnn against `digitrec train` of the same
model and recipe for a few epochs, alternating, and reports digitrec's throughput as a ratio.

    python benchmarks/reproduce_seeds.py                 # everything: the table's wall times (48 minutes in the README's table) plus the ratio runs
    python benchmarks/reproduce_seeds.py --models fast   # a subset; other rows are kept
    python benchmarks/reproduce_seeds.py --models fast --seeds 0 1 2   # mean ± sd over seeds, and their ensemble
    python benchmarks/reproduce_seeds.py --models best-all --seeds 0 1 2   # best's recipe fitted on every training image
"""

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import machine_description, run_main, update_readme_section, write_results  # noqa: E402

TARGETS = {"keras_mnist_cnn": 0.990, "codeastar_cnn": 0.993, "seed004_cnn": 0.985, "seed004_cnn_same": 0.988, "seed002_cnn": 0.990, "fast": 0.990, "best": 0.997}
# rows that train a registry model with options of their own: row name -> (model, options); the model's target applies
VARIANTS = {"best-all": ("best", ["--validation-split", "0"])}  # best's recipe, then fitted on all 60,000 images
ROWS = [*TARGETS, *VARIANTS]


def row_model(name):
    """(registry model, extra `digitrec train` options) that a table row trains."""
    return VARIANTS.get(name, (name, []))
RESULTS = ROOT / "benchmarks" / "results" / "reproduce_seeds.json"

PLAIN_KERAS = r"""
import json, sys, time
import keras
from keras import layers
from digitrec.data import load_mnist, one_hot, scale_images
(x_train, y_train), (x_test, y_test) = load_mnist()
x_train, y_train, x_test, y_test = scale_images(x_train), one_hot(y_train), scale_images(x_test), one_hot(y_test)
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Conv2D(32, (3, 3), activation="relu"),
    layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)), layers.Dropout(0.25), layers.Flatten(),
    layers.Dense(128, activation="relu"), layers.Dropout(0.5), layers.Dense(10, activation="softmax")])
model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-7), metrics=["accuracy"])
epochs = int(sys.argv[1])
started = time.perf_counter()
model.fit(x_train, y_train, batch_size=128, epochs=epochs, verbose=0, validation_data=(x_test, y_test))
seconds = time.perf_counter() - started
print(json.dumps({"train_seconds": seconds, "train_images_per_second": len(x_train) * epochs / seconds}))
"""


def digitrec_command(name, extra=()):
    return ["digitrec", "train", "--model", name, *extra]


def run_digitrec(name, out_dir, extra=()):
    binary = str(Path(sys.executable).with_name("digitrec"))
    command = [binary, *digitrec_command(name, extra)[1:], "--out", str(out_dir), "--overwrite"]
    started = time.perf_counter()
    subprocess.run(command, check=True)  # per-epoch lines go to the log
    wall = time.perf_counter() - started
    metrics = json.loads((Path(out_dir) / "metrics.json").read_text())
    return {**metrics, "wall_seconds": wall}


def ensemble_accuracy(run_dirs) -> float:
    """Test accuracy of `digitrec ensemble` over the runs (the mean of their probabilities)."""
    out = Path(run_dirs[0]).parent / "ensemble"
    subprocess.run([str(Path(sys.executable).with_name("digitrec")), "ensemble", *map(str, run_dirs), "--out", str(out), "--overwrite"],
                   check=True, stdout=subprocess.DEVNULL)
    return json.loads((out / "metrics.json").read_text())["test_accuracy"]


def run_plain_keras(epochs):
    output = subprocess.run([sys.executable, "-c", PLAIN_KERAS, str(epochs)], check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def table(results) -> str:
    lines = [
        "| model | test accuracy | target | epochs | wall time | train images/s | ensemble of the seeds | command |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in results["models"].items():
        model = row_model(name)[0]
        # accuracies are counts of 10,000 test images: a mean that is the target up to float rounding meets it
        verdict = "✓" if row["test_accuracy"] >= TARGETS[model] - 1e-9 else "✗"
        accuracy = f"{100 * row['test_accuracy']:.2f} %"
        if len(row.get("accuracies", [])) > 1:  # mean ± standard deviation over the seeds
            accuracy = f"{accuracy} ± {100 * row['std']:.2f} (seeds {', '.join(map(str, row['seeds']))})"
        ensemble = f"{100 * row['ensemble_accuracy']:.2f} %" if row.get("ensemble_accuracy") else "—"
        lines.append(
            f"| `{model}` | {accuracy} {verdict} | ≥{100 * TARGETS[model]:.1f} % | {row['epochs']} "
            f"| {row['wall_seconds']:.0f} s | {row['train_images_per_second']:,.0f} | {ensemble} | `{' '.join(row['command'])}` |"
        )
    ratio = results.get("throughput_ratio")
    if ratio:
        lines.append("")
        lines.append(
            f"Wrapper overhead: `digitrec train --model keras_mnist_cnn --epochs {ratio['epochs']}` trained at "
            f"{ratio['digitrec_images_per_second']:,.0f} images/s, plain Keras `fit` of the same model and recipe at "
            f"{ratio['keras_images_per_second']:,.0f} images/s: ratio **{ratio['ratio']:.3f}** (best of {ratio['repeats']} alternating runs each)."
        )
    lines.append("")
    lines.append(f"Measured {results['measured']} on {results['machine']} with `make bench`.")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=ROWS, choices=ROWS, metavar="ROW", help="rows to train: registry models, or best-all (default: all)")
    parser.add_argument("--ratio-epochs", type=int, default=2, help="epochs for the wrapper-overhead comparison (default: 2)")
    parser.add_argument("--ratio-repeats", type=int, default=2, help="alternating runs of each side (default: 2)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds per model: with several, the mean ± standard deviation and their ensemble (default: 0)")
    parser.add_argument("--skip-ratio", action="store_true", help="do not measure the wrapper overhead (default: measure)")
    parser.add_argument("--keep", metavar="DIR", help="train the runs into DIR and keep them (default: a temporary folder)")
    args = parser.parse_args()

    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"models": {}}
    with (contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory()) as scratch:
        for name in args.models:
            print(f"training {name} ...", flush=True)
            model, options = row_model(name)
            rows = [run_digitrec(model, Path(scratch) / f"{name}-{seed}", [*options, "--seed", str(seed)]) for seed in args.seeds]
            row = dict(rows[0])  # wall time and speed: the first seed's
            if len(rows) > 1:
                import statistics

                accuracies = [r["test_accuracy"] for r in rows]
                row.update(test_accuracy=statistics.mean(accuracies), std=statistics.stdev(accuracies), accuracies=accuracies,
                           seeds=args.seeds, ensemble_accuracy=ensemble_accuracy([Path(scratch) / f"{name}-{seed}" for seed in args.seeds]))
            row["command"] = digitrec_command(model, options)
            results["models"][name] = row
            print(f"  {name}: {100 * row['test_accuracy']:.2f} % in {row['wall_seconds']:.0f} s", flush=True)
        results["models"] = {name: results["models"][name] for name in ROWS if name in results["models"]}
        if not args.skip_ratio:
            epochs = args.ratio_epochs
            digitrec_rates, keras_rates = [], []
            for _ in range(args.ratio_repeats):
                keras_rates.append(run_plain_keras(epochs)["train_images_per_second"])
                extra = ["--epochs", str(epochs)]
                digitrec_rates.append(run_digitrec("keras_mnist_cnn", Path(scratch) / "ratio", extra)["train_images_per_second"])
            results["throughput_ratio"] = {
                "epochs": epochs,
                "repeats": args.ratio_repeats,
                "digitrec_images_per_second": max(digitrec_rates),
                "keras_images_per_second": max(keras_rates),
                "ratio": max(digitrec_rates) / max(keras_rates),
            }
            print(f"throughput ratio digitrec/keras: {results['throughput_ratio']['ratio']:.3f}", flush=True)
    results["measured"] = time.strftime("%Y-%m-%d")
    results["machine"] = machine_description()
    write_results(RESULTS, results)
    update_readme_section("reproduce-seeds", table(results))
    print(table(results))


if __name__ == "__main__":
    run_main(main)
