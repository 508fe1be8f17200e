"""Ensembles: several trained models read as one, by the mean of their probabilities.

`build_ensemble([run, run, ...], out_dir)` loads each member (a run folder, .keras file or
model.json pair, checked like any model), gives it a unique name and joins them in one Keras
model: the input goes to every member and an `Average` layer takes the mean of their softmax
outputs. The result is a normal run folder (model.keras, config.json naming the members,
metrics.json with the ensemble's and each member's test figures), so `evaluate`, `export`,
`predict` and `serve` take it as they take any run, and `export` writes one ONNX file that holds
every member. An ensemble given as a member is opened into its own members.

With `shifts`, every member also reads each image moved one pixel up, down, left and right
(test-time shifts; `SHIFTS`), and the mean is over every member and position. One member with
shifts is allowed: that is how `best`'s recipe saves its network (`Recipe.test_shifts`).
"""

import time
from pathlib import Path

import numpy as np

from . import files, runs
from .errors import DigitrecError

NAME = "ensemble"
MAX_MEMBERS = 20
# (rows, columns) an image moves for test-time shifts: as it is, up, down, left, right; zeros come in at the edge
SHIFTS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))
VIEW_LAYERS = ("ZeroPadding2D", "Cropping2D")  # how join() moves the image


def is_ensemble(model) -> bool:
    """Whether a Keras model is an ensemble built here: Sequential members fed by the one input (and
    with test-time shifts, by it moved as join() moves it), averaged by one Average layer."""
    import keras

    kinds = [type(layer).__name__ for layer in model.layers]
    if isinstance(model, keras.Sequential) or kinds.count("Average") != 1 or kinds[-1] != "Average":
        return False
    members = [layer for layer in model.layers if type(layer).__name__ not in ("InputLayer", "Average", *VIEW_LAYERS)]
    paddings = [layer.padding for layer in model.layers if type(layer).__name__ == "ZeroPadding2D"]
    shifts = shifts_of(model)
    return (all(isinstance(layer, keras.Sequential) for layer in members) and set(shifts) <= set(SHIFTS)
            and all(tuple(map(tuple, padding)) == ((1, 1), (1, 1)) for padding in paddings)
            and len(model.layers[-1].input) == len(members) * len(shifts))


def shifts_of(model) -> list:
    """The (rows, columns) each member reads an image moved by: [(0, 0)], or SHIFTS' five with
    test-time shifts (read from join()'s Cropping2D layers)."""
    shifts = [(0, 0)]
    for layer in model.layers:
        if type(layer).__name__ == "Cropping2D":
            (top, _), (left, _) = layer.cropping
            shifts.append((1 - top, 1 - left))
    return shifts


def members_of(model) -> list:
    """The Sequential members of an ensemble, or [model] for a single model."""
    import keras

    if is_ensemble(model):
        return [layer for layer in model.layers if isinstance(layer, keras.Sequential)]
    return [model]


def check_member(model, path):
    if tuple(model.input_shape) != (None, 28, 28, 1) or tuple(model.output_shape) != (None, 10):
        raise DigitrecError(f"{path}: takes {model.input_shape} and gives {model.output_shape}; "
                            "ensemble members take (batch, 28, 28, 1) and give 10 probabilities")


def renamed(model, name):
    """A copy of a Sequential model under another name (a Keras model needs unique layer names)."""
    import keras

    if not isinstance(model, keras.Sequential):
        raise DigitrecError(f"model {model.name!r}: only Sequential models can be ensemble members here")
    copy = keras.Sequential.from_config({**model.get_config(), "name": name})
    copy.set_weights(model.get_weights())
    return copy


def join(models, shifts=False):
    """One Keras model: the mean of `models`' probabilities (each (batch, 28, 28, 1) -> (batch, 10));
    with `shifts`, of each model on the image at each of SHIFTS' five positions."""
    import keras

    inputs = keras.Input(shape=(28, 28, 1), name="image")
    views = [inputs]
    if shifts:
        padded = keras.layers.ZeroPadding2D(1, name="pad")(inputs)
        for (rows, columns), name in zip(SHIFTS[1:], ("up", "down", "left", "right")):
            cropping = ((1 - rows, 1 + rows), (1 - columns, 1 + columns))  # the padded image's row i + 1 - rows is row i - rows
            views.append(keras.layers.Cropping2D(cropping, name=f"moved_{name}")(padded))
    outputs = keras.layers.Average(name="mean")([model(view) for model in models for view in views])
    return keras.Model(inputs, outputs, name=NAME)


def build_ensemble(paths, out_dir, overwrite=False, data_dir=None, mnist=None, shifts=False) -> dict:
    """Join the models at `paths` into an ensemble saved as a run folder at `out_dir`; measure it
    and each member (as it is, without shifts) on the MNIST test set. The ensemble reads test-time
    shifts when `shifts` is set or any model at `paths` reads them already. Returns the metrics
    written to metrics.json."""
    from .data import load_mnist
    from .evaluation import evaluate
    from .models import count_parameters
    from .saving import load_model, resolve_model_path
    from .training import library_versions

    paths = [str(path) for path in paths]
    if len(paths) < (1 if shifts else 2):
        raise DigitrecError(f"an ensemble needs at least 2 members (or 1 with test-time shifts), got {len(paths)}")
    out = Path(out_dir).resolve()
    for path in paths:
        if Path(path).resolve() == out:
            raise DigitrecError(f"{path}: is the ensemble's own --out; choose another folder")
    loaded = []
    for path in paths:
        resolve_model_path(path)  # one line for a missing or unknown model, before any loading
        model = load_model(path)
        check_member(model, path)
        shifts = shifts or len(shifts_of(model)) > 1
        loaded.extend((path, member) for member in members_of(model))
    if len(loaded) > MAX_MEMBERS:
        raise DigitrecError(f"an ensemble of {len(loaded)} members is too many here (at most {MAX_MEMBERS})")
    claim = files.claim_run_folder(out_dir, overwrite)
    try:
        members = [renamed(model, f"member_{number}_{model.name}") for number, (_, model) in enumerate(loaded, 1)]
        ensemble = join(members, shifts=shifts)
        _, (test_images, test_labels) = mnist if mnist is not None else load_mnist(data_dir)
        member_rows = []
        for (path, _), member in zip(loaded, members):
            member_rows.append({"path": path, "model": member.name.split("_", 2)[2],
                                "test_accuracy": evaluate(member, test_images, test_labels)["test_accuracy"]})
        measured = evaluate(ensemble, test_images, test_labels)
        accuracies = [row["test_accuracy"] for row in member_rows]
        metrics = {
            "test_loss": measured["test_loss"],
            "test_accuracy": measured["test_accuracy"],
            "members": member_rows,
            "members_mean_accuracy": float(np.mean(accuracies)),
            "members_std_accuracy": float(np.std(accuracies, ddof=1)) if len(accuracies) > 1 else 0.0,
            "test_time_shifts": shifts,
        }
        record = {
            "model": {"name": NAME, "source": f"mean of {len(members)} models' probabilities"
                      + (f" on the image at {len(SHIFTS)} positions (test-time shifts)" if shifts else ""),
                      "parameters": count_parameters(ensemble)},
            "members": member_rows,
            "test_time_shifts": shifts,
            "versions": library_versions(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        with files.atomic_directory(out_dir, overwrite=overwrite, claim=claim) as staging:
            ensemble.save(staging / runs.MODEL)
            files.write_json(staging / runs.CONFIG, record)
            files.write_json(staging / runs.METRICS, metrics)
    finally:
        claim.release()
    return metrics
