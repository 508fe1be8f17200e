"""Load saved models safely and export the tutorials' legacy pair (model.json + model.weights.h5).

A run folder holds `model.keras`; `.keras` files load with `safe_mode=True` (no arbitrary code).
The legacy JSON architecture goes through `keras.models.model_from_json`, which has no safe
mode, so every object it names is first checked against an allow-list: only Keras's own layers
from the list below, and only Keras's own initializers, regularizers, constraints and dtype
policies. A `Lambda` layer or anything registered from outside Keras is refused.
"""

from pathlib import Path

from . import files
from .errors import DigitrecError

from .runs import LEGACY_ARCHITECTURE, LEGACY_WEIGHTS
from .runs import MODEL as MODEL_FILE
from .runs import ONNX as ONNX_FILE

ALLOWED_LAYERS = frozenset(
    {
        "InputLayer", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D", "AveragePooling2D",
        "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Dense", "Dropout", "SpatialDropout2D", "Flatten",
        "Reshape", "Average", "BatchNormalization", "LayerNormalization", "Activation", "ReLU", "LeakyReLU", "Softmax",
        "Rescaling", "ZeroPadding2D", "Cropping2D", "Add", "Concatenate", "RandomRotation", "RandomZoom", "RandomTranslation",
    }
)
ALLOWED_MODELS = frozenset({"Sequential", "Functional", "Model"})
ALLOWED_OBJECT_MODULES = frozenset(
    {"keras.initializers", "keras.regularizers", "keras.constraints", "keras.optimizers", "keras.optimizers.schedules",
     "keras.losses", "keras.metrics"}
)
ALLOWED_KERAS_OBJECTS = frozenset({"DTypePolicy", "FloatDTypePolicy", *ALLOWED_MODELS})
# a Functional model (an ensemble) in JSON: its class's module, and the tensors that wire its layers
# ({"class_name": "__keras_tensor__", "config": {shape, dtype, keras_history}}: data, not code)
FUNCTIONAL = ("keras.src.models.functional", "Functional")
WIRING = frozenset({"__keras_tensor__"})


MAX_ARCHITECTURE_DEPTH = 64  # a Keras model config nests about a dozen levels deep
REFUSED_CLASSES = frozenset({"__lambda__", "Lambda", "function", "TFOpLambda"})  # code, whatever the module


def check_architecture(node, name, is_layer=True):
    """Raise DigitrecError if the serialized Keras config `node` names anything not allowed, or
    nests deeper than MAX_ARCHITECTURE_DEPTH. Walked with an explicit stack: a hostile file
    nested 100,000 deep is one line, not a RecursionError."""
    stack = [(node, is_layer, 0)]
    while stack:
        node, is_layer, depth = stack.pop()
        if depth > MAX_ARCHITECTURE_DEPTH:
            raise DigitrecError(f"{name}: refusing an architecture nested deeper than {MAX_ARCHITECTURE_DEPTH} levels")
        if isinstance(node, list):
            stack.extend((item, is_layer, depth + 1) for item in node)
            continue
        if not isinstance(node, dict):
            continue
        if "class_name" in node:
            check_object(node, name, is_layer)
        # "layers" holds layers; every other nested config holds plain objects
        stack.extend((value, key == "layers", depth + 1) for key, value in node.items())


def check_object(node, name, is_layer):
    """Raise DigitrecError if one serialized object (`class_name`, `module`, ...) is not allowed."""
    class_name, module = node.get("class_name"), node.get("module") or "keras"
    registered = node.get("registered_name")
    if class_name in REFUSED_CLASSES or registered in REFUSED_CLASSES:
        kind = "layer class" if is_layer or module == "keras.layers" else "object"
        raise DigitrecError(f"{name}: refusing {kind} {class_name!r} (not on the allow-list)")
    if registered not in (None, class_name):
        raise DigitrecError(f"{name}: refusing custom object {registered!r}")
    if module == "keras.layers" or (is_layer and class_name not in ALLOWED_KERAS_OBJECTS):
        if class_name not in ALLOWED_LAYERS:
            raise DigitrecError(f"{name}: refusing layer class {class_name!r} (not on the allow-list)")
    elif module == "keras" or (module, class_name) == FUNCTIONAL:
        if class_name not in ALLOWED_KERAS_OBJECTS and not (class_name in WIRING and not is_layer):
            raise DigitrecError(f"{name}: refusing object {class_name!r} (not on the allow-list)")
    elif module not in ALLOWED_OBJECT_MODULES:
        raise DigitrecError(f"{name}: refusing object {class_name!r} from module {module!r}")


def model_folder(path) -> Path:
    """The folder that holds (or is) the model at `path`."""
    path = Path(path)
    if str(path) == PRETRAINED and not path.exists():
        path = resolve_model_path(path)
    return path if path.is_dir() else path.parent


