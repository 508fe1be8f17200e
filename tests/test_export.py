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


def test_export_never_destroys_its_input_or_writes_through_a_link(run_copy, tmp_path, capsys):
    import os

    from digitrec.cli import main

    model_file = run_copy / "model.keras"
    original = model_file.read_bytes()
    assert main(["export", str(model_file), "--out", str(run_copy), "--overwrite", "--format", "legacy"]) == 0  # beside it: fine
    capsys.readouterr()
    # the legacy pair read back as the model, its own files named as the output: refused whatever the flags
    assert main(["export", str(run_copy / "model.json"), "--out", str(run_copy), "--format", "legacy", "--overwrite"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{run_copy / 'model.json'}: is one of the inputs" in err[0]
    link_folder = tmp_path / "linked"
    link_folder.mkdir()
    os.symlink(tmp_path / "elsewhere.onnx", link_folder / "model.onnx")
    assert main(["export", str(run_copy), "--out", str(link_folder), "--format", "onnx"]) == 1
    assert capsys.readouterr().err.strip() == (f"digitrec: error: {link_folder / 'model.onnx'}: is a symbolic link; digitrec does not "
                                                "write through links (name a file or folder that is not one as --out)")
    assert not (tmp_path / "elsewhere.onnx").exists() and model_file.read_bytes() == original


def test_export_to_a_read_only_file_system_is_one_line(run_copy, tmp_path):
    import subprocess
    import sys

    from test_batch import mounted_tmpfs

    disk = mounted_tmpfs(tmp_path / "disk", "size=1m,ro")
    try:
        result = subprocess.run([sys.executable, "-m", "digitrec", "export", str(run_copy), "--out", str(disk), "--format", "onnx"],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert lines == [f"digitrec: error: {disk / 'model.onnx'}: cannot write (read-only file system); nothing was replaced"]
        assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)])
