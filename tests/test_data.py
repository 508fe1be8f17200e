import gzip
import os
import struct

import numpy as np
import pytest

from conftest import write_idx
from digitrec import data
from digitrec.errors import DigitrecError


# --- load_mnist on the real files ---------------------------------------------------------------


def test_load_mnist_matches_keras_layout(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert set(np.unique(y_train)) == set(range(10))
    # the well-known first labels of both splits
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert y_test[:5].tolist() == [7, 2, 1, 0, 4]


def test_checksums_are_the_canonical_ones(mnist_dir):
    assert data.mnist_checksums(mnist_dir) == data.MNIST_FILES


def test_resolution_order_explicit_then_env_then_cache(mnist_dir, isolated_env, monkeypatch, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert data.resolve_mnist_dir(mnist_dir) == mnist_dir
    monkeypatch.setenv("DIGITREC_DATA_DIR", str(mnist_dir))
    assert data.resolve_mnist_dir() == mnist_dir
    # an explicit path wins over the environment
    with pytest.raises(DigitrecError, match=r"empty: data folder has no train-images-idx3-ubyte"):
        data.resolve_mnist_dir(empty)
    monkeypatch.delenv("DIGITREC_DATA_DIR")
    cache = data.default_cache_dir()
    cache.mkdir(parents=True)
    for stem in data.MNIST_FILES:
        os.symlink(mnist_dir / f"{stem}.gz", cache / f"{stem}.gz")
    assert data.resolve_mnist_dir() == cache


def test_env_folder_that_is_missing_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITREC_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DigitrecError, match=r"nowhere: \$DIGITREC_DATA_DIR is not a folder"):
        data.load_mnist()


def test_raw_uncompressed_files_load_too(mnist_dir, tmp_path):
    for stem in data.MNIST_FILES:
        (tmp_path / stem).write_bytes(gzip.decompress((mnist_dir / f"{stem}.gz").read_bytes()))
    (_, y_train), (x_test, _) = data.load_mnist(tmp_path)
    assert len(y_train) == 60000 and x_test.shape == (10000, 28, 28)


# --- IDX reader: every bad input has its message ------------------------------------------------


def make_mnist_folder(folder, train_images, train_labels, test_images=None, test_labels=None):
    test_images = train_images if test_images is None else test_images
    test_labels = train_labels if test_labels is None else test_labels
    write_idx(folder / "train-images-idx3-ubyte.gz", train_images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", train_labels)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", test_images)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", test_labels)
    return folder


def test_idx_roundtrip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.int32).reshape(2, 3, 4)
    assert np.array_equal(data.read_idx(write_idx(tmp_path / "a.idx", array, type_code=0x0C)), array)
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    assert np.array_equal(data.read_idx(write_idx(tmp_path / "b.gz", images)), images)


