"""MNIST in: IDX files, Kaggle CSV files, and the tutorials' preprocessing.

`load_mnist()` returns `(x_train, y_train), (x_test, y_test)` exactly as
`keras.datasets.mnist.load_data()` does: uint8 images (N, 28, 28) and uint8 labels 0-9.
Where the files come from, in order: an explicit folder, `$DIGITREC_DATA_DIR`, the user cache
(`$DIGITREC_CACHE_DIR`, else `$XDG_CACHE_HOME/digitrec/mnist`, else `~/.cache/digitrec/mnist`),
else a download from the public mirrors into that cache (see `download.py`).

Only NumPy is imported here, so the light inference path can use the readers too.
"""

import csv
import hashlib
import itertools
import math
import os
import zlib
from pathlib import Path

import numpy as np

from .errors import DigitrecError

IMAGE_SIZE = 28
NUM_CLASSES = 10
NUM_PIXELS = IMAGE_SIZE * IMAGE_SIZE

# file stem -> sha256 of the decompressed, canonical content (../shared/data/README.md)
MNIST_FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# IDX type byte -> big-endian NumPy dtype (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


# ---------------------------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------------------------


def read_file_bytes(path) -> bytes:
    """The content of `path`, decompressed if it is gzip; a clear error if it cannot be read."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DigitrecError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DigitrecError(f"{path}: is a folder, not a file") from None
    except OSError as error:
        raise DigitrecError(f"{path}: cannot read ({error.strerror})") from None
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gunzip_bounded(raw, path)
    except zlib.error as error:
        raise DigitrecError(f"{path}: corrupt gzip file ({error})") from None


MAX_UNPACKED_BYTES = 256 * 2**20  # no IDX file digitrec reads is larger (MNIST's biggest: 45 MiB)


def gunzip_bounded(raw: bytes, path) -> bytes:
    """Decompress gzip `raw` in chunks, never past the size an IDX header at its start declares
    (or MAX_UNPACKED_BYTES): a small file that unpacks to gigabytes stops at once, with one line."""
    stream = zlib.decompressobj(wbits=31)
    chunks = [stream.decompress(raw, 1024)]
    declared = idx_declared_size(chunks[0])
    limit = min(declared, MAX_UNPACKED_BYTES) if declared is not None else MAX_UNPACKED_BYTES
    total = len(chunks[0])
    while not stream.eof and total <= limit:
        chunk = stream.decompress(stream.unconsumed_tail, min(2**20, limit + 1 - total))
        if not chunk and not stream.unconsumed_tail:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > limit:
        what = "its IDX header declares" if declared is not None and declared <= MAX_UNPACKED_BYTES else "digitrec reads"
        raise DigitrecError(f"{path}: unpacks to more than the {limit:,} bytes {what}; refused")
    if not stream.eof:
        raise DigitrecError(f"{path}: truncated gzip file (the compressed stream ends early)")
    return b"".join(chunks)


def idx_declared_size(head: bytes):
    """The total size in bytes that an IDX header at the start of `head` declares, or None."""
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in IDX_DTYPES or head[3] == 0:
        return None
    header_size = 4 + 4 * head[3]
    if len(head) < header_size:
        return None
    shape = np.frombuffer(head, dtype=">u4", count=head[3], offset=4)
    return header_size + math.prod(int(dim) for dim in shape) * IDX_DTYPES[head[2]].itemsize


def parse_idx(content: bytes, name="<bytes>") -> np.ndarray:
    """Decode IDX bytes; checks the magic number, the data type, the dimensions and the size."""
    if len(content) < 4:
        raise DigitrecError(f"{name}: not an IDX file (only {len(content)} bytes)")
    if content[0] != 0 or content[1] != 0:
        raise DigitrecError(f"{name}: not an IDX file (bad magic number 0x{content[:4].hex()})")
    type_code, num_dims = content[2], content[3]
    if type_code not in IDX_DTYPES:
        raise DigitrecError(f"{name}: unknown IDX data type 0x{type_code:02x}")
    if num_dims == 0:
        raise DigitrecError(f"{name}: IDX file declares 0 dimensions")
    header_size = 4 + 4 * num_dims
    if len(content) < header_size:
        raise DigitrecError(f"{name}: truncated IDX header ({len(content)} bytes, needs {header_size})")
    shape = tuple(int(d) for d in np.frombuffer(content, dtype=">u4", count=num_dims, offset=4))
    dtype = IDX_DTYPES[type_code]
    expected = math.prod(shape) * dtype.itemsize  # Python's integers: no overflow, however large the dims
    actual = len(content) - header_size
    if actual != expected:
        raise DigitrecError(
            f"{name}: IDX size mismatch: dimensions {'x'.join(map(str, shape))} need {expected} "
            f"data bytes, file has {actual}"
        )
    try:
        array = np.frombuffer(content, dtype=dtype, offset=header_size).reshape(shape)
    except ValueError:  # an empty array whose other dimensions are too large to describe
        raise DigitrecError(f"{name}: IDX dimensions {'x'.join(map(str, shape))} are too large") from None
    return array.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw or .gz) into a NumPy array in native byte order."""
    return parse_idx(read_file_bytes(path), name=str(path))


