"""Named model factories: the tutorials' CNNs, exactly, and two of our own.

Each factory returns a `keras.Sequential` that starts with `keras.Input((28, 28, 1))` and ends in
a 10-way softmax. Each registry entry carries where it comes from and its default recipe (the
training settings the tutorial used). `create_model("fast")` builds one; the CLI's `--model` and
the tests both read `MODELS`, so a new model is one function and one `register` call.
"""

import dataclasses
import math
from typing import Callable, Optional

from .errors import DigitrecError

INPUT_SHAPE = (28, 28, 1)  # (height, width, channels), float32 in [0, 1]
NUM_CLASSES = 10


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """Random affine (and, when elastic_alpha > 0, elastic) distortions applied to training images only."""

    rotation_degrees: float = 10.0  # max rotation either way (codeastar: 10)
    zoom: float = 0.1  # max zoom in/out as a fraction of the size (codeastar: 0.1)
    shift: float = 0.1  # max width/height shift as a fraction of the size (codeastar: 0.1)
    stroke_width: bool = False  # also thicken or thin strokes by ~1 px at random (pens differ)
    elastic_alpha: float = 0.0  # elastic distortion's strength, Simard et al. (2003): 0 = none
    elastic_sigma: float = 4.0  # its smoothness: the Gaussian (px) that smooths the random field

    def __post_init__(self):
        if not (math.isfinite(self.elastic_alpha) and 0 <= self.elastic_alpha <= 100):
            raise DigitrecError(f"--elastic must be a strength from 0 (none) to 100, got {self.elastic_alpha:g}")
        if not (math.isfinite(self.elastic_sigma) and 1 <= self.elastic_sigma <= 10):
            raise DigitrecError(f"elastic_sigma must be from 1 to 10 px, got {self.elastic_sigma:g}")


