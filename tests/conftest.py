"""Shared fixtures: real MNIST from $DIGITREC_DATA_DIR (or ../shared/data/mnist), small slices of
it, and one small model trained once per session."""

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def find_mnist_dir():
    candidates = [os.environ.get("DIGITREC_DATA_DIR"), PROJECT_ROOT.parent / "shared" / "data" / "mnist"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "t10k-labels-idx1-ubyte.gz").is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def mnist_dir():
    folder = find_mnist_dir()
    if folder is None:
        message = "MNIST not found: set DIGITREC_DATA_DIR to a folder holding the four .gz files"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must never pass by skipping every test that reads data
        pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def hwd_dir():
    """hwd-1000: 1,000 digits drawn by a person (../shared/data/hwd-1000, never copied here)."""
    folder = Path(os.environ.get("DIGITREC_HWD_DIR", PROJECT_ROOT.parent / "shared" / "data" / "hwd-1000"))
    if not (folder / "dataset.csv").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"hwd-1000 not found in {folder}: set DIGITREC_HWD_DIR")
        pytest.skip(f"hwd-1000 not found in {folder}")
    return folder


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    from digitrec.data import load_mnist

    return load_mnist(mnist_dir)


@pytest.fixture(scope="session")
def small_mnist(mnist):
    """3,000 training and 500 test images of real MNIST: enough to learn, fast to train."""
    (x_train, y_train), (x_test, y_test) = mnist
    return (x_train[:3000], y_train[:3000]), (x_test[:500], y_test[:500])


@pytest.fixture(scope="session")
def trained_run(small_mnist, tmp_path_factory):
    """The `fast` model trained for one epoch on the small slice and saved as a run folder."""
    from digitrec.config import TrainConfig
    from digitrec.training import train

    config = TrainConfig.from_recipe("fast", epochs=2, batch_size=64, learning_rate=0.01)
    out_dir = tmp_path_factory.mktemp("runs") / "fast"
    return train(config, mnist=small_mnist, out_dir=out_dir)


@pytest.fixture
def isolated_env(monkeypatch, tmp_path):
    """No data folder or cache from the developer's machine leaks into the test."""
    monkeypatch.delenv("DIGITREC_DATA_DIR", raising=False)
    monkeypatch.setenv("DIGITREC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DIGITREC_MNIST_MIRRORS", raising=False)
    return tmp_path


def write_idx(path, array, type_code=0x08, magic=None):
    """Write `array` as an IDX file (gzip if the name ends in .gz); `magic` overrides the header."""
    import gzip
    import struct

    array = np.asarray(array)
    header = magic if magic is not None else bytes([0, 0, type_code, array.ndim])
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    content = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)
    return path


@pytest.fixture
def run_copy(trained_run, tmp_path):
    """A private copy of the trained run folder, for tests that write into it."""
    import shutil

    return Path(shutil.copytree(trained_run.run_dir, tmp_path / "run-copy"))


def cli_in_fresh_python(argv, timeout=300):
    """Run `digitrec ARGV` in a new interpreter; (exit code, heavy frameworks it imported, and
    matplotlib.pyplot, pandas and sklearn if it did, stdout)."""
    import json
    import subprocess
    import sys

    script = (
        "import sys, json\n"
        "from digitrec.cli import main\n"
        f"code = main({list(map(str, argv))!r})\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'jax', 'torch', 'ray') or m in ('matplotlib.pyplot', 'pandas', 'sklearn'))\n"
        "print(json.dumps({'code': code, 'heavy': heavy}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report["code"], report["heavy"], result.stdout
