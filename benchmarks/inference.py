"""Inference speed, memory and accuracy of the shipped model, without the training stack.

- `digitrec predict PICTURE` as a whole process (start-up included), and its peak memory;
- ONNX Runtime latency for one 28x28 image, and preprocessing time for typical pictures;
- accuracy on the drawn-digit set (benchmarks/drawn_digits.py: not MNIST) and on MNIST's test set.

    python benchmarks/inference.py
"""

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import current_commit, machine_description, run_main, update_readme_section, write_results  # noqa: E402
from drawn_digits import digit_strokes, drawn_set, render_number  # noqa: E402
from stress_pictures import drawn_on  # noqa: E402

from digitrec import imaging  # noqa: E402
from digitrec.data import load_mnist  # noqa: E402
from digitrec.inference import OnnxModel, Predictor, pretrained_model_path  # noqa: E402
from digitrec.reading import learned  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "inference.json"
DRAWN_COUNT = 1000


def whole_process(picture, repeats=7):
    binary = str(Path(sys.executable).with_name("digitrec"))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([binary, "predict", str(picture)], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"median_seconds": statistics.median(times), "max_seconds": max(times), "peak_rss_mb": peak_kib / 1024}


def timed(function, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    times = np.array(times) * 1000
    return {"median_ms": float(np.median(times)), "p99_ms": float(np.percentile(times, 99))}


def main():
    with tempfile.TemporaryDirectory() as scratch:
        picture = Path(scratch) / "seven.png"
        canvas = Image.new("RGB", (280, 280), "white")
        ImageDraw.Draw(canvas).line([(70, 60), (210, 60), (120, 240)], fill="black", width=18)
        canvas.save(picture)
        process = whole_process(picture)

    model = OnnxModel(pretrained_model_path(), threads=1)
    one = np.random.default_rng(0).random((1, 28, 28, 1), dtype=np.float32)
    model.probabilities(one)
    onnx_one = timed(lambda: model.probabilities(one), 3000)
    batch = np.random.default_rng(0).random((1000, 28, 28, 1), dtype=np.float32)
    started = time.perf_counter()
    model.probabilities(batch)
    batch_rate = 1000 / (time.perf_counter() - started)

    photo = drawn_set(1, seed=5)[0][0].resize((1000, 800))
    page_canvas = Image.new("RGB", (112, 112), "white")  # what the drawing page sends
    ImageDraw.Draw(page_canvas).line([(28, 24), (84, 24), (48, 96)], fill="black", width=7)
    rng = np.random.default_rng(3)
    big, _ = drawn_on((4000, 3000), digit_strokes(7, rng), (2000, 1500), 900, 14, rng, kind="photo")
    big_photo = Image.fromarray((big * 255).astype(np.uint8), "RGB")  # a 12-megapixel phone photo
    preprocessing = {
        "canvas_112": timed(lambda: imaging.read(page_canvas), 1000),
        "canvas_280": timed(lambda: imaging.read(canvas), 300),
        "picture_1000x800": timed(lambda: imaging.read(photo), 100),
        "photo_4000x3000": timed(lambda: imaging.read(big_photo), 30),
    }

    learned.read(page_canvas)  # the segmenter's session made before timing
    learned_reading = {
        "canvas_112": timed(lambda: learned.read(page_canvas), 1000),
        "picture_1000x800": timed(lambda: learned.read(photo), 100),
        "photo_4000x3000": timed(lambda: learned.read(big_photo), 30),
    }
    predictor = Predictor()
    learned_predictor = Predictor(reader="learned")
    predict_canvas = {
        "rules": timed(lambda: predictor.predict_image(page_canvas), 1000),
        "learned": timed(lambda: learned_predictor.predict_image(page_canvas), 1000),
    }
    answers = [(predictor.predict_image(image), digit) for image, digit in drawn_set(DRAWN_COUNT)]
    drawn_correct = sum(p.found and p.digits[0].digit == digit for p, digit in answers)
    confident = [(p, d) for p, d in answers if p.found and not p.uncertain]
    rng = np.random.default_rng(2026)
    numbers = [str(rng.integers(10, 100000)) for _ in range(200)]
    numbers_read = sum(predictor.predict_image(render_number(n, rng), multi=True).text == n for n in numbers)
    _, (x_test, y_test) = load_mnist()
    mnist_predictions = predictor.predict_pixels(x_test)
    mnist_accuracy = float(np.mean([p.digits[0].digit == y for p, y in zip(mnist_predictions, y_test)]))

    results = {
        "predict_process": process,
        "onnx_one_image": onnx_one,
        "onnx_batch_images_per_second": batch_rate,
        "preprocessing": preprocessing,
        "learned_reading": learned_reading,
        "predict_image_canvas_112": predict_canvas,
        "drawn_digits": {
            "count": DRAWN_COUNT,
            "accuracy": drawn_correct / DRAWN_COUNT,
            "answered_confidently": len(confident) / DRAWN_COUNT,
            "accuracy_when_confident": sum(p.digits[0].digit == d for p, d in confident) / max(len(confident), 1),
        },
        "drawn_numbers": {"count": len(numbers), "read_exactly": numbers_read / len(numbers)},
        "mnist_test_accuracy": mnist_accuracy,
        "measured": time.strftime("%Y-%m-%d"),
        "machine": machine_description(),
        "commit": current_commit(),
        "command": "python benchmarks/inference.py",
    }
    write_results(RESULTS, results)
    drawn = results["drawn_digits"]
    text = "\n".join([
        "| what | measured |",
        "| --- | --- |",
        f"| `digitrec predict seven.png`, whole process | {process['median_seconds']:.2f} s median, {process['max_seconds']:.2f} s max of 7; peak memory {process['peak_rss_mb']:.0f} MB |",
        f"| ONNX Runtime, one 28×28 image (1 thread) | {onnx_one['median_ms']:.3f} ms median, {onnx_one['p99_ms']:.3f} ms p99 |",
        f"| ONNX Runtime, batches of 1,000 | {batch_rate:,.0f} images/s |",
        f"| preprocessing the page's 112×112 canvas (target ≤1 ms) | {preprocessing['canvas_112']['median_ms']:.2f} ms median, {preprocessing['canvas_112']['p99_ms']:.2f} ms p99 |",
        f"| preprocessing a 280×280 canvas / a 1000×800 picture | {preprocessing['canvas_280']['median_ms']:.1f} ms / {preprocessing['picture_1000x800']['median_ms']:.1f} ms median |",
        f"| preprocessing a 4000×3000 photo, decoded (target ≤60 ms) | {preprocessing['photo_4000x3000']['median_ms']:.1f} ms median |",
        f"| the learned reader (`reading.learned.read`, 1 thread): the 112×112 canvas / a 1000×800 picture / a 4000×3000 photo | "
        f"{learned_reading['canvas_112']['median_ms']:.2f} ms / {learned_reading['picture_1000x800']['median_ms']:.1f} ms / "
        f"{learned_reading['photo_4000x3000']['median_ms']:.1f} ms median |",
        f"| whole `Predictor().predict_image` of the 112×112 canvas (model and detector included; target ≤3× the model's one image) | "
        f"rules {predict_canvas['rules']['median_ms']:.2f} ms, learned reader {predict_canvas['learned']['median_ms']:.2f} ms median "
        f"({predict_canvas['rules']['median_ms'] / onnx_one['median_ms']:.0f}× and {predict_canvas['learned']['median_ms'] / onnx_one['median_ms']:.0f}× the model) |",
        f"| drawn digits (not MNIST), {DRAWN_COUNT:,} | **{100 * drawn['accuracy']:.1f} %** correct; {100 * drawn['answered_confidently']:.1f} % answered confidently, of which {100 * drawn['accuracy_when_confident']:.1f} % correct |",
        f"| drawn numbers of 2-5 digits (`--multi`), 200 | {100 * results['drawn_numbers']['read_exactly']:.1f} % read exactly |",
        f"| MNIST test set through the ONNX predictor | {100 * mnist_accuracy:.2f} % |",
        "",
        f"Measured {results['measured']} at commit {results['commit']} on {results['machine']} with `python benchmarks/inference.py`.",
    ])
    update_readme_section("inference", text)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    run_main(main)
