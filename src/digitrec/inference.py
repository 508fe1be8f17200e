"""Predict digits with ONNX Runtime: no TensorFlow, no Keras (a test checks `sys.modules`).

`Predictor` wraps an ONNX model (by default the one shipped in the package) and answers for
pictures (through `imaging.read`), for MNIST-style arrays (IDX, Kaggle CSV) and for raw
28x28 pixels. Every answer carries its probabilities; it is "uncertain", with a reason, when

- "several digits found; use --multi": without multi, the picture holds two or more pieces side
  by side that each look like a digit;
- "not a digit": the shipped detector (`pretrained/detector.onnx`, see its card and
  `scripts/build_detector.py`) scores what the model saw below its threshold. Softmax scores
  alone call a letter A a 4 at 99.98 %; the detector was trained on real letters, symbols and
  doodles (`../shared/data/real-non-digits`, Omniglot held out) and generated letters, symbols,
  scribbles, frames, noise, blots and touching digits against MNIST and drawn digits, and keeps
  99.7 % of held-out digits;
- "low confidence": the top probability is below `threshold` (default 0.80);
- the picture the model saw does not look like a handwritten digit by MNIST's own statistics:
  its ink (pixels above 127) covers less than 3 % or more than 35 % of the 28x28, which only 24
  of MNIST's 70,000 digits do (measured).
"""

import dataclasses
import hashlib
import json
import math
import time
from importlib import resources
from pathlib import Path
from typing import Optional

import numpy as np

from .errors import DigitrecError

DEFAULT_THRESHOLD = 0.80
INK_COVERAGE_RANGE = (0.03, 0.35)  # share of 28x28 pixels above 127; holds 69,976 of MNIST's 70,000
BATCH = 32  # images per ONNX Runtime call: as fast per image as 256 here, and 140 MB less arena (measured)
CUT_QUALITY = 0.98  # a digit cut out of touching digits must be read this well (top probability x digit score)


def pretrained_dir() -> Path:
    return Path(str(resources.files("digitrec") / "pretrained"))


def pretrained_model_path() -> Path:
    from .runs import ONNX

    return pretrained_dir() / ONNX


def detector_path() -> Path:
    return pretrained_dir() / "detector.onnx"


NOT_A_DIGIT = "not a digit"
SEVERAL_DIGITS = "several digits found; use --multi"


def model_card(model_path=None) -> dict:
    """The model card beside an ONNX model (model_card.json or a run's config/metrics), or {}.
    Its name says which model it is: the shipped card's own, a run's registry model and folder
    ("fast (runs/fast)"), else the file's name (or its folder's, for a file called model.*)."""
    model_path = Path(model_path) if model_path else pretrained_model_path()
    folder = model_path if model_path.is_dir() else model_path.parent
    card_path = folder / "model_card.json"
    from . import runs

    if card_path.is_file():
        card = json_safe(runs.read(folder, card_path.name))
        card["name"] = str(card.get("name") or model_path.stem)
        return card
    card = {"name": model_path.stem if model_path.stem != "model" else folder.name, "path": str(model_path)}
    for key, name in (("config", runs.CONFIG), ("metrics", runs.METRICS)):
        if (folder / name).is_file():
            card[key] = json_safe(runs.read(folder, name))
    registry_name = field(card, "config", "model", "name")
    if isinstance(registry_name, str) and registry_name:
        card["name"] = f"{registry_name} ({folder.name})"
    accuracy = field(card, "metrics", "test_accuracy")
    if isinstance(accuracy, (int, float)) and not isinstance(accuracy, bool):
        card["mnist_test_accuracy"] = accuracy
    return card


