"""digitrec: handwritten-digit recognition with convolutional neural networks.

The public API. Heavy libraries (Keras, TensorFlow) load only when a training, evaluation or
export function is first called, so `import digitrec` and prediction stay light.
"""

__version__ = "0.1.0"

from .data import load_mnist, one_hot, read_idx, read_kaggle_csv, scale_images  # noqa: E402
from .errors import DigitrecError  # noqa: E402
from .models import MODELS, create_model  # noqa: E402

__all__ = [
    "DigitrecError",
    "MODELS",
    "create_model",
    "evaluate",
    "load_mnist",
    "load_model",
    "one_hot",
    "read_idx",
    "read_kaggle_csv",
    "scale_images",
    "train",
    "TrainConfig",
]


def __getattr__(name):
    if name == "train":
        from .training import train

        return train
    if name == "TrainConfig":
        from .config import TrainConfig

        return TrainConfig
    if name == "evaluate":
        from .evaluation import evaluate

        return evaluate
    if name == "load_model":
        from .saving import load_model

        return load_model
    raise AttributeError(f"module 'digitrec' has no attribute {name!r}")
