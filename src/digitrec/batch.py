"""Read many inputs at once: pictures, folders, list files, Kaggle CSV and IDX files, on every
core, answers coming out in input order as they are made.

- `list_inputs` lists what to read as `Item`s, lazily: a folder of a million pictures is walked
  one directory at a time, a CSV file read a few thousand rows at a time.
- `chunks` groups items; `read_chunk` reads one group with one `Predictor`: each picture decoded
  and cleaned (`imaging.read`), then all the group's digits through the model in one batch.
- `predictions` runs the chunks in a pool of worker processes (or on Ray: `cluster.py`) and
  yields `Prediction`s in input order, keeping only a few chunks in flight: memory stays flat.
- `ResultFile` writes them as CSV or JSONL rows as they come, and tells which inputs a file
  written before already holds (`--resume`).

Only NumPy, Pillow and ONNX Runtime: this module is on the light inference path.
"""

import contextlib
import csv
import dataclasses
import hashlib
import itertools
import json
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Iterable, Iterator, Optional

import numpy as np

from .errors import DigitrecError
from .files import os_reason
from .inference import Prediction, to_score

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
LIST_SUFFIXES = {".txt", ".lst"}  # a list file: one picture (or folder) per line
CHUNK_ITEMS = 256  # inputs per chunk: one model call per chunk...
CHUNK_BYTES = 256 * 1024  # ...or fewer when the files are big (a chunk of photos stays a second or two)
ROWS_PER_READ = 4096  # CSV rows parsed at a time
IN_FLIGHT_PER_WORKER = 2  # chunks queued per worker process: enough to keep it busy, little memory
ENGINES = ("local", "ray")


@dataclasses.dataclass
class Item:
    """One input to read."""

    key: str  # its name in the answers: the path, or PATH#ROW for a row of a CSV or IDX file
    path: Optional[str] = None  # a picture file
    pixels: Optional[np.ndarray] = None  # or a row already 28x28 uint8, white on black
    label: Optional[int] = None  # the true digit, when a labelled CSV gives it
    error: Optional[str] = None  # found while listing: why there is nothing to read


def is_idx(path) -> bool:
    return Path(path).name.lower().endswith(("-ubyte", "-ubyte.gz", ".idx", ".idx.gz"))


def kind_of(path: Path) -> str:
    """How an input is read: folder, csv, idx, list or picture."""
    try:
        if path.is_dir():
            return "folder"
    except OSError:
        pass  # a folder above it cannot be searched: opening it as a picture says so in one line
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if is_idx(path):
        return "idx"
    if suffix in LIST_SUFFIXES:
        return "list"
    return "picture"