def check_images(images: np.ndarray, name) -> np.ndarray:
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DigitrecError(
            f"{name}: expected images of shape (N, 28, 28), found {'x'.join(map(str, images.shape))}"
        )
    if images.dtype != np.uint8:
        raise DigitrecError(f"{name}: expected unsigned byte pixels, found {images.dtype}")
    return images


def check_labels(labels: np.ndarray, name) -> np.ndarray:
    if labels.ndim != 1:
        raise DigitrecError(f"{name}: expected a 1-D label array, found {labels.ndim} dimensions")
    if labels.dtype != np.uint8:
        raise DigitrecError(f"{name}: expected unsigned byte labels, found {labels.dtype}")
    if labels.size and labels.max() >= NUM_CLASSES:
        raise DigitrecError(f"{name}: label {int(labels.max())} is outside 0-9")
    return labels


# ---------------------------------------------------------------------------------------------
# MNIST
# ---------------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    from .files import cache_root

    return cache_root() / "mnist"


def find_mnist_file(folder: Path, stem: str):
    """`stem.gz` or `stem` (raw) inside `folder`, or None."""
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def has_mnist(folder) -> bool:
    folder = Path(folder)
    return all(find_mnist_file(folder, stem) for stem in MNIST_FILES)


def resolve_mnist_dir(path=None, download=True) -> Path:
    """The folder MNIST is read from: explicit path, $DIGITREC_DATA_DIR, cache, else download."""
    if path is not None:
        folder, origin = Path(path), "data folder"
    elif os.environ.get("DIGITREC_DATA_DIR"):
        folder, origin = Path(os.environ["DIGITREC_DATA_DIR"]), "$DIGITREC_DATA_DIR"
    else:
        folder = default_cache_dir()
        if has_mnist(folder) or not download:
            return folder
        from .download import download_mnist

        return download_mnist(folder)
    if not folder.is_dir():
        raise DigitrecError(f"{folder}: {origin} is not a folder")
    missing = [stem for stem in MNIST_FILES if find_mnist_file(folder, stem) is None]
    if missing:
        raise DigitrecError(f"{folder}: {origin} has no {missing[0]}[.gz]")
    return folder


# resolved folder -> Future of read_mnist_folder(folder), started by prefetch_mnist
_prefetched = {}


def prefetch_mnist(path=None):
    """Start reading MNIST from `path` (resolved as `load_mnist` does) on a thread; the next
    `read_mnist_folder` of that folder takes the result (or its error) instead of reading again.

    For commands about to import Keras, which takes seconds: decompressing and hashing release
    the GIL, so with two cores the read costs no wall time. Does nothing when MNIST would first
    have to be downloaded; the read then happens as usual, in the caller's thread."""
    import threading
    from concurrent.futures import Future

    try:
        folder = resolve_mnist_dir(path, download=False)
    except DigitrecError:
        return  # reported by the real read, in the caller's thread
    key = folder.resolve()
    if not has_mnist(folder) or key in _prefetched:
        return
    future = _prefetched[key] = Future()

    def read():
        try:
            future.set_result(read_mnist_folder(folder, prefetched=False))
        except BaseException as error:  # handed to whoever reads the folder
            future.set_exception(error)

    threading.Thread(target=read, name="digitrec-prefetch-mnist", daemon=True).start()