def json_safe(value):
    """`value` with NaN and infinities (which Python's json reads and writes, but JSON has not) as
    None, so that a card can be sent as JSON whatever its run wrote (a diverged run's loss is NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    return value


def field(record, *keys):
    """record[k1][k2]...: None where a level is missing or is not an object (a damaged file)."""
    for key in keys:
        if not isinstance(record, dict):
            return None
        record = record.get(key)
    return record


class OnnxModel:
    """An exported digitrec model in ONNX Runtime: uint8-free float32 in, probabilities out."""

    def __init__(self, path, threads: Optional[int] = None, outputs: int = 10):
        import onnxruntime

        self.path = Path(path)
        if not self.path.is_file():
            raise DigitrecError(f"{self.path}: no such ONNX model file")
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            self.session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as error:
            raise DigitrecError(f"{self.path}: not a loadable ONNX model ({str(error).splitlines()[0][:160]})") from None
        self.input_name = self.session.get_inputs()[0].name
        check_signature(self.path, self.session, outputs)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28, 1) float32 in [0, 1] -> (N, 10) softmax rows."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim == 3:
            images = images[..., np.newaxis]
        outputs = [self.session.run(None, {self.input_name: images[i : i + BATCH]})[0] for i in range(0, len(images), BATCH)]
        return np.concatenate(outputs) if outputs else np.zeros((0, 10), np.float32)


def onnx_cache_dir() -> Path:
    """Where Keras models are converted to ONNX for reading (keyed by their sha256)."""
    from .files import cache_root

    return cache_root() / "onnx"


def check_signature(path, session, outputs):
    """One line naming what is wrong when an ONNX model does not take digitrec's input, float32
    (batch, 28, 28, 1) in [0, 1], or does not give `outputs` scores per image."""
    inputs, results = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(results) < 1:
        raise DigitrecError(f"{path}: expected a model with one input and one output, got {len(inputs)} and {len(results)}")
    shape, kind = list(inputs[0].shape), inputs[0].type
    if kind != "tensor(float)" or len(shape) != 4 or [dim if isinstance(dim, int) else None for dim in shape[1:]] != [28, 28, 1]:
        raise DigitrecError(f"{path}: the model takes {kind} of shape {shape}; digitrec models take float (batch, 28, 28, 1)")
    out_shape = list(results[0].shape)
    if len(out_shape) != 2 or out_shape[1] != outputs:
        raise DigitrecError(f"{path}: the model gives shape {out_shape}; expected (batch, {outputs}): one score per class")


def resolve_onnx_model(model=None) -> Path:
    """An ONNX file for `model`: the shipped one, an .onnx path, a run folder's model.onnx, or a
    Keras model (run folder, .keras, model.json) converted into digitrec's cache, keyed by the
    sha256 of its files. Reading never writes next to the model (its folder may be read-only)."""
    if model is None or (str(model) == "pretrained" and not Path(model).exists()):
        path = pretrained_model_path()
        if not path.is_file():
            raise DigitrecError(f"{path}: the shipped model is missing from this installation")
        return path
    path = Path(model)
    if path.suffix == ".onnx":
        return path
    from .runs import ONNX

    if path.is_dir() and (path / ONNX).is_file():
        return path / ONNX
    if path.is_dir() or path.suffix in (".keras", ".json"):
        from . import files
        from .saving import LEGACY_WEIGHTS, resolve_model_path

        source = resolve_model_path(path)
        if source.suffix == ".onnx":
            return source
        digest = hashlib.sha256(source.read_bytes())
        weights = source.with_name(LEGACY_WEIGHTS)
        if source.suffix == ".json" and weights.is_file():
            digest.update(weights.read_bytes())
        cached = onnx_cache_dir() / f"{digest.hexdigest()}.onnx"
        if not cached.is_file():
            # only here does prediction need Keras: to convert a model that was never exported
            from .export import keras_to_onnx
            from .saving import load_model

            files.write_bytes(cached, keras_to_onnx(load_model(source)).SerializeToString())
        return cached
    if not path.exists():
        raise DigitrecError(f"{path}: no such model file or folder")
    raise DigitrecError(f"{path}: unknown model format (expected .onnx, .keras, model.json or a run folder)")


@dataclasses.dataclass
class DigitAnswer:
    digit: int
    confidence: float
    probabilities: list  # 10 floats
    uncertain: bool
    reason: Optional[str]  # why it is uncertain, else None
    candidates: list  # the top k (default 3) as [digit, probability]
    pixels: np.ndarray  # uint8 (28, 28): what the model saw
    box: Optional[tuple] = None  # (left, top, right, bottom) in the picture's own pixels, for pictures

    def to_dict(self, with_pixels=False):
        result = {
            "digit": self.digit,
            "confidence": round(self.confidence, 6),
            "probabilities": [round(p, 6) for p in self.probabilities],
            "uncertain": self.uncertain,
            "reason": self.reason,
            "candidates": self.candidates,
        }
        if self.box is not None:
            result["box"] = list(self.box)
        if with_pixels:
            result["pixels"] = self.pixels.ravel().tolist()
        return result


@dataclasses.dataclass
class Prediction:
    """The answer for one input: one digit, several (with multi), or none found."""

    source: str
    digits: list  # of DigitAnswer, left to right
    seconds: float = 0.0
    note: Optional[str] = None  # with no digits: why, when it is more than "no digit found"
    error: Optional[str] = None  # the input could not be read (then there are no digits): why
    label: Optional[int] = None  # the true digit, when the input gives it (a labelled CSV row)

    @property
    def reason(self) -> Optional[str]:
        if self.error is not None:
            return None
        if not self.digits:
            return self.note or "no digit found"
        return next((d.reason for d in self.digits if d.reason), None)

    @property
    def text(self) -> Optional[str]:
        return "".join(str(d.digit) for d in self.digits) if self.digits else None

    @property
    def found(self) -> bool:
        return bool(self.digits)

    @property
    def uncertain(self) -> bool:
        return not self.digits or any(d.uncertain for d in self.digits)

    @property
    def confidence(self) -> float:
        return float(np.prod([d.confidence for d in self.digits])) if self.digits else 0.0

    def to_dict(self, with_pixels=False):
        if self.error is not None:
            return {"path": self.source, "error": self.error}
        result = {
            "path": self.source,
            "digits": self.text,
            "digit": self.digits[0].digit if len(self.digits) == 1 else None,
            "confidence": round(self.confidence, 6),
            "uncertain": self.uncertain,
            "reason": self.reason,
            "probabilities": self.digits[0].probabilities if len(self.digits) == 1 else None,
            "per_digit": [d.to_dict(with_pixels) for d in self.digits],
            "seconds": round(self.seconds, 6),
        }
        if result["probabilities"] is not None:
            result["probabilities"] = [round(p, 6) for p in result["probabilities"]]
        if self.label is not None:
            result["label"] = self.label
        return result


READERS = ("rules", "learned")  # imaging.read, reading.learned.read


class Predictor:
    """Digits from pictures, arrays or pixels with an ONNX model (default: the shipped one)."""

    def __init__(self, model=None, threshold=DEFAULT_THRESHOLD, threads: Optional[int] = None, detect=True, top_k=3, reader="rules"):
        if reader not in READERS:
            raise DigitrecError(f"--reader must be one of {', '.join(READERS)}, got {reader!r}")
        self.reader = reader
        if not 0.0 <= threshold <= 1.0:
            raise DigitrecError(f"--threshold must be between 0 and 1, got {threshold}")
        if not 1 <= top_k <= 10:
            raise DigitrecError(f"--top-k must be between 1 and 10, got {top_k}")
        self.top_k = top_k
        self.model_path = resolve_onnx_model(model)
        self.model = OnnxModel(self.model_path, threads=threads)
        # where the model's card lives: beside the model given, even when it was converted into the cache
        self.card_path = self.model_path if model is None or self.model_path.parent != onnx_cache_dir() else Path(model)
        self.threshold = threshold
        self.detector, self.detector_card, self.detector_threshold = None, None, 0.0
        if detect:  # the shipped detector works with any digit model: it sees the same 28x28
            path = detector_path()
            if not path.is_file():
                raise DigitrecError(f"{path}: the shipped digit detector is missing from this installation")
            self.detector = OnnxModel(path, threads=threads, outputs=2)
            self.detector_card = json.loads(path.with_name("detector_card.json").read_text())
            self.detector_threshold = float(self.detector_card["threshold"])

    def settings(self) -> dict:
        """What it takes to make the same Predictor in another process."""
        return {"model": str(self.model_path), "threshold": self.threshold, "detect": self.detector is not None, "top_k": self.top_k,
                "reader": self.reader}

    def predict_paths(self, paths, multi=False, workers=None, engine="local", skip=None, ray_address=None):
        """Predictions for pictures, folders, list files, Kaggle CSV and IDX files, in input order,
        as they come: decoding and cleaning on `workers` processes (default: every CPU), the model
        on batches. A file that cannot be read gives a Prediction with its `error`. See `batch.py`."""
        from .batch import predictions

        return predictions(self, paths, multi=multi, workers=workers, engine=engine, skip=skip, ray_address=ray_address)

    def answer(self, probabilities: np.ndarray, pixels: np.ndarray, box=None, digit_score=1.0, reason=None) -> DigitAnswer:
        order = np.argsort(probabilities)[::-1]
        top = float(probabilities[order[0]])
        coverage = float((pixels > 127).mean())
        if reason is None and digit_score < self.detector_threshold:
            reason = NOT_A_DIGIT
        elif reason is None and top < self.threshold:
            # rounded down, so an answer just under the threshold never reads as equal to it
            reason = f"low confidence ({math.floor(1000 * top) / 10:.1f} % < {100 * self.threshold:g} %)"
        elif reason is None and not INK_COVERAGE_RANGE[0] <= coverage <= INK_COVERAGE_RANGE[1]:
            reason = f"does not look like a handwritten digit (ink covers {coverage:.0%} of the 28x28)"
        return DigitAnswer(
            digit=int(order[0]),
            confidence=top,
            probabilities=[float(p) for p in probabilities],
            uncertain=reason is not None,
            reason=reason,
            candidates=[[int(d), round(float(probabilities[d]), 6)] for d in order[: self.top_k]],
            pixels=pixels,
            box=box,
        )

    def scores(self, pixels: np.ndarray):
        """(probabilities (N, 10), digit scores (N,)) for uint8 (N, 28, 28) MNIST-style pictures."""
        from .data import scale_images

        images = scale_images(pixels)
        probabilities = self.model.probabilities(images)
        digit_scores = self.detector.probabilities(images)[:, 1] if self.detector else np.ones(len(pixels), np.float32)
        return probabilities, digit_scores

    def predict_pixels(self, images: np.ndarray, sources=None):
        """Predictions for MNIST-style uint8 images (N, 28, 28), white on black."""
        images = np.asarray(images, dtype=np.uint8)
        started = time.perf_counter()
        probabilities, digit_scores = self.scores(images)
        each = (time.perf_counter() - started) / max(len(images), 1)
        sources = sources or [f"#{i + 1}" for i in range(len(images))]
        return [
            Prediction(source, [self.answer(row, image, digit_score=score)], seconds=each)
            for source, row, image, score in zip(sources, probabilities, images, digit_scores)
        ]

    def best_cuts(self, options, probabilities, digit_scores):
        """(digits, reason, their probabilities, their digit scores) for a multi-digit reading, given
        the scores of every digit of every option (in `to_score` order): each piece cut the way whose digits look most
        like digits (the product, over its digits, of the top probability times the digit score,
        so a needless extra cut costs), and a reason when a cut that reads differently scores at
        least half as well, or when a digit of the chosen cut is read less well than CUT_QUALITY:
        then the number is uncertain, not guessed."""
        quality = (probabilities.max(axis=1) * digit_scores).tolist()
        read = probabilities.argmax(axis=1).tolist()
        rows, start = {}, 0  # option -> the rows of `every` that hold its digits
        for group in options:
            for option in group:
                rows[id(option)] = range(start, start + len(option))
                start += len(option)
        readings = {key: tuple(read[i] for i in span) for key, span in rows.items()}
        qualities = {key: [quality[i] for i in span] for key, span in rows.items()}
        chosen, chosen_rows, reason = [], [], None
        for group in options:
            scored = sorted(
                ((float(np.prod(qualities[id(option)])), -rank, option) for rank, option in enumerate(group)),
                key=lambda item: item[:2],
                reverse=True,
            )
            best, best_option = scored[0][0], scored[0][2]
            reading = readings[id(best_option)]
            rival = max((score for score, _, option in scored[1:] if readings[id(option)] != reading), default=0.0)
            if reason is None and rival >= 0.5 * best:
                reason = "touching digits: another way to cut them reads almost as well"
            elif reason is None and len(best_option) > 1 and min(qualities[id(best_option)]) < CUT_QUALITY:
                # a vertical cut through digits that overlap leaves pieces that are only nearly digits
                reason = "touching digits: they could not be cut apart cleanly"
            chosen.extend(best_option)
            chosen_rows.extend(rows[id(best_option)])
        return chosen, reason, probabilities[chosen_rows], digit_scores[chosen_rows]

    def conclude(self, label, reading, probabilities, digit_scores, seconds=0.0) -> Prediction:
        """The prediction for a reading (`imaging.read`), given the scores of `to_score(reading)`."""
        if not reading.digits:
            note = f"{NOT_A_DIGIT} ({reading.note})" if reading.note else None
            return Prediction(label, [], seconds=seconds, note=note)
        reason = None
        if any(len(options) > 1 for options in reading.options):  # scored while choosing the cuts
            reading.digits, reason, probabilities, digit_scores = self.best_cuts(reading.options, probabilities, digit_scores)
        if reading.parts:
            # without multi: pieces side by side that are each a confident digit, while all of them
            # together are not (a 0 drawn with a gap is two "1"s but also a good 0), are a number
            confident = (digit_scores >= self.detector_threshold) & (probabilities.max(axis=1) >= self.threshold)
            if reading.apart and not confident[0]:
                reading, probabilities, digit_scores, reason = self.alone(reading, probabilities, digit_scores, confident)
            elif reading.several or (not confident[0] and np.count_nonzero(confident[len(reading.digits) :]) >= 2):
                reason = SEVERAL_DIGITS
        if reading.doubt:  # what the picture is around the digit outweighs how the digit reads
            reason = f"{NOT_A_DIGIT} ({reading.doubt})"
        digits = [
            self.answer(row, d.pixels, d.box, digit_score=score, reason=reason)
            for row, d, score in zip(probabilities, reading.digits, digit_scores)
        ]
        return Prediction(label, digits, seconds=seconds)

    def alone(self, reading, probabilities, digit_scores, confident):
        """(reading, probabilities, digit scores, reason) for parts that lie apart (`Reading.apart`).
        The parts that count are those the detector calls digits and at least `part_height` as
        tall as the tallest confident one: print, icons and specks round a digit do not. One that
        counts, is confident and is the tallest of all the parts is the answer (a digit beside
        print, an app's icons or a fingertip, which are smaller); two confident ones are several
        digits; else all is as it was (measured on scikit-image's photos of things, seed 99: 27 of
        252 read as a confident digit without the tallest test, 21 with it, and no digit category
        of the tune side lost a picture)."""
        from .reading.learned import SETTINGS

        first = len(reading.digits)
        heights = np.array([part.box[3] - part.box[1] for part in reading.parts])
        sure = confident[first:]
        if not sure.any():
            return reading, probabilities, digit_scores, None
        counted = (digit_scores[first:] >= self.detector_threshold) & (heights >= SETTINGS.part_height * heights[sure].max())
        if np.count_nonzero(sure & counted) >= 2:
            return reading, probabilities, digit_scores, SEVERAL_DIGITS
        if np.count_nonzero(counted) != 1:
            return reading, probabilities, digit_scores, None
        chosen = int(np.flatnonzero(counted)[0])
        if heights[chosen] < heights.max():  # a texture's pieces are alike, and one of them may pass for a digit
            return reading, probabilities, digit_scores, None
        keep = slice(first + chosen, first + chosen + 1)
        return dataclasses.replace(reading, digits=[reading.parts[chosen]], parts=[]), probabilities[keep], digit_scores[keep], None

    def read(self, source, multi=False, name=None):
        """The picture's `imaging.Reading` by this predictor's reader: the rules of `imaging.read`,
        or the learned stage of `reading.learned.read`."""
        if self.reader == "learned":
            from .reading.learned import read
        else:
            from .imaging import read
        return read(source, multi=multi, name=name)

    def predict_image(self, source, multi=False, name=None) -> Prediction:
        """Prediction for a picture: a path, bytes or a PIL image."""
        started = time.perf_counter()
        reading = self.read(source, multi=multi, name=name)
        label = name or (str(source) if isinstance(source, (str, Path)) else "image")
        pixels = to_score(reading)
        probabilities, digit_scores = self.scores(np.stack(pixels)) if pixels else (None, None)
        return self.conclude(label, reading, probabilities, digit_scores, seconds=time.perf_counter() - started)


def to_score(reading) -> list:
    """The 28x28 pictures of a reading that the model and the detector score, in the order
    `Predictor.conclude` takes their scores: every digit of every way to cut touching digits when
    there is a choice, else the digits and then the parts side by side."""
    if not reading.digits:
        return []
    if any(len(options) > 1 for options in reading.options):
        return [digit.pixels for group in reading.options for option in group for digit in option]
    return [digit.pixels for digit in reading.digits + reading.parts]