def walk_pictures(folder: Path) -> Iterator[tuple]:
    """(path, None) for the pictures under `folder` by their image suffix, in sorted path order, one
    directory listed at a time; (folder, reason) for a folder that cannot be listed, and the walk
    goes on. Symbolic links to folders are not followed (no loops); links to files are read."""
    try:
        with os.scandir(folder) as entries:
            listed = sorted((entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries)
    except OSError as error:
        yield folder, f"{folder}: cannot list this folder ({os_reason(error)})"
        return
    for name, is_dir in listed:
        path = folder / name
        if is_dir:
            yield from walk_pictures(path)
        elif Path(name).suffix.lower() in IMAGE_SUFFIXES:
            yield path, None


def list_file_entries(path: Path) -> Iterator[Path]:
    """The paths in a list file, one per line (blank lines and lines starting with # skipped);
    relative paths are relative to the list file's folder."""
    try:
        handle = open(path, encoding="utf-8", errors="surrogateescape")
    except OSError as error:
        raise DigitrecError(f"{path}: cannot read ({os_reason(error)})") from None
    with handle:
        for line in handle:
            line = line.rstrip("\r\n")
            if line.strip() and not line.lstrip().startswith("#"):
                yield path.parent / line


def list_inputs(paths: Iterable, in_list=False) -> Iterator[Item]:
    """Everything to read, in order: pictures as given, folders walked recursively for pictures,
    list files entry by entry, one item per row of a Kaggle CSV or IDX file. A problem found
    while listing (an empty folder, a broken CSV) is an item with an error, not an exception."""
    from .data import IMAGE_SIZE, check_images, kaggle_csv_chunks, read_idx

    for text in paths:
        path = Path(text)
        kind = kind_of(path) if not (in_list and path.suffix.lower() in LIST_SUFFIXES) else "picture"
        try:
            if kind == "folder":
                found = False
                for picture, error in walk_pictures(path):
                    found = True
                    yield Item(str(picture), path=str(picture), error=error)
                if not found:
                    yield Item(str(path), error=f"{path}: no pictures in this folder")
            elif kind == "csv":
                row = 0
                for images, labels in kaggle_csv_chunks(path, ROWS_PER_READ):
                    for i, image in enumerate(images):
                        row += 1
                        yield Item(f"{path}#{row}", pixels=image, label=None if labels is None else int(labels[i]))
            elif kind == "idx":
                images = check_images(read_idx(path), path)
                labels = idx_labels(path, len(images))
                for row, image in enumerate(images.reshape(-1, IMAGE_SIZE, IMAGE_SIZE), start=1):
                    yield Item(f"{path}#{row}", pixels=image, label=None if labels is None else int(labels[row - 1]))
            elif kind == "list":
                yield from list_inputs(list_file_entries(path), in_list=True)
            else:
                yield Item(str(path), path=str(path))
        except DigitrecError as error:
            yield Item(str(path), error=str(error))


def idx_labels(images_path: Path, count: int):
    """The labels of an IDX images file when its labels file lies beside it, named as MNIST's are
    (t10k-images-idx3-ubyte.gz beside t10k-labels-idx1-ubyte.gz), else None."""
    from .data import read_idx

    name = images_path.name
    lowered = name.lower()
    if "images-idx3" not in lowered:
        return None
    at = lowered.index("images-idx3")
    labels_path = images_path.with_name(name[:at] + "labels-idx1" + name[at + len("images-idx3") :])
    if not labels_path.is_file():
        return None
    labels = read_idx(labels_path)
    if labels.ndim != 1 or len(labels) != count or (labels.size and labels.max() > 9):
        raise DigitrecError(f"{labels_path}: not the labels of {images_path.name} ({labels.size} values for {count} images)")
    return labels


def input_keys(paths: Iterable, in_list=False) -> Iterator[str]:
    """The keys of the items `list_inputs` gives, found cheaply (folders walked, CSV lines counted,
    IDX headers read, nothing decoded): a progress bar's total, what `--resume` checks a results
    file against."""
    for text in paths:
        path = Path(text)
        kind = kind_of(path) if not (in_list and path.suffix.lower() in LIST_SUFFIXES) else "picture"
        try:
            if kind == "folder":
                found = False
                for picture, _ in walk_pictures(path):
                    found = True
                    yield str(picture)
                if not found:
                    yield str(path)
            elif kind in ("csv", "idx"):
                rows = max(count_lines(path) - 1, 0) if kind == "csv" else idx_count(path)
                for row in range(1, rows + 1):
                    yield f"{path}#{row}"
            elif kind == "list":
                yield from input_keys(list_file_entries(path), in_list=True)
            else:
                yield str(path)
        except (DigitrecError, OSError):
            yield str(path)


def count_inputs(paths: Iterable, in_list=False) -> int:
    """How many items `list_inputs` gives (`input_keys`)."""
    return sum(1 for _ in input_keys(paths, in_list))


def count_lines(path) -> int:
    """Lines in a text file (a last line without a newline counts)."""
    count, last = 0, b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def idx_count(path) -> int:
    """The first dimension of an IDX file, from its header."""
    import gzip

    opener = gzip.open if str(path).lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        head = handle.read(8)
    return int.from_bytes(head[4:8], "big") if len(head) == 8 and head[3] >= 1 else 1


def item_cost(item: Item) -> int:
    if item.path is None:
        return 784
    try:
        return os.stat(item.path).st_size
    except OSError:
        return 0


def chunks(items: Iterable[Item], size=CHUNK_ITEMS, budget=CHUNK_BYTES) -> Iterator[list]:
    """Items in groups of at most `size`, and of about `budget` bytes of files."""
    chunk, used = [], 0
    for item in items:
        chunk.append(item)
        used += item_cost(item)
        if len(chunk) >= size or used >= budget:
            yield chunk
            chunk, used = [], 0
    if chunk:
        yield chunk


def read_chunk(predictor, chunk: list, multi=False) -> list:
    """Predictions for a chunk of items, in order: every picture read, then every digit of the
    chunk scored in one batch. A file that cannot be read is a Prediction with its error."""
    results, pending = [None] * len(chunk), []  # pending: (index, reading or None, pixels, seconds)
    for index, item in enumerate(chunk):
        if item.error is not None:
            results[index] = Prediction(item.key, [], error=item.error)
        elif item.pixels is not None:
            pending.append((index, None, [item.pixels], 0.0))
        else:
            started = time.perf_counter()
            try:
                reading = predictor.read(item.path, multi=multi, name=item.key)
            except DigitrecError as error:
                results[index] = Prediction(item.key, [], error=str(error))
                continue
            except Exception as error:  # noqa: BLE001 - one odd file must not end a million-picture run
                results[index] = Prediction(item.key, [], error=f"{item.key}: unexpected error ({type(error).__name__}: {error})")
                continue
            pending.append((index, reading, to_score(reading), time.perf_counter() - started))
    pixels = [image for _, _, images, _ in pending for image in images]
    started = time.perf_counter()
    if pixels:
        probabilities, digit_scores = predictor.scores(np.stack(pixels))
    share = (time.perf_counter() - started) / max(len(pixels), 1)
    start = 0
    for index, reading, images, seconds in pending:
        rows = slice(start, start + len(images))
        start += len(images)
        item = chunk[index]
        seconds += share * len(images)
        if reading is None:
            answer = predictor.answer(probabilities[rows][0], item.pixels, digit_score=digit_scores[rows][0])
            results[index] = Prediction(item.key, [answer], seconds=seconds, label=item.label)
        else:
            results[index] = predictor.conclude(item.key, reading, probabilities[rows], digit_scores[rows], seconds)
    return results


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------------------------
# The local engine: worker processes, each with its own Predictor
# ---------------------------------------------------------------------------------------------
#
# The workers are fresh interpreters that run `worker_main` and talk over their stdin and stdout
# in length-prefixed pickles, rather than multiprocessing's pools: spawned pools import the
# caller's main script again (a script without an `if __name__ == "__main__"` guard would start
# over), and forked ones copy a process that runs ONNX Runtime's threads.


def send_frame(stream, value):
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "little") + data)
    stream.flush()


