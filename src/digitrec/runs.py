"""The run folder: which files a run holds, and how they are read.

`digitrec train --out runs/x` writes MODEL, CONFIG (the resolved config, library versions, data
checksums), HISTORY (one value per epoch), METRICS and CURVES, all at once (`training.save_run`);
`evaluate` merges its figures into METRICS and draws EVALUATION_PICTURES; `report` writes REPORT;
`export` adds ONNX or the tutorials' LEGACY_ARCHITECTURE + LEGACY_WEIGHTS pair. Every module that
reads or writes a run takes the names from here. No Keras or TensorFlow: the light path reads
model cards through it.
"""

from pathlib import Path

MODEL = "model.keras"
CONFIG = "config.json"
HISTORY = "history.json"
METRICS = "metrics.json"
CURVES = "curves.png"
CONFUSION, MISTAKES, PREDICTIONS = "confusion.png", "mistakes.png", "predictions.png"
REPORT = "report.html"
ONNX = "model.onnx"
LEGACY_ARCHITECTURE = "model.json"
LEGACY_WEIGHTS = "model.weights.h5"

TRAINED_FILES = (MODEL, CONFIG, HISTORY, METRICS, CURVES)  # what `train` writes
EVALUATION_PICTURES = (CONFUSION, MISTAKES, PREDICTIONS)  # what `evaluate` adds


def is_run(folder) -> bool:
    """Whether `folder` is a run folder (it has the record `train` writes)."""
    return (Path(folder) / CONFIG).is_file()


def read(folder, name, default=None):
    """A run's JSON file (CONFIG, HISTORY or METRICS) as a dict, or `default` when it is absent;
    a damaged one (not JSON, not an object) is a one-line error naming it (`files.read_json`)."""
    from .errors import DigitrecError
    from .files import read_json

    path = Path(folder) / name
    if not path.is_file():
        return default
    value = read_json(path)
    if not isinstance(value, dict):
        raise DigitrecError(f"{path}: damaged run file (a JSON {type(value).__name__}, not an object); restore it or train the run again")
    return value


def listed(names) -> str:
    """File names as the CLI lists them: "model.keras, config.json, ..."."""
    return ", ".join(names)
