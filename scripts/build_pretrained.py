"""Build the model that ships inside the package: src/digitrec/pretrained/model.onnx + model_card.json.

    python scripts/build_pretrained.py                       # trains `robust` (about 30 min here), then measures
    python scripts/build_pretrained.py --run runs/robust     # package an existing run instead

The card records the training command, the resolved config, and what was measured through the
ONNX model itself: MNIST test accuracy, how often answers above the confidence threshold are right,
and accuracy on the drawn-digit set (benchmarks/drawn_digits.py, not MNIST).
"""

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from digitrec.data import load_mnist  # noqa: E402
from digitrec.evaluation import evaluate  # noqa: E402
from digitrec.export import export_onnx  # noqa: E402
from digitrec.inference import DEFAULT_THRESHOLD, OnnxModel, Predictor  # noqa: E402

PRETRAINED = ROOT / "src" / "digitrec" / "pretrained"
MODEL = "robust"
DRAWN_COUNT = 1000


def drawn_accuracy(model_path, count=DRAWN_COUNT):
    from drawn_digits import drawn_set

    predictor = Predictor(model_path)
    answers = [(predictor.predict_image(image), digit) for image, digit in drawn_set(count)]
    correct = sum(p.found and p.digits[0].digit == digit for p, digit in answers)
    confident = [(p, d) for p, d in answers if p.found and not p.uncertain]
    return {
        "count": count,
        "accuracy": correct / count,
        "answered_confidently": len(confident) / count,
        "accuracy_when_confident": sum(p.digits[0].digit == d for p, d in confident) / max(len(confident), 1),
        "command": f"python benchmarks/drawn_digits.py --out drawn --count {count} && digitrec predict drawn",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="an existing run folder of the `robust` model (default: train one)")
    args = parser.parse_args()
    command = ["digitrec", "train", "--model", MODEL, "--out", "runs/robust", "--overwrite"]
    run_dir = Path(args.run) if args.run else ROOT / "runs" / "robust"
    if not args.run:
        subprocess.run([str(Path(sys.executable).with_name("digitrec")), *command[1:]], check=True, cwd=ROOT)
    onnx_path = export_onnx(run_dir, PRETRAINED)
    model = OnnxModel(onnx_path)
    _, (x_test, y_test) = load_mnist()
    metrics = evaluate(model, x_test, y_test)
    answers = Predictor(onnx_path).predict_pixels(x_test)
    predicted = np.array([p.digits[0].digit for p in answers])
    confident = np.array([not p.uncertain for p in answers])
    record = json.loads((run_dir / "config.json").read_text())
    training = json.loads((run_dir / "metrics.json").read_text())
    card = {
        "name": MODEL,
        "source": record["model"]["source"],
        "parameters": record["model"]["parameters"],
        "file": "model.onnx",
        "file_sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "file_bytes": onnx_path.stat().st_size,
        "trained_with": " ".join(command) + " && digitrec export runs/robust --format onnx",
        "config": record["config"],
        "versions": record["versions"],
        "data": record["data"].get("files_sha256"),
        "train_seconds": training.get("train_seconds"),
        "mnist_test_accuracy": metrics["test_accuracy"],
        "mnist_test_loss": metrics["test_loss"],
        "threshold": DEFAULT_THRESHOLD,
        "mnist_answered_confidently": float(confident.mean()),
        "mnist_accuracy_when_confident": float((predicted == y_test)[confident].mean()),
        "drawn_digits": drawn_accuracy(onnx_path),
        "measured": time.strftime("%Y-%m-%d"),
    }
    (PRETRAINED / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps({k: v for k, v in card.items() if k not in ("config", "versions", "data")}, indent=2))


if __name__ == "__main__":
    main()