def receive_frame(stream):
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    size = int.from_bytes(head, "little")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def worker_main():
    """A worker process: load the model once, then read chunks and answer until stdin closes.
    Ctrl-C is for the parent (which stops the workers); a worker also ends when its parent dies.
    ONNX Runtime gets one thread: the processes are the parallelism."""
    import signal

    from .inference import Predictor
    from .supervisor import die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()  # even after kill -9 of the parent

    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames on the pipe
    try:
        predictor = Predictor(**receive_frame(source), threads=1)
        while True:
            number, chunk, multi = receive_frame(source)
            send_frame(sink, (number, read_chunk(predictor, chunk, multi)))
    except (EOFError, BrokenPipeError):
        return


class WorkerPool:
    """Worker processes reading chunks; results collected by one thread per worker, so a worker
    never waits for the parent to read."""

    def __init__(self, settings, workers):
        import subprocess
        import threading

        environment = dict(os.environ)
        package_root = str(Path(__file__).resolve().parent.parent)  # digitrec importable as here
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, environment.get("PYTHONPATH")]))
        self.processes, self.outstanding, self.results = [], [], {}
        self.done = threading.Condition()
        self.dead = None
        for _ in range(workers):
            process = subprocess.Popen([sys.executable, "-c", "from digitrec.batch import worker_main; worker_main()"],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment)
            self.processes.append(process)
            self.outstanding.append(0)
            send_frame(process.stdin, settings)
            threading.Thread(target=self.collect, args=(len(self.processes) - 1,), daemon=True).start()

    def collect(self, index):
        process = self.processes[index]
        while True:
            try:
                number, results = receive_frame(process.stdout)
            except (EOFError, OSError, pickle.UnpicklingError):
                with self.done:
                    if self.dead is None:
                        self.dead = index
                    self.done.notify_all()
                return
            with self.done:
                self.results[number] = results
                self.outstanding[index] -= 1
                self.done.notify_all()

    def submit(self, number, chunk, multi):
        index = min(range(len(self.processes)), key=lambda i: self.outstanding[i])
        with self.done:
            self.outstanding[index] += 1
        try:
            send_frame(self.processes[index].stdin, (number, chunk, multi))
        except (BrokenPipeError, OSError):
            self.failed()

    def result(self, number):
        with self.done:
            while number not in self.results:
                if self.dead is not None:
                    self.failed()
                self.done.wait()
            return self.results.pop(number)

    def failed(self):
        raise DigitrecError("a worker process stopped unexpectedly (killed, or out of memory); what was written so far is kept")

    def close(self):
        for process in self.processes:
            try:
                process.stdin.close()
            except OSError:
                pass
            if process.poll() is None:
                process.kill()  # a worker may be in the middle of a chunk nobody waits for any more
            process.wait()


