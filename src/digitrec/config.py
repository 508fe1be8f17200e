"""The resolved settings of each job, saved beside everything it produces."""

import dataclasses
from typing import Optional

from .errors import DigitrecError
from .models import Augmentation, Recipe, get_spec

RECIPE_FIELDS = tuple(field.name for field in dataclasses.fields(Recipe))


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that decides how a model is trained: the model, its recipe (the training settings,
    defined once in `models.Recipe`) and what is particular to the run. Written to config.json in
    every run, flat: the recipe's fields beside the run's own."""

    model: str  # registry name, see `digitrec models`
    recipe: Recipe
    seed: int = 0  # seeds weight init, shuffling and augmentation (keras.utils.set_random_seed)
    limit: Optional[int] = None  # train on the first N training images only (smoke runs)
    data: Optional[str] = None  # a Kaggle train.csv (label,pixel0..783) to train on instead of MNIST

    def __post_init__(self):
        if self.limit is not None and self.limit < 1:
            raise DigitrecError(f"--limit must be at least 1, got {self.limit}")

    def __getattr__(self, name):
        # config.epochs and the like read the recipe: one definition, no copies
        if name in RECIPE_FIELDS and "recipe" in self.__dict__:
            return getattr(self.__dict__["recipe"], name)
        raise AttributeError(name)

    @classmethod
    def from_recipe(cls, model, **overrides):
        """The model's default recipe with any non-None `overrides` applied."""
        given = {key: value for key, value in overrides.items() if value is not None}
        unknown = set(given) - set(RECIPE_FIELDS) - {"seed", "limit", "data"}
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        recipe = dataclasses.replace(get_spec(model).recipe, **{key: given.pop(key) for key in list(given) if key in RECIPE_FIELDS})
        return cls(model=model, recipe=recipe, **given)

    def to_dict(self) -> dict:
        return {"model": self.model, **dataclasses.asdict(self.recipe), "seed": self.seed, "limit": self.limit, "data": self.data}

    @classmethod
    def from_dict(cls, values: dict):
        values = dict(values)
        if values.get("augmentation") is not None:
            values["augmentation"] = Augmentation(**values["augmentation"])
        recipe = Recipe(**{key: values.pop(key) for key in RECIPE_FIELDS if key in values})
        return cls(recipe=recipe, **values)
