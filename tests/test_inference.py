"""ONNX inference: the shipped model, uncertainty, multi-digit reading, and no TensorFlow."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitrec.inference import Predictor, model_card, pretrained_model_path
from images import drawn_set, render_number


@pytest.fixture(scope="module")
def predictor():
    return Predictor()


def test_prediction_imports_neither_tensorflow_nor_keras(tmp_path):
    picture = tmp_path / "seven.png"
    image = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(image).line([(50, 40), (150, 40), (90, 170)], fill=0, width=8)
    image.save(picture)
    script = (
        "import sys, json\n"
        "from digitrec.cli import main\n"
        f"code = main(['predict', {str(picture)!r}, '--json'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'jax', 'torch'))\n"
        "print(json.dumps({'code': code, 'heavy': heavy}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "heavy": []}
    assert '"digit": 7' in result.stdout


def test_shipped_model_and_its_card():
    assert pretrained_model_path().is_file()
    card = model_card()
    assert card["name"] == "robust" and card["trained_with"].startswith("digitrec train --model robust")
    assert card["mnist_test_accuracy"] >= 0.995
    assert card["file_bytes"] < 3_000_000  # light enough to ship
    import hashlib

    assert hashlib.sha256(pretrained_model_path().read_bytes()).hexdigest() == card["file_sha256"]


def test_shipped_model_reads_mnist(predictor, mnist):
    images, labels = mnist[1][0][:2000], mnist[1][1][:2000]
    predictions = predictor.predict_pixels(images)
    accuracy = np.mean([p.digits[0].digit == label for p, label in zip(predictions, labels)])
    assert accuracy >= 0.99


def test_shipped_model_reads_drawn_digits(predictor):
    # 100 of the not-MNIST drawn digits (the full 1,000 are in the benchmark and the model card)
    answers = [(predictor.predict_image(image), digit) for image, digit in drawn_set(100, seed=7)]
    accuracy = np.mean([p.found and p.digits[0].digit == digit for p, digit in answers])
    assert accuracy >= 0.9


def test_numbers_are_read_left_to_right(predictor):
    rng = np.random.default_rng(11)
    numbers = ["2026", "31", "907", "4518", "62", "7340", "85", "1999"]
    read = [predictor.predict_image(render_number(number, rng), multi=True).text for number in numbers]
    assert sum(r == n for r, n in zip(read, numbers)) >= 6, read


def test_blank_picture_is_no_digit(predictor):
    prediction = predictor.predict_image(Image.new("RGB", (300, 200), "white"))
    assert not prediction.found and prediction.uncertain
    assert prediction.to_dict()["reason"] == "no digit found" and prediction.to_dict()["digits"] is None


def test_a_filled_shape_is_uncertain_with_candidates(predictor):
    image = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(image).rectangle([60, 60, 240, 240], fill=0)
    prediction = predictor.predict_image(image)
    assert prediction.uncertain
    answer = prediction.to_dict()
    assert answer["reason"] and len(answer["per_digit"][0]["candidates"]) == 3
    assert sum(answer["probabilities"]) == pytest.approx(1.0, abs=1e-4)


def test_answer_shape(predictor, mnist):
    (prediction,) = predictor.predict_pixels(mnist[1][0][:1], ["first"])
    answer = prediction.to_dict(with_pixels=True)
    assert set(answer) == {"path", "digits", "digit", "confidence", "uncertain", "reason", "probabilities", "per_digit", "seconds"}
    assert answer["digit"] == 7 and answer["digits"] == "7" and not answer["uncertain"]
    assert len(answer["per_digit"][0]["pixels"]) == 784


def test_threshold_is_checked():
    from digitrec.errors import DigitrecError

    with pytest.raises(DigitrecError, match=r"--threshold must be between 0 and 1, got 1.5"):
        Predictor(threshold=1.5)