def local_predictions(predictor, groups: Iterator[list], multi, workers) -> Iterator[Prediction]:
    head = list(itertools.islice(groups, 2))
    if len(head) < 2 or workers <= 1:  # a few pictures, or one worker: no processes to start
        for chunk in itertools.chain(head, groups):
            yield from read_chunk(predictor, chunk, multi)
        return
    pool = WorkerPool(predictor.settings(), workers)
    try:
        submitted, returned = 0, 0
        for chunk in itertools.chain(head, groups):
            pool.submit(submitted, chunk, multi)
            submitted += 1
            while submitted - returned >= IN_FLIGHT_PER_WORKER * workers:
                yield from pool.result(returned)
                returned += 1
        while returned < submitted:
            yield from pool.result(returned)
            returned += 1
    finally:
        pool.close()


def predictions(predictor, paths: Iterable, multi=False, workers=None, engine="local", skip=None,
                ray_address=None) -> Iterator[Prediction]:
    """Predictions for everything in `paths` (see `list_inputs`), in input order, as they are made.

    workers: processes (local) or Ray actors (default: this machine's CPUs). skip: a set-like of
    keys not to read again (`ResultFile.done`). engine "ray" runs the chunks on a Ray cluster
    (`cluster.py`; RAY_ADDRESS or `ray_address`, else a local Ray)."""
    if engine not in ENGINES:
        raise DigitrecError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    workers = workers or default_workers()
    items = list_inputs(paths)
    if skip is not None:
        items = (item for item in items if display_name(item.key) not in skip)
    if engine == "ray":
        from .cluster import ray_predictions

        return ray_predictions(predictor.settings(), items, multi=multi, workers=workers, address=ray_address)
    return local_predictions(predictor, chunks(items), multi, workers)


# ---------------------------------------------------------------------------------------------
# Results files
# ---------------------------------------------------------------------------------------------

CSV_COLUMNS = ("path", "digits", "digit", "confidence", "uncertain", "reason", "error")
RESULT_FORMATS = (".csv", ".jsonl")
FLUSH_SECONDS = 0.25  # rows reach the disk at least this often: a kill loses no more


def display_name(key: str) -> str:
    """A key as text that any file can hold: bytes of a file name that are not UTF-8 as \\xNN."""
    return os.fsencode(key).decode("utf-8", "backslashreplace")


def key_hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


