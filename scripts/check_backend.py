"""Check that digitrec's Keras code runs on another backend (it uses keras.ops only, no tf.*).

    KERAS_BACKEND=torch python scripts/check_backend.py   # in an environment with torch + keras

Trains three registry models briefly on real MNIST (one plain, one with codeastar's augmentation,
fixed steps and split, one with the stroke-width augmentation), then checks that the .keras file,
the legacy JSON + HDF5 pair and the ONNX export all predict what the model in memory predicts.
"""

import os
import sys
import tempfile

import keras
import numpy as np
import onnxruntime

from digitrec import saving
from digitrec.config import TrainConfig
from digitrec.data import load_mnist
from digitrec.export import keras_to_onnx
from digitrec.training import train


def main():
    print(f"backend: {keras.backend.backend()}")
    (x_train, y_train), (x_test, y_test) = load_mnist()
    small = ((x_train[:3000], y_train[:3000]), (x_test[:500], y_test[:500]))
    x = x_test[:50].astype("float32")[..., None] / 255
    out = tempfile.mkdtemp()
    worst = 0.0
    for name, overrides in [
        ("fast", dict(epochs=2, batch_size=64, learning_rate=0.01)),
        ("codeastar_cnn", dict(epochs=1, steps_per_epoch=20, limit=1000)),
        ("robust", dict(epochs=1, limit=1000)),
    ]:
        result = train(TrainConfig.from_recipe(name, **overrides), mnist=small, out_dir=os.path.join(out, name))
        expected = np.asarray(result.model.predict(x, verbose=0))
        reloaded = np.asarray(saving.load_model(result.run_dir).predict(x, verbose=0))
        saving.export_legacy(result.run_dir, os.path.join(out, name + "-legacy"))
        legacy = np.asarray(saving.load_model(os.path.join(out, name + "-legacy")).predict(x, verbose=0))
        session = onnxruntime.InferenceSession(keras_to_onnx(result.model).SerializeToString())
        exported = session.run(None, {"image": x})[0]
        differences = [float(np.abs(a - expected).max()) for a in (reloaded, legacy, exported)]
        worst = max(worst, *differences)
        print(f"{name}: test accuracy {result.metrics['test_accuracy']:.3f} on 500 images; max difference "
              f".keras {differences[0]:.1e}, legacy {differences[1]:.1e}, onnx {differences[2]:.1e}")
    sys.exit(0 if worst < 1e-5 else 1)


if __name__ == "__main__":
    main()