# The one map of optimizer names: the Keras class and the settings it is built with. Keras 2's
# Adadelta defaults, which the tutorial relied on: Keras 3 changed them and it stalls.
OPTIMIZERS = {
    "adadelta": ("Adadelta", {"rho": 0.95, "epsilon": 1e-7}),
    "rmsprop": ("RMSprop", {}),
    "adam": ("Adam", {}),
}
SCHEDULES = {
    "constant": "the learning rate stays as set",
    "one_cycle": "warm up to the learning rate, then anneal (schedules.OneCycle)",
    "reduce_on_plateau": "divide the rate by 3.3 after 3 epochs without better validation accuracy",
}
VALIDATIONS = ("test", "split", "none")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a model is trained: the registry gives each model its default, and a run's TrainConfig
    holds one (with any overrides applied by `dataclasses.replace`). The one definition of these
    settings; checked here, whoever makes one."""

    optimizer: str  # a key of OPTIMIZERS
    learning_rate: float  # peak learning rate for "one_cycle"
    batch_size: int
    epochs: int
    steps_per_epoch: Optional[int] = None  # None: one pass over the training images per epoch
    schedule: str = "constant"  # a key of SCHEDULES
    augmentation: Optional[Augmentation] = None
    validation: str = "test"  # "test" (as seeds 000/001 do), "split" (hold out part of train) or "none" (train on all of it)
    validation_fraction: float = 0.0  # with "split": the held-out fraction
    validation_seed: int = 0  # with "split": scikit-learn's random_state for the split
    beta_1: Optional[float] = None  # Adam's first-moment decay; None: Keras's default (0.9)
    label_smoothing: float = 0.0  # categorical cross-entropy's label smoothing
    ema_momentum: Optional[float] = None  # keep an exponential moving average of the weights (the saved model)
    weight_decay: Optional[float] = None  # decoupled (AdamW's): each step w -= lr * weight_decay * w; not batch norm or biases
    test_shifts: bool = False  # save the network reading each image at five positions, the mean of its answers (ensemble.SHIFTS)

    def __post_init__(self):
        for name in ("batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise DigitrecError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise DigitrecError(f"--steps-per-epoch must be at least 1, got {self.steps_per_epoch}")
        if not self.learning_rate > 0:
            raise DigitrecError(f"--learning-rate must be positive, got {self.learning_rate}")
        if self.beta_1 is not None and (self.optimizer != "adam" or not 0 <= self.beta_1 < 1):
            raise DigitrecError(f"beta_1 {self.beta_1} needs the adam optimizer and a value in [0, 1)")
        if self.ema_momentum is not None and not 0 < self.ema_momentum < 1:
            raise DigitrecError(f"--ema must be a momentum in (0, 1), got {self.ema_momentum:g}")
        if self.weight_decay is not None and not 0 < self.weight_decay < 1:
            raise DigitrecError(f"--weight-decay must be in (0, 1), got {self.weight_decay:g}")
        if self.validation == "split" and not 0 < self.validation_fraction < 1:
            raise DigitrecError(f"--validation-split must be a fraction between 0 and 1, got {self.validation_fraction:g}")
        if self.validation == "none" and self.schedule == "reduce_on_plateau":
            raise DigitrecError("the reduce_on_plateau schedule watches validation accuracy; it cannot train without validation")
        if not 0 <= self.label_smoothing < 1:
            raise DigitrecError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        for name, known in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("validation", VALIDATIONS)):
            if getattr(self, name) not in known:
                raise DigitrecError(f"unknown {name} {getattr(self, name)!r} (known: {', '.join(known)})")

    def describe(self) -> str:
        parts = [f"{self.optimizer} lr={self.learning_rate:g}" + (f" beta_1={self.beta_1:g}" if self.beta_1 is not None else ""),
                 f"batch {self.batch_size}", f"{self.epochs} epoch" + ("s" if self.epochs != 1 else "")]
        if self.steps_per_epoch:
            parts[-1] += f" x {self.steps_per_epoch} steps"
        if self.schedule != "constant":
            parts.append(self.schedule.replace("_", "-"))
        if self.label_smoothing:
            parts.append(f"label smoothing {self.label_smoothing:g}")
        if self.weight_decay:
            parts.append(f"weight decay {self.weight_decay:g}")
        if self.ema_momentum:
            parts.append(f"weights EMA {self.ema_momentum:g}")
        if self.test_shifts:
            parts.append("test-time shifts")
        if self.augmentation:
            a = self.augmentation
            parts.append(f"augment rot {a.rotation_degrees:g} zoom {a.zoom:g} shift {a.shift:g}" + (" stroke" if a.stroke_width else "")
                         + (f" elastic {a.elastic_alpha:g}/{a.elastic_sigma:g}" if a.elastic_alpha else ""))
        if self.validation == "split":
            parts.append(f"val {self.validation_fraction:.0%} split seed {self.validation_seed}")
        elif self.validation == "none":
            parts.append("no validation (every training image)")
        else:
            parts.append("val on test")
        return ", ".join(parts)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    name: str
    factory: Callable
    source: str  # where the architecture and recipe come from
    recipe: Recipe
    parameters: int  # weights in the model (a test checks it against Keras): `digitrec models` needs no Keras


MODELS: dict = {}


def register(name, source, recipe, parameters):
    def decorator(factory):
        MODELS[name] = ModelSpec(name=name, factory=factory, source=source, recipe=recipe, parameters=parameters)
        return factory

    return decorator


def get_spec(name) -> ModelSpec:
    if name not in MODELS:
        raise DigitrecError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    return MODELS[name]


def create_model(name):
    """Build the named registry model (uncompiled, freshly initialised)."""
    return get_spec(name).factory()


def count_parameters(model) -> int:
    return int(sum(math.prod(weight.shape) for weight in model.weights))


# ---------------------------------------------------------------------------------------------
# The tutorials
# ---------------------------------------------------------------------------------------------


@register(
    "keras_mnist_cnn",
    source="seeds 000/001: the Keras examples' mnist_cnn.py",
    recipe=Recipe(optimizer="adadelta", learning_rate=1.0, batch_size=128, epochs=12),
    parameters=1_199_882,
)
def keras_mnist_cnn():
    """Conv 32 -> Conv 64 -> MaxPool -> Dropout 0.25 -> Dense 128 -> Dropout 0.5; 1,199,882 params."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="keras_mnist_cnn",
    )