PRETRAINED = "pretrained"  # the name of the shipped model wherever a model path is asked for


def resolve_model_path(path) -> Path:
    """The model file meant by `path`: a run folder's model.keras, else its model.json, else
    model.onnx; "pretrained" (when no such file exists) is the model shipped in the package."""
    path = Path(path)
    if str(path) == PRETRAINED and not path.exists():
        from .inference import pretrained_model_path

        return pretrained_model_path()
    if path.is_dir():
        for candidate in (MODEL_FILE, LEGACY_ARCHITECTURE, ONNX_FILE):
            if (path / candidate).is_file():
                return path / candidate
        raise DigitrecError(f"{path}: no {MODEL_FILE}, {LEGACY_ARCHITECTURE} or {ONNX_FILE} in this folder")
    if not path.exists():
        raise DigitrecError(f"{path}: no such file or folder")
    if path.suffix not in (".keras", ".json", ".onnx"):
        raise DigitrecError(f"{path}: unknown model format (expected a run folder, .keras, .json or .onnx)")
    return path


def load_keras_file(path: Path):
    import keras

    import digitrec.schedules  # noqa: F401  registers OneCycle, which saved optimizers refer to

    try:
        # compile=False: digitrec only predicts and exports loaded models, and a saved optimizer
        # that never stepped (augmented runs) would only warn about its missing variables
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a bad file; the user needs one line
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DigitrecError(f"{path}: not a loadable Keras model ({reason[:200]})") from None


def load_legacy(architecture_path: Path, weights_path=None):
    """Load a model.json + model.weights.h5 pair after checking the JSON against the allow-list."""
    import keras

    import json

    config = files.read_json(architecture_path)
    check_architecture(config, architecture_path)
    if weights_path is None:
        stem = architecture_path.name.removesuffix(".json")
        weights_path = architecture_path.with_name(f"{stem}.weights.h5")
    if not Path(weights_path).is_file():
        raise DigitrecError(f"{weights_path}: no such weights file beside {architecture_path.name}")
    try:
        model = keras.models.model_from_json(json.dumps(config))
    except Exception as error:
        raise DigitrecError(f"{architecture_path}: not a Keras architecture ({str(error)[:200]})") from None
    try:
        model.load_weights(weights_path)
    except Exception as error:
        raise DigitrecError(f"{weights_path}: weights do not fit {architecture_path.name} ({str(error)[:200]})") from None
    return model


def load_model(path):
    """A Keras model from a run folder, a `.keras` file or a legacy `model.json` (+ weights)."""
    resolved = resolve_model_path(path)
    if resolved.suffix == ".onnx":
        raise DigitrecError(f"{resolved}: an ONNX model cannot be loaded into Keras; give a .keras file or run folder")
    if resolved.suffix == ".json":
        return load_legacy(resolved)
    return load_keras_file(resolved)


def load_any_model(path):
    """A model `evaluate` can run: ONNX through ONNX Runtime, everything else through Keras."""
    resolved = resolve_model_path(path)
    if resolved.suffix == ".onnx":
        from .inference import OnnxModel

        return OnnxModel(resolved)
    return load_model(resolved)


def refuse_to_replace(paths, overwrite, source=None):
    """A one-line error before any work when an export would replace a file without `overwrite`,
    write through a symbolic link, or replace one of the files the model at `source` is read from
    (whatever `overwrite` says)."""
    from .files import refuse_unsafe_output

    inputs = []
    if source is not None:
        model_file = resolve_model_path(source)  # the file the model is read from, and its weights
        inputs = [model_file, model_file.with_name(LEGACY_WEIGHTS)] if model_file.name == LEGACY_ARCHITECTURE else [model_file]
    for path in paths:
        refuse_unsafe_output(path, inputs, "--out")
    existing = [str(path) for path in paths if Path(path).exists()]
    if existing and not overwrite:
        raise DigitrecError(f"{existing[0]}: already exists; pass --overwrite to replace it")


def export_legacy(path, out_dir=None, overwrite=False) -> Path:
    """Write the tutorials' `model.json` + `model.weights.h5` for the model at `path`."""
    import json

    out_dir = Path(out_dir) if out_dir is not None else model_folder(path)
    refuse_to_replace([out_dir / LEGACY_ARCHITECTURE, out_dir / LEGACY_WEIGHTS], overwrite, source=path)
    model = load_model(path)
    architecture = json.loads(model.to_json())
    # the tutorials' JSON is the architecture alone; a compiled optimizer (with digitrec's
    # schedule) would only make plain Keras trip over a class it does not know
    architecture.pop("compile_config", None)
    files.write_text(out_dir / LEGACY_ARCHITECTURE, json.dumps(architecture, indent=2))
    with files.atomic_path(out_dir / LEGACY_WEIGHTS, suffix=".weights.h5") as temporary:
        model.save_weights(temporary)
    return out_dir
