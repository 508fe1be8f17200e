"""Every registered model: builds, has its parameter count, gives (N, 10) probability rows."""

import numpy as np
import pytest

from digitrec.errors import DigitrecError
from digitrec.models import MODELS, count_parameters, create_model, get_spec

# the tutorials give these; our own are pinned so a change is a decision, not an accident
EXPECTED_PARAMETERS = {
    "keras_mnist_cnn": 1_199_882,
    "codeastar_cnn": 203_933,
    "seed004_cnn": 56_452,  # the tutorial's network as written: "valid" padding, maps 26-13-11-5-3-1
    "seed004_cnn_same": 89_220,
    "seed002_cnn": 1_207_498,
    "fast": 81_498,
    "best": 326_826,
    "robust": 468_778,
}


def test_registry_lists_every_model():
    assert set(MODELS) == set(EXPECTED_PARAMETERS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_builds_with_exact_parameters_and_softmax_rows(name):
    model = create_model(name)
    assert model.name == name
    assert model.input_shape == (None, 28, 28, 1)
    assert count_parameters(model) == EXPECTED_PARAMETERS[name] == get_spec(name).parameters
    x = np.random.default_rng(0).random((7, 28, 28, 1), dtype=np.float32)
    probabilities = np.asarray(model(x, training=False))
    assert probabilities.shape == (7, 10)
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_has_a_source_and_recipe(name):
    spec = get_spec(name)
    assert spec.source and spec.recipe.epochs >= 1 and spec.recipe.batch_size >= 1
    assert spec.recipe.describe().startswith(f"{spec.recipe.optimizer} lr={spec.recipe.learning_rate:g}")
    assert f", batch {spec.recipe.batch_size}, " in spec.recipe.describe()


def test_recipe_descriptions_say_everything():
    assert get_spec("codeastar_cnn").recipe.describe() == (
        "rmsprop lr=0.001, batch 64, 30 epochs x 640 steps, reduce-on-plateau, augment rot 10 zoom 0.1 shift 0.1, val 8% split seed 7")
    assert get_spec("keras_mnist_cnn").recipe.describe() == "adadelta lr=1, batch 128, 12 epochs, val on test"
    assert get_spec("fast").recipe.describe() == (
        "adam lr=0.015 beta_1=0.8, batch 256, 1 epoch, one-cycle, label smoothing 0.1, val 8% split seed 0")


@pytest.mark.parametrize("name", ["fast", "best", "robust"])
def test_our_recipes_never_validate_on_the_test_set(name):
    recipe = get_spec(name).recipe
    assert (recipe.validation, recipe.validation_fraction) == ("split", 0.08)


def test_recipe_refuses_settings_that_do_not_fit():
    from digitrec.models import Recipe

    with pytest.raises(DigitrecError, match="beta_1 0.9 needs the adam optimizer"):
        Recipe(optimizer="rmsprop", learning_rate=0.001, batch_size=32, epochs=1, beta_1=0.9)
    with pytest.raises(DigitrecError, match="label_smoothing must be in"):
        Recipe(optimizer="adam", learning_rate=0.001, batch_size=32, epochs=1, label_smoothing=1.5)


def test_tutorial_recipes_are_the_tutorials():
    keras_cnn = get_spec("keras_mnist_cnn").recipe
    assert (keras_cnn.optimizer, keras_cnn.learning_rate, keras_cnn.batch_size, keras_cnn.epochs) == ("adadelta", 1.0, 128, 12)
    codeastar = get_spec("codeastar_cnn").recipe
    assert (codeastar.batch_size, codeastar.epochs, codeastar.steps_per_epoch) == (64, 30, 640)
    assert (codeastar.validation_fraction, codeastar.validation_seed) == (0.08, 7)
    assert codeastar.augmentation.rotation_degrees == 10 and codeastar.augmentation.zoom == 0.1


def test_unknown_model_is_named():
    with pytest.raises(DigitrecError, match=r"unknown model 'lenet'; choose one of: keras_mnist_cnn, "):
        create_model("lenet")
