"""The resolved settings of each job, saved beside everything it produces."""

import dataclasses
from typing import Optional

from .errors import DigitrecError
from .models import Augmentation, get_spec


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that decides how a model is trained; written to config.json in every run."""

    model: str  # registry name, see `digitrec models`
    optimizer: str  # "adadelta", "rmsprop" or "adam"
    learning_rate: float  # peak learning rate when schedule is "one_cycle"
    batch_size: int  # images per gradient step
    epochs: int
    steps_per_epoch: Optional[int]  # None: one full pass over the training images per epoch
    schedule: str  # "constant", "one_cycle" or "reduce_on_plateau"
    augmentation: Optional[Augmentation]  # None: no augmentation
    validation: str  # "test": validate on the test set (seed 000/001); "split": hold out training rows
    validation_fraction: float  # with "split"
    validation_seed: int  # with "split": scikit-learn's random_state for the split
    seed: int = 0  # seeds weight init, shuffling and augmentation (keras.utils.set_random_seed)
    limit: Optional[int] = None  # train on the first N training images only (smoke runs)
    data: Optional[str] = None  # a Kaggle train.csv (label,pixel0..783) to train on instead of MNIST

    def __post_init__(self):
        for name in ("batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise DigitrecError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise DigitrecError(f"--steps-per-epoch must be at least 1, got {self.steps_per_epoch}")
        if not self.learning_rate > 0:
            raise DigitrecError(f"--learning-rate must be positive, got {self.learning_rate}")
        if self.limit is not None and self.limit < 1:
            raise DigitrecError(f"--limit must be at least 1, got {self.limit}")
        if self.optimizer not in ("adadelta", "rmsprop", "adam"):
            raise DigitrecError(f"unknown optimizer {self.optimizer!r}")
        if self.schedule not in ("constant", "one_cycle", "reduce_on_plateau"):
            raise DigitrecError(f"unknown schedule {self.schedule!r}")
        if self.validation not in ("test", "split"):
            raise DigitrecError(f"unknown validation {self.validation!r}")

    @classmethod
    def from_recipe(cls, model, **overrides):
        """The model's default recipe with any non-None `overrides` applied."""
        recipe = dataclasses.asdict(get_spec(model).recipe)
        recipe["augmentation"] = get_spec(model).recipe.augmentation
        recipe.update({key: value for key, value in overrides.items() if value is not None})
        return cls(model=model, **recipe)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict):
        values = dict(values)
        if values.get("augmentation") is not None:
            values["augmentation"] = Augmentation(**values["augmentation"])
        return cls(**values)