def read_mnist_folder(folder, prefetched=True):
    """(`((x_train, y_train), (x_test, y_test))`, sha256 of each file's decompressed content),
    reading each of the four files once (or taking what `prefetch_mnist` read). Files in
    digitrec's own cache were verified when they were downloaded, so they are checked again
    against the known sha256 (computed anyway): a cached file changed since then is refused
    rather than trained on."""
    folder = Path(folder)
    future = _prefetched.pop(folder.resolve(), None) if prefetched else None
    if future is not None:
        return future.result()
    in_cache = folder.resolve() == default_cache_dir().resolve()
    arrays, checksums = {}, {}
    for stem, expected in MNIST_FILES.items():
        path = find_mnist_file(folder, stem)
        if path is None:
            raise DigitrecError(f"{folder}: no {stem}[.gz] here")
        content = read_file_bytes(path)
        checksums[stem] = hashlib.sha256(content).hexdigest()
        if in_cache and checksums[stem] != expected:
            raise DigitrecError(
                f"{path}: changed since it was downloaded and verified (sha256 {checksums[stem][:12]}..., expected "
                f"{expected[:12]}...); delete it and run `digitrec data download`"
            )
        array = parse_idx(content, name=str(path))
        arrays[stem] = (check_images if "images" in stem else check_labels)(array, path), path
    splits = []
    for prefix in ("train", "t10k"):
        (images, images_path), (labels, labels_path) = arrays[f"{prefix}-images-idx3-ubyte"], arrays[f"{prefix}-labels-idx1-ubyte"]
        if len(images) != len(labels):
            raise DigitrecError(f"{images_path}: {len(images)} images but {labels_path} has {len(labels)} labels")
        splits.append((images, labels))
    return tuple(splits), checksums


def load_mnist(path=None, download=True):
    """MNIST as `(x_train, y_train), (x_test, y_test)`, like `keras.datasets.mnist.load_data()`."""
    return read_mnist_folder(resolve_mnist_dir(path, download=download))[0]


def mnist_checksums(path=None) -> dict:
    """sha256 of each MNIST file's decompressed content, for the record kept beside a model."""
    return read_mnist_folder(resolve_mnist_dir(path))[1]


# ---------------------------------------------------------------------------------------------
# The tutorials' preprocessing
# ---------------------------------------------------------------------------------------------


def scale_images(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]: what every model here takes."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    scaled = images.astype(np.float32)
    scaled /= np.float32(255.0)  # in place: one float copy of the data set, not two
    return scaled


def one_hot(labels: np.ndarray, num_classes=NUM_CLASSES) -> np.ndarray:
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DigitrecError(f"labels must be in 0-{num_classes - 1}, found {labels.min()}-{labels.max()}")
    return np.eye(num_classes, dtype=np.float32)[labels]


def train_validation_split(images, labels, validation_fraction, random_state):
    """Same rows as scikit-learn's `train_test_split(..., test_size=f, random_state=s)`.

    codeastar's tutorial holds out 8 % with random_state 7; this reproduces its split without
    depending on scikit-learn (ShuffleSplit: a RandomState permutation, test rows first).
    """
    count = len(images)
    num_validation = int(np.ceil(validation_fraction * count))
    permutation = np.random.RandomState(random_state).permutation(count)
    validation, train = permutation[:num_validation], permutation[num_validation:]
    return (images[train], labels[train]), (images[validation], labels[validation])


# ---------------------------------------------------------------------------------------------
# Kaggle "Digit Recognizer" CSV files
# ---------------------------------------------------------------------------------------------


MAX_HEADER_CHARACTERS = 65_536  # Kaggle's header is about 7,000 characters long


def read_kaggle_csv(path):
    """Read Kaggle's `train.csv` (label,pixel0..pixel783) or `test.csv` (pixel0..pixel783).

    Returns `(images, labels)`: uint8 (N, 28, 28) and uint8 (N,), labels None for test.csv.
    """
    parts = list(kaggle_csv_chunks(path, rows=None))
    images = np.concatenate([images for images, _ in parts]) if parts else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    labels = None if not parts or parts[0][1] is None else np.concatenate([labels for _, labels in parts])
    return images, labels