@register(
    "codeastar_cnn",
    source="seed 003: codeastar's Kaggle Digit Recognizer CNN (0.99471 on Kaggle)",
    recipe=Recipe(
        optimizer="rmsprop",
        learning_rate=0.001,
        batch_size=64,
        epochs=30,
        steps_per_epoch=640,
        schedule="reduce_on_plateau",
        augmentation=Augmentation(rotation_degrees=10, zoom=0.1, shift=0.1),
        validation="split",
        validation_fraction=0.08,
        validation_seed=7,
    ),
    parameters=203_933,
)
def codeastar_cnn():
    """Conv 30 5x5 -> MaxPool -> Conv 15 3x3 -> Dropout 0.2 -> Dense 128 -> Dense 50; 203,933 params."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            layers.Conv2D(30, kernel_size=(5, 5), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(15, kernel_size=(3, 3), activation="relu"),
            layers.Dropout(0.2),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(50, activation="relu"),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="codeastar_cnn",
    )


def three_block_cnn(name, padding):
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            layers.Conv2D(25, kernel_size=(3, 3), activation="relu", padding=padding),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu", padding=padding),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu", padding=padding),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name=name,
    )


@register(
    "seed004_cnn",
    source="seed 004: three conv/pool blocks tutorial, as written (Keras's default valid padding)",
    recipe=Recipe(optimizer="adam", learning_rate=0.001, batch_size=32, epochs=10),
    parameters=56_452,
)
def seed004_cnn():
    """Conv 25 -> Pool -> Conv 64 -> Pool -> Conv 64 -> Pool -> Dense 64: the tutorial's network.

    The tutorial names the layers, widths, relu and 10 epochs, and leaves the rest to Keras's
    defaults: Adam at 0.001, fit()'s batch size of 32 and "valid" padding. The maps shrink
    26-13-11-5-3-1, so the last pool leaves a 1x1x64 vector: 56,452 parameters, and about
    98.5-98.7 % on the test set, which is what the tutorial's own network reaches.
    """
    return three_block_cnn("seed004_cnn", "valid")


@register(
    "seed004_cnn_same",
    source="seed 004's network with \"same\" padding (ours: the tutorial does not pad)",
    recipe=Recipe(optimizer="adam", learning_rate=0.001, batch_size=32, epochs=10),
    parameters=89_220,
)
def seed004_cnn_same():
    """seed004_cnn with "same" padding: maps 28-14-14-7-7-3, a 3x3x64 map into the dense layer,
    89,220 parameters; the same recipe reached 99.10 % and 99.29 % (seeds 0 and 1)."""
    return three_block_cnn("seed004_cnn_same", "same")


@register(
    "seed002_cnn",
    source="seed 002: two-conv tutorial (widths partly our choice)",
    recipe=Recipe(optimizer="adam", learning_rate=0.001, batch_size=128, epochs=10),
    parameters=1_207_498,
)
def seed002_cnn():
    """Conv 32 -> Conv 64 -> MaxPool (12x12x64) -> Dropout 0.25 -> Flatten (9216) -> Dense 128 -> Dense 64.

    The tutorial fixes the shapes (12x12x64 after pooling, 9216 after flattening, so two 3x3
    convs, the second with 64 filters) but not every width: we chose 32 filters for the first
    conv, Dropout 0.25, and dense widths 128 and 64, which gives 1,199,882 - 1,290 + 8,906 =
    1,207,498 parameters. Adam at 0.001 with batch 128 is our choice of optimizer.
    """
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(64, activation="relu"),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="seed002_cnn",
    )


# ---------------------------------------------------------------------------------------------
# Our own
# ---------------------------------------------------------------------------------------------

# Keras's default BatchNormalization momentum (0.99) leaves the moving statistics unsettled after
# one short epoch (measured: 85 % test accuracy at batch 256); 0.9 settles within ~100 steps.
BATCH_NORM_MOMENTUM = 0.9


def conv_bn_relu(filters, kernel, strides=1, padding="valid"):
    """Conv2D without bias (batch norm has its own shift) -> BatchNormalization -> relu."""
    from keras import layers

    return [
        layers.Conv2D(filters, kernel_size=kernel, strides=strides, padding=padding, use_bias=False),
        layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM),
        layers.Activation("relu"),
    ]


# Our recipes hold out 8 % of the training images (the Kaggle tutorial's fraction) to validate on:
# nothing in them is chosen or stopped on the test set, which only measures the finished model.
OUR_SPLIT = dict(validation="split", validation_fraction=0.08, validation_seed=0)


@register(
    "fast",
    source="digitrec: least wall time to 99 % (batch norm, one-cycle, one epoch)",
    recipe=Recipe(optimizer="adam", learning_rate=0.015, beta_1=0.8, batch_size=256, epochs=1, schedule="one_cycle",
                  label_smoothing=0.1, **OUR_SPLIT),
    parameters=81_498,
)
def fast():
    """Conv 16 5x5 -> BN -> Pool -> Conv 32 3x3 -> BN -> Conv 32 3x3 -> BN -> Pool -> Dense 128; 81,498 params.

    One epoch of 216 steps of 256 images. Chosen by a sweep on this 2-core CPU, seeds 0-2, trained
    on 55,200 images: the two-conv net of the first version landed at 98.87-98.92 % after one
    epoch whatever the batch, peak rate, beta_1 or label smoothing; a second 3x3 conv of 32
    filters (few FLOPs at 10x10) with peak 0.015, Adam beta_1 0.8 and label smoothing 0.1
    reached 99.05-99.22 %. With this recipe `digitrec train --model fast` gave 99.15, 99.12 and
    99.03 % (seeds 0, 1, 2) in 7-8 s of training (`benchmarks/fast_training.py`).
    """
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            *conv_bn_relu(16, 5),  # 24x24
            layers.MaxPooling2D(pool_size=(2, 2)),  # 12x12
            *conv_bn_relu(32, 3),  # 10x10
            *conv_bn_relu(32, 3),  # 8x8
            layers.MaxPooling2D(pool_size=(2, 2)),  # 4x4
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="fast",
    )


@register(
    "best",
    source="digitrec: highest accuracy (strided convs, batch norm, augmentation, longer one-cycle)",
    recipe=Recipe(
        optimizer="adam",
        learning_rate=0.003,
        batch_size=128,
        epochs=20,
        schedule="one_cycle",
        augmentation=Augmentation(rotation_degrees=10, zoom=0.1, shift=0.1),
        test_shifts=True,
        **OUR_SPLIT,
    ),
    parameters=326_826,
)
def best():
    """32C3-32C3-32C5S2 - 64C3-64C3-64C5S2 - 128C4, batch norm after every conv, Dropout 0.4.

    After Chris Deotte's Kaggle study of MNIST architectures (batch norm before relu here): strided
    5x5 convolutions instead of max pooling, and a 4x4 convolution that reads the whole 4x4 map
    into 128 features; 326,826 params. With the recipe above (augmentation in one resampling,
    `training.RandomAffine`; 8 % held out) the network alone reached 99.68, 99.68 and 99.70 %
    (seeds 0, 1, 2), 99.75 % as an ensemble of the three; saved with test-time shifts (adopted on
    the held-out rows of 18 `best` runs: 11 more right in all, lower loss), 99.70, 99.69 and
    99.71 %. With Keras 3's three augmentation layers, which blur each image three times, it had
    reached 99.57-99.62 % over seeds 0-4 (mean 99.60 %).
    Tried and not adopted, judged on the 8 % held out (last-epoch validation accuracy, then loss;
    the README's "What was tried to lift `best`" has each with its command and figures): a 0.999
    weights EMA, rotation 15 with zoom and shift 0.15, 30 epochs, label smoothing 0.1, dropout
    0.25, 40-80-160 filters, batch 64, weight decay 0.05 (as many held-out images right over
    seeds 0-2, 14,362 of 14,400, with a higher loss) and elastic distortion (alpha 34, sigma 4 or
    6 px: 99.48 and 99.77 % held out on seed 0, against 99.79 %). Fitted on all 60,000 images
    (`--validation-split 0`), seeds 0-2 gave 99.62, 99.68 and 99.70 %.
    The two-block net `robust` keeps reached 99.55-99.62 % with this recipe, too close to 99.6 %.
    """
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            *conv_bn_relu(32, 3),  # 26x26
            *conv_bn_relu(32, 3),  # 24x24
            *conv_bn_relu(32, 5, strides=2, padding="same"),  # 12x12
            layers.Dropout(0.4),
            *conv_bn_relu(64, 3),  # 10x10
            *conv_bn_relu(64, 3),  # 8x8
            *conv_bn_relu(64, 5, strides=2, padding="same"),  # 4x4
            layers.Dropout(0.4),
            *conv_bn_relu(128, 4),  # 1x1
            layers.Flatten(),
            layers.Dropout(0.4),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="best",
    )


@register(
    "robust",
    source="digitrec: the shipped model (two batch-norm conv blocks, augmented for real drawings)",
    recipe=Recipe(
        optimizer="adam",
        learning_rate=0.003,
        batch_size=128,
        epochs=15,
        schedule="one_cycle",
        augmentation=Augmentation(rotation_degrees=15, zoom=0.15, shift=0.1, stroke_width=True),
        **OUR_SPLIT,
    ),
    parameters=468_778,
)
def robust():
    """Two blocks of two 3x3 convs (32, 64) with batch norm, Dense 128, Dropout 0.4; 468,778 params.

    Its recipe has stronger rotation/zoom than codeastar's and random stroke width, because real
    drawings vary more than MNIST even after `imaging` normalises them.
    """
    import keras
    from keras import layers

    def conv_block(filters):
        return [
            *conv_bn_relu(filters, 3, padding="same"),
            *conv_bn_relu(filters, 3, padding="same"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Dropout(0.2),
        ]

    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            *conv_block(32),
            *conv_block(64),
            layers.Flatten(),
            layers.Dense(128, use_bias=False),
            layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM),
            layers.Activation("relu"),
            layers.Dropout(0.4),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="robust",
    )