class DoneKeys:
    """The keys a results file holds, as 8-byte hashes in a sorted array: a million inputs take 8 MB."""

    def __init__(self, hashes: list):
        self.hashes = np.unique(np.asarray(hashes, dtype=np.uint64))

    def __len__(self):
        return len(self.hashes)

    def __contains__(self, key) -> bool:
        value = np.uint64(key_hash(key))
        index = int(np.searchsorted(self.hashes, value))
        return index < len(self.hashes) and self.hashes[index] == value


def result_rows(prediction: Prediction) -> list:
    """CSV rows for one prediction: one per digit found (one with none, or with an error)."""
    path = display_name(prediction.source)
    if prediction.error is not None:
        return [[path, "", "", "", "", "", prediction.error]]
    if not prediction.digits:
        return [[path, "", "", "0", "true", prediction.reason or "", ""]]
    text = prediction.text
    return [
        [path, text, str(d.digit), f"{d.confidence:.6f}", "true" if d.uncertain else "false", d.reason or "", ""]
        for d in prediction.digits
    ]


def csv_records(handle) -> Iterator[tuple]:
    """(offset, fields) for each complete record of a CSV file opened in binary, a record possibly
    spanning lines (a quoted file name with a newline); a cut-off last record is left out."""
    offset, record, start = 0, b"", 0
    for line in handle:
        if not record:
            start = offset
        record += line
        offset += len(line)
        if record.count(b'"') % 2 == 0 and record.endswith(b"\n"):
            fields = next(csv.reader([record.decode("utf-8", "replace")]), [])
            record = b""
            yield start, fields