def open_kaggle_csv(path):
    """(open text handle past the header, whether there is a label column) for a Kaggle CSV file;
    a missing file, a binary file or a wrong header is a one-line error."""
    path = Path(path)
    try:
        handle = open(path, newline="", encoding="utf-8-sig")  # a byte-order mark (Excel) is skipped
    except FileNotFoundError:
        raise DigitrecError(f"{path}: no such file") from None
    except OSError as error:
        raise DigitrecError(f"{path}: cannot read ({error.strerror})") from None
    try:
        try:
            line = handle.readline(MAX_HEADER_CHARACTERS + 1)
            if len(line) > MAX_HEADER_CHARACTERS:
                raise DigitrecError(f"{path}: line 1: longer than {MAX_HEADER_CHARACTERS:,} characters, not a header (expected label,pixel0..pixel783 or pixel0..pixel783)")
            header = next(csv.reader([line]), [])
        except UnicodeDecodeError:
            raise DigitrecError(f"{path}: not a text CSV file") from None
        except csv.Error as error:
            raise DigitrecError(f"{path}: line 1: {error}") from None
        header = [column.strip() for column in header]
        pixel_columns = [f"pixel{i}" for i in range(NUM_PIXELS)]
        if header == ["label", *pixel_columns]:
            return handle, True
        if header == pixel_columns:
            return handle, False
        expected = ["label", *pixel_columns] if header[:1] == ["label"] else pixel_columns
        missing = [column for column in expected if column not in header]
        extra = [column for column in header if column not in expected]
        if missing:
            problem = f"missing column {missing[0]!r}"
        elif extra:
            problem = f"unexpected column {extra[0]!r}"
        else:
            problem = "columns out of order"
        raise DigitrecError(f"{path}: line 1: {problem} (expected label,pixel0..pixel783 or pixel0..pixel783)")
    except BaseException:
        handle.close()
        raise


def kaggle_csv_chunks(path, rows=4096):
    """A Kaggle CSV file as `(images, labels)` pieces of at most `rows` rows (None: all at once),
    read as they are needed, so a file of any length takes little memory. labels is None for
    test.csv. A bad line is a one-line error naming it."""
    handle, has_labels = open_kaggle_csv(path)
    num_columns = NUM_PIXELS + has_labels
    first_line = 2
    with handle:
        while True:
            try:
                lines = handle.readlines() if rows is None else [line for line in itertools.islice(handle, rows)]
            except UnicodeDecodeError:
                raise DigitrecError(f"{path}: not a text CSV file") from None
            if not lines:
                return
            values = parse_csv_numbers("".join(lines), num_columns, path, first_line)
            if len(values):
                yield check_kaggle_values(values, has_labels, path, first_line)
            first_line += len(lines)
            if rows is None:
                return


def check_kaggle_values(values, has_labels, path, first_line):
    pixels = values[:, 1:] if has_labels else values
    if pixels.size and (pixels.min() < 0 or pixels.max() > 255):
        row, column = np.argwhere((pixels < 0) | (pixels > 255))[0]
        raise DigitrecError(
            f"{path}: line {row + first_line}: pixel{column} = {format_number(pixels[row, column])} is outside 0-255"
        )
    images = pixels.astype(np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    labels = None
    if has_labels:
        label_values = values[:, 0]
        bad = np.flatnonzero((label_values < 0) | (label_values > 9))
        if bad.size:
            raise DigitrecError(
                f"{path}: line {bad[0] + first_line}: label {format_number(label_values[bad[0]])} is outside 0-9"
            )
        labels = label_values.astype(np.uint8)
    return images, labels


def format_number(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def parse_csv_numbers(body: str, num_columns: int, path, first_line=2) -> np.ndarray:
    """Whole numbers in `body` as an (N, num_columns) array; names the line of the first problem."""
    lines = body.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return np.zeros((0, num_columns), dtype=np.float64)
    try:
        values = np.loadtxt(lines, delimiter=",", dtype=np.float64, ndmin=2)
        if values.shape[1] == num_columns and np.isfinite(values).all() and (values == np.round(values)).all():
            return values
    except ValueError:
        pass
    # the fast path failed: scan line by line to say exactly where and what
    for line_number, line in enumerate(lines, start=first_line):
        fields = line.split(",")
        if len(fields) != num_columns:
            raise DigitrecError(f"{path}: line {line_number}: {len(fields)} columns, expected {num_columns}")
        for column, field in enumerate(fields):
            try:
                number = float(field)
            except ValueError:
                raise DigitrecError(f"{path}: line {line_number}: {field.strip()!r} is not a number") from None
            if not np.isfinite(number) or number != round(number):
                raise DigitrecError(f"{path}: line {line_number}: {field.strip()!r} is not a whole number")
    raise DigitrecError(f"{path}: cannot parse as CSV")  # unreachable in practice


def write_kaggle_csv(path, images, labels=None):
    """Write images (and labels) in Kaggle's Digit Recognizer layout (used by tests and demos)."""
    from .files import write_text

    images = np.asarray(images).reshape(len(images), NUM_PIXELS)
    header = ",".join(([] if labels is None else ["label"]) + [f"pixel{i}" for i in range(NUM_PIXELS)])
    rows = images if labels is None else np.column_stack([np.asarray(labels), images])
    body = "\n".join(",".join(map(str, row)) for row in rows.tolist())
    write_text(path, header + "\n" + body + "\n")
    return Path(path)
