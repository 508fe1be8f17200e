"""ONNX export: every registry model, and a trained one, match Keras within 1e-5."""

import numpy as np
import onnxruntime
import pytest

from digitrec.errors import DigitrecError
from digitrec.export import export_onnx, keras_to_onnx
from digitrec.models import MODELS, create_model


def randomise_batch_norm(model, rng):
    """Fresh models have mean 0 / variance 1; random statistics make the check meaningful."""
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            layer.moving_mean.assign(rng.normal(0, 0.5, layer.moving_mean.shape).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape).astype("float32"))
            layer.gamma.assign(rng.uniform(0.5, 1.5, layer.gamma.shape).astype("float32"))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_registry_model_exports_exactly(name):
    rng = np.random.default_rng(0)
    model = create_model(name)
    randomise_batch_norm(model, rng)
    session = onnxruntime.InferenceSession(keras_to_onnx(model).SerializeToString())
    for batch in (1, 5):  # the batch dimension is dynamic
        x = rng.random((batch, 28, 28, 1), dtype=np.float32)
        expected = np.asarray(model(x, training=False))
        actual = session.run(None, {"image": x})[0]
        assert actual.shape == (batch, 10)
        np.testing.assert_allclose(actual, expected, atol=1e-5)


def test_trained_model_exports_and_matches_on_real_digits(trained_run, small_mnist, tmp_path):
    path = export_onnx(trained_run.run_dir, tmp_path)
    assert path == tmp_path / "model.onnx"
    x = small_mnist[1][0][:200].astype(np.float32)[..., None] / 255.0
    session = onnxruntime.InferenceSession(str(path))
    np.testing.assert_allclose(session.run(None, {"image": x})[0], trained_run.model.predict(x, verbose=0), atol=1e-5)
    assert [i.shape for i in session.get_inputs()] == [["batch", 28, 28, 1]]


def test_unsupported_layer_is_named():
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10, activation="tanh")])
    with pytest.raises(DigitrecError, match=r"activation 'tanh' has no ONNX export here"):
        keras_to_onnx(model)
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.GaussianNoise(0.1), layers.Dense(10)])
    with pytest.raises(DigitrecError, match=r"GaussianNoise has no ONNX export here"):
        keras_to_onnx(model)