class ResultFile:
    """Rows written as they come: `.csv` (CSV_COLUMNS, a row per digit) or `.jsonl` (an object per
    input, the fields of `--json`). With `resume`, an existing file is kept: `done` holds the inputs
    it has, and its last input is written again (it may have been cut off by a kill).

    Nothing is destroyed: the file is refused when it is one of `inputs` (whatever the flags) or a
    symbolic link, when it exists without `resume` or `overwrite`, and with `resume` when it holds
    rows of inputs that are not among `inputs`. A lock file beside it (`files.take_lock`) refuses
    a second digitrec writing the same file at once."""

    def __init__(self, path, resume=False, overwrite=False, inputs=None):
        from .files import refuse_unsafe_output, take_lock

        self.path = Path(path)
        self.format = self.path.suffix.lower()
        if self.format not in RESULT_FORMATS:
            raise DigitrecError(f"{self.path}: --output must end in .csv or .jsonl")
        refuse_unsafe_output(self.path, [text for text in inputs or () if text != "-"], "--output")
        if self.path.is_dir():
            raise DigitrecError(f"{self.path}: is a folder; --output takes a file name")
        if self.path.exists() and not (resume or overwrite):
            raise DigitrecError(f"{self.path}: already exists; add --resume to continue it or --overwrite to replace it")
        if not self.path.parent.is_dir():
            raise DigitrecError(f"{self.path}: no such folder {self.path.parent}")
        self.lock = take_lock(self.path, "--output")
        try:
            self.start(resume, inputs)
        except BaseException:
            self.lock.unlink(missing_ok=True)
            raise
        self.writer = csv.writer(self.handle, lineterminator="\n")
        self.last_flush = time.monotonic()

    def start(self, resume, inputs):
        """Open the file for writing: a new one with its header, or with `resume` the old one, checked
        against `inputs` and cut back to before its last input."""
        self.done, self.failures, self.rows = DoneKeys([]), 0, 0
        keep = resume and self.path.is_file() and self.path.stat().st_size > 0
        self.created = not self.path.exists()
        try:
            if keep:
                self.done, self.failures, cut, last = self.take_over()
                if inputs is not None:
                    self.check_inputs(inputs, last)
                with open(self.path, "r+b") as handle:
                    handle.truncate(cut)  # the last input is read again: a kill may have cut its rows short
                self.handle = open(self.path, "a", encoding="utf-8", newline="")
            else:
                self.handle = open(self.path, "w", encoding="utf-8", newline="")
                if self.format == ".csv":
                    self.handle.write(",".join(CSV_COLUMNS) + "\n")
        except OSError as error:
            raise DigitrecError(f"{self.path}: cannot write ({os_reason(error)})") from None

    def check_inputs(self, inputs, last=None):
        """Refuse to continue a file that holds rows of other inputs than `inputs` (`last`: the
        input whose rows end the file, which is read again and so is not among `done`)."""
        held = DoneKeys([*self.done.hashes.tolist(), *([key_hash(last)] if last is not None else [])])
        found = set()
        for key in input_keys(inputs):
            if display_name(key) in held:
                found.add(key_hash(display_name(key)))
        foreign = len(held) - len(found)
        if foreign > 0:
            raise DigitrecError(f"{self.path}: holds rows of {foreign:,} inputs that are not among these inputs; "
                                "--resume continues a file with the inputs it was started with (choose another --output, or --overwrite)")

    def take_over(self):
        """(done keys, failures, cut, last): the inputs the file holds but its last, the byte
        where the last input's rows begin, and that input's key (None in an empty file)."""
        hashes, failures = [], 0
        with open(self.path, "rb") as handle:
            base = 0
            if self.format == ".csv":
                header = handle.readline()
                if header.decode("utf-8", "replace").strip() != ",".join(CSV_COLUMNS):
                    raise DigitrecError(f"{self.path}: not a digitrec results file (its first line is not {','.join(CSV_COLUMNS)})")
                base = len(header)
                records = ((base + offset, fields) for offset, fields in csv_records(handle))
            else:
                records = self.jsonl_records(handle)
            previous, cut, failed = None, base, False  # cut: where the last input's rows begin
            for offset, fields in records:
                if len(fields) != len(CSV_COLUMNS):
                    raise DigitrecError(f"{self.path}: not a digitrec results file (a row at byte {offset} has {len(fields)} fields)")
                if fields[0] != previous:
                    if previous is not None:
                        hashes.append(key_hash(previous))
                        failures += failed
                    previous, cut, failed = fields[0], offset, False
                failed = failed or bool(fields[6])
        return DoneKeys(hashes), failures, cut, previous

    def jsonl_records(self, handle):
        offset = 0
        for line in handle:
            start, offset = offset, offset + len(line)
            if not line.endswith(b"\n"):
                return
            try:
                record = json.loads(line)
                yield start, [record["path"], "", "", "", "", "", record.get("error") or ""]
            except (ValueError, KeyError, TypeError):
                raise DigitrecError(f"{self.path}: not a digitrec results file (the line at byte {start} is not one of its JSON rows)") from None

    def write(self, prediction: Prediction):
        with self.writing():
            if self.format == ".csv":
                rows = result_rows(prediction)
                self.writer.writerows(rows)
                self.rows += len(rows)
            else:
                record = prediction.to_dict()
                record["path"] = display_name(record["path"])
                self.handle.write(json.dumps(record) + "\n")
                self.rows += 1
            self.failures += prediction.error is not None
            if time.monotonic() - self.last_flush >= FLUSH_SECONDS:
                self.flush()

    def flush(self):
        with self.writing():
            self.handle.flush()
        self.last_flush = time.monotonic()

    @contextlib.contextmanager
    def writing(self):
        """A write that fails (a full disk, a folder gone) as one line; what is on disk stays, and
        `--resume` continues it (a row cut short is read again)."""
        try:
            yield
        except OSError as error:
            raise DigitrecError(f"{self.path}: cannot write ({os_reason(error)}); the rows written so far are kept: "
                                "continue with --resume once there is room") from None

    def close(self):
        try:
            with self.writing():
                self.handle.close()
        finally:
            self.lock.unlink(missing_ok=True)

    def abandon(self):
        """Close after a failure; a file this run created and wrote no row into is removed, so that
        running the command again needs no --overwrite."""
        with contextlib.suppress(DigitrecError):
            self.close()
        if self.created and self.rows == 0:
            self.path.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
