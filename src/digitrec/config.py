"""The resolved settings of each job, saved beside everything it produces."""

import dataclasses
from typing import Optional

from .errors import DigitrecError
from .inference import DEFAULT_THRESHOLD
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


@dataclasses.dataclass(frozen=True)
class ServeConfig:
    """How `digitrec serve` runs; every field is a command-line flag."""

    model: Optional[str] = None  # .onnx file or run folder; None: the model shipped in the package
    host: str = "127.0.0.1"  # loopback only unless asked: this is a demo server, not a hardened one
    port: int = 8000
    max_body_bytes: int = 4 * 1024 * 1024  # a phone photo fits; larger bodies get 413
    max_in_flight: int = 32  # predictions computing or queued at once; more get 503 at once
    threshold: float = DEFAULT_THRESHOLD  # below this confidence an answer is "uncertain"
    header_timeout: float = 10.0  # seconds for a request's headers to arrive, else 408
    body_timeout: float = 30.0  # seconds for a prediction's body to arrive, else 408 (no slot held meanwhile)
    max_header_bytes: int = 64 * 1024  # larger request headers get 431
    max_connections: int = 1000  # connections open at once per process; more get 503
    max_client_connections: Optional[int] = None  # of those, from one client address (None: `client_share`)
    max_decoded_bytes: int = 256 * 2**20  # pictures' decoded bytes being read at once per process; more get 503