def test_truncated_gzip(mnist_dir, tmp_path):
    truncated = tmp_path / "t10k-labels-idx1-ubyte.gz"
    truncated.write_bytes((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()[:2000])
    with pytest.raises(DigitrecError, match=r"t10k-labels-idx1-ubyte.gz: truncated gzip file"):
        data.read_idx(truncated)


def test_corrupt_gzip(tmp_path):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(b"\x1f\x8b" + b"\x00" * 40)
    with pytest.raises(DigitrecError, match=r"bad.gz: corrupt gzip file"):
        data.read_idx(bad)


def test_wrong_magic(tmp_path):
    path = write_idx(tmp_path / "x.idx", np.zeros((2, 28, 28), np.uint8), magic=b"\x50\x4b\x03\x04")
    with pytest.raises(DigitrecError, match=r"x.idx: not an IDX file \(bad magic number 0x504b0304\)"):
        data.read_idx(path)


def test_unknown_type_code(tmp_path):
    path = write_idx(tmp_path / "x.idx", np.zeros((2, 28, 28), np.uint8), magic=b"\x00\x00\x07\x03")
    with pytest.raises(DigitrecError, match=r"x.idx: unknown IDX data type 0x07"):
        data.read_idx(path)


def test_size_mismatch(tmp_path):
    path = write_idx(tmp_path / "x.idx", np.zeros((2, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DigitrecError, match=r"x.idx: IDX size mismatch: dimensions 2x28x28 need 1568 data bytes, file has 1558"):
        data.read_idx(path)


def test_wrong_dimensions(tmp_path):
    make_mnist_folder(tmp_path, np.zeros((4, 32, 32), np.uint8), np.zeros(4, np.uint8))
    with pytest.raises(DigitrecError, match=r"train-images-idx3-ubyte.gz: expected images of shape \(N, 28, 28\), found 4x32x32"):
        data.load_mnist(tmp_path)


def test_count_mismatch(tmp_path):
    make_mnist_folder(tmp_path, np.zeros((4, 28, 28), np.uint8), np.zeros(3, np.uint8))
    with pytest.raises(DigitrecError, match=r"train-images-idx3-ubyte.gz: 4 images but .*train-labels-idx1-ubyte.gz has 3 labels"):
        data.load_mnist(tmp_path)


def test_label_out_of_range(tmp_path):
    make_mnist_folder(tmp_path, np.zeros((2, 28, 28), np.uint8), np.array([3, 12], np.uint8))
    with pytest.raises(DigitrecError, match=r"train-labels-idx1-ubyte.gz: label 12 is outside 0-9"):
        data.load_mnist(tmp_path)


# --- preprocessing helpers ---------------------------------------------------------------------


def test_scale_images_and_one_hot():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    scaled = data.scale_images(images)
    assert scaled.shape == (1, 2, 2, 1) and scaled.dtype == np.float32
    assert scaled.ravel().tolist() == pytest.approx([0.0, 1.0, 0.2, 0.4])
    encoded = data.one_hot(np.array([0, 9, 3]))
    assert encoded.shape == (3, 10) and encoded.dtype == np.float32
    assert encoded.argmax(axis=1).tolist() == [0, 9, 3] and encoded.sum() == 3
    with pytest.raises(DigitrecError, match="labels must be in 0-9"):
        data.one_hot(np.array([10]))


@pytest.mark.parametrize("count, fraction, seed", [(1000, 0.08, 7), (42000, 0.08, 2), (60000, 0.1, 0), (7, 0.5, 3)])
def test_validation_split_is_scikit_learns(count, fraction, seed):
    from sklearn.model_selection import train_test_split

    images, labels = np.arange(count), np.arange(count) % 10
    (train_x, train_y), (val_x, val_y) = data.train_validation_split(images, labels, fraction, seed)
    reference_train, reference_val, reference_train_y, reference_val_y = train_test_split(images, labels, test_size=fraction, random_state=seed)
    assert np.array_equal(train_x, reference_train) and np.array_equal(val_x, reference_val)
    assert np.array_equal(train_y, reference_train_y) and np.array_equal(val_y, reference_val_y)


def test_validation_split_is_deterministic_and_disjoint():
    images = np.arange(1000)
    labels = np.arange(1000) % 10
    (train_x, _), (val_x, val_y) = data.train_validation_split(images, labels, 0.08, 7)
    assert len(val_x) == 80 and len(train_x) == 920
    assert not set(train_x) & set(val_x)
    (_, _), (again, _) = data.train_validation_split(images, labels, 0.08, 7)
    assert np.array_equal(val_x, again)
    assert np.array_equal(val_y, val_x % 10)


# --- Kaggle CSV ---------------------------------------------------------------------------------


@pytest.fixture
def kaggle_files(small_mnist, tmp_path):
    (x_train, y_train), (x_test, _) = small_mnist
    train_csv = data.write_kaggle_csv(tmp_path / "train.csv", x_train[:50], y_train[:50])
    test_csv = data.write_kaggle_csv(tmp_path / "test.csv", x_test[:20])
    return train_csv, test_csv, (x_train[:50], y_train[:50], x_test[:20])


def test_kaggle_csv_reads_into_mnist_arrays(kaggle_files):
    train_csv, test_csv, (x_train, y_train, x_test) = kaggle_files
    images, labels = data.read_kaggle_csv(train_csv)
    assert images.dtype == np.uint8 and images.shape == (50, 28, 28)
    assert np.array_equal(images, x_train) and np.array_equal(labels, y_train)
    images, labels = data.read_kaggle_csv(test_csv)
    assert labels is None and np.array_equal(images, x_test)


def replace_line(path, number, transform):
    lines = path.read_text().splitlines()
    lines[number - 1] = transform(lines[number - 1])
    path.write_text("\n".join(lines) + "\n")


def test_csv_missing_column(kaggle_files):
    train_csv = kaggle_files[0]
    replace_line(train_csv, 1, lambda line: line.replace(",pixel17,", ","))
    with pytest.raises(DigitrecError, match=r"train.csv: line 1: missing column 'pixel17'"):
        data.read_kaggle_csv(train_csv)


def test_csv_row_with_missing_value(kaggle_files):
    train_csv = kaggle_files[0]
    replace_line(train_csv, 4, lambda line: line.rsplit(",", 1)[0])
    with pytest.raises(DigitrecError, match=r"train.csv: line 4: 784 columns, expected 785"):
        data.read_kaggle_csv(train_csv)


def test_csv_not_a_number(kaggle_files):
    test_csv = kaggle_files[1]
    replace_line(test_csv, 3, lambda line: "abc," + line.split(",", 1)[1])
    with pytest.raises(DigitrecError, match=r"test.csv: line 3: 'abc' is not a number"):
        data.read_kaggle_csv(test_csv)


def test_csv_pixel_out_of_range(kaggle_files):
    test_csv = kaggle_files[1]
    replace_line(test_csv, 5, lambda line: line.split(",", 1)[0] + ",256," + line.split(",", 2)[2])
    with pytest.raises(DigitrecError, match=r"test.csv: line 5: pixel1 = 256 is outside 0-255"):
        data.read_kaggle_csv(test_csv)


def test_csv_label_out_of_range(kaggle_files):
    train_csv = kaggle_files[0]
    replace_line(train_csv, 2, lambda line: "11," + line.split(",", 1)[1])
    with pytest.raises(DigitrecError, match=r"train.csv: line 2: label 11 is outside 0-9"):
        data.read_kaggle_csv(train_csv)


def test_csv_fraction_and_missing_file(kaggle_files, tmp_path):
    test_csv = kaggle_files[1]
    replace_line(test_csv, 2, lambda line: "1.5," + line.split(",", 1)[1])
    with pytest.raises(DigitrecError, match=r"test.csv: line 2: '1.5' is not a whole number"):
        data.read_kaggle_csv(test_csv)
    with pytest.raises(DigitrecError, match=r"nothere.csv: no such file"):
        data.read_kaggle_csv(tmp_path / "nothere.csv")


def test_idx_dimensions_that_multiply_past_64_bits_are_one_line():
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">III", 2**32 - 1, 2**32 - 1, 2**32 - 1)
    with pytest.raises(DigitrecError, match=r"^huge: IDX size mismatch: dimensions 4294967295x4294967295x4294967295 need \d+ data bytes, file has 0$"):
        data.parse_idx(header, "huge")


def test_csv_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeff".encode() + b",".join(f"pixel{i}".encode() for i in range(784)) + b"\n" + b",".join([b"0"] * 784) + b"\n")
    images, labels = data.read_kaggle_csv(path)
    assert images.shape == (1, 28, 28) and labels is None


def test_csv_that_is_one_huge_line_is_one_line_error(tmp_path):
    path = tmp_path / "oneline.csv"
    path.write_text("1," * 5_000_000)  # 10 MB, no newline, no header
    with pytest.raises(DigitrecError, match=r"oneline.csv: line 1: longer than 65,536 characters, not a header"):
        data.read_kaggle_csv(path)


def test_a_gzip_bomb_stops_at_the_size_its_header_declares(tmp_path):
    import time
    import zlib

    header = bytes([0, 0, 0x08, 3]) + struct.pack(">III", 10, 28, 28)  # declares 7,840 bytes of images
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = compressor.compress(header) + compressor.compress(bytes(200 * 2**20)) + compressor.flush()  # 200 MiB of zeros
    path = tmp_path / "bomb-images-idx3-ubyte.gz"
    path.write_bytes(bomb)
    started = time.perf_counter()
    with pytest.raises(DigitrecError, match=r"bomb-images-idx3-ubyte.gz: unpacks to more than the 7,856 bytes its IDX header declares; refused$"):
        data.read_idx(path)
    assert time.perf_counter() - started < 2  # it never unpacked the 200 MiB


def test_a_cached_file_changed_since_its_download_is_refused(mnist_dir, isolated_env):
    import shutil

    cache = data.default_cache_dir()
    cache.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        shutil.copy(mnist_dir / name, cache / name)
    labels = data.read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz").copy()
    labels[0] = (labels[0] + 1) % 10  # still a valid IDX file, no longer MNIST's
    write_idx(cache / "t10k-labels-idx1-ubyte.gz", labels)
    with pytest.raises(DigitrecError, match=r"t10k-labels-idx1-ubyte.gz: changed since it was downloaded and verified \(sha256 [0-9a-f]{12}\.\.\., expected ff7bcfd416de\.\.\.\); delete it and run `digitrec data download`$"):
        data.load_mnist()


def test_an_empty_idx_with_huge_other_dimensions_is_one_line():
    # found by the fuzzer: 0 x 3037070929 x 3037970455 needs 0 data bytes, then cannot be shaped
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">III", 0, 3037070929, 3037970455)
    with pytest.raises(DigitrecError, match=r"^fuzz: IDX dimensions 0x3037070929x3037970455 are too large$"):
        data.parse_idx(header, "fuzz")


def test_prefetched_mnist_is_the_same_read_once(mnist_dir, monkeypatch):
    import threading

    reads, read = [], data.read_file_bytes
    monkeypatch.setattr(data, "read_file_bytes", lambda path: reads.append(threading.current_thread().name) or read(path))
    data.prefetch_mnist(mnist_dir)  # as `digitrec train` does before importing Keras
    (x_train, y_train), (x_test, y_test) = data.load_mnist(mnist_dir)
    assert reads == ["digitrec-prefetch-mnist"] * 4  # all four files read on the prefetch thread, none here
    assert x_train.shape == (60000, 28, 28) and len(y_test) == 10000
    assert data.mnist_checksums(mnist_dir) == data.MNIST_FILES  # taken once: the next read is a read
    assert reads[4:] == ["MainThread"] * 4


def test_a_prefetch_that_fails_fails_the_read_in_one_line(tmp_path):
    images = np.zeros((3, 28, 28), np.uint8)
    folder = make_mnist_folder(tmp_path, images, np.array([1, 2, 12], np.uint8))
    data.prefetch_mnist(folder)
    with pytest.raises(DigitrecError, match=r"train-labels-idx1-ubyte.gz: label 12 is outside 0-9"):
        data.load_mnist(folder)
    data.prefetch_mnist(tmp_path / "nowhere")  # not a folder: left to the real read, which names it
    with pytest.raises(DigitrecError, match=r"nowhere: data folder is not a folder"):
        data.load_mnist(tmp_path / "nowhere")
