"""Files: written so that an interrupted run never leaves a half-written one, read with clear errors.

Everything digitrec writes goes to a temporary name in the destination's folder and is renamed
into place only once complete (`os.replace` is atomic on one filesystem).
"""

import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path


@contextlib.contextmanager
def atomic_path(destination, suffix=""):
    """Yield a temporary path beside `destination`; rename it into place if the block succeeds.

    `suffix` keeps an extension that a writer insists on (Keras wants `.keras`, `.weights.h5`).
    """
    from .errors import DigitrecError

    destination = Path(destination)
    temporary = None
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".partial" + suffix, dir=destination.parent)
        os.close(handle)
        os.unlink(temporary)  # writers such as h5py want to create the file themselves
        yield Path(temporary)
        os.replace(temporary, destination)
    except OSError as error:  # a full disk, a read-only or vanished folder: what was there stays
        raise DigitrecError(f"{destination}: cannot write ({os_reason(error)}); nothing was replaced") from None
    finally:
        if temporary is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


def os_reason(error: OSError) -> str:
    """An OSError in the plain words a one-line message uses: "permission denied", "symbolic link
    loop", "no space left on device", "read-only file system"; else the system's own words."""
    import errno

    words = {
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ELOOP: "symbolic link loop",
        errno.ENOSPC: "no space left on device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EROFS: "read-only file system",
        errno.ENOENT: "no such file or folder",
        errno.ENOTDIR: "a part of the path is not a folder",
        errno.ENAMETOOLONG: "file name too long",
    }
    return words.get(error.errno) or (error.strerror or str(error)).lower()


def cache_root() -> Path:
    """digitrec's own cache: $DIGITREC_CACHE_DIR, else $XDG_CACHE_HOME/digitrec, else ~/.cache/digitrec."""
    if os.environ.get("DIGITREC_CACHE_DIR"):
        return Path(os.environ["DIGITREC_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "digitrec"


def write_bytes(destination, data: bytes):
    with atomic_path(destination) as temporary:
        temporary.write_bytes(data)


def write_text(destination, text: str):
    write_bytes(destination, text.encode("utf-8"))


def write_json(destination, value):
    write_text(destination, json.dumps(value, indent=2, sort_keys=False) + "\n")


MIN_FREE_BYTES = 64 * 2**20  # a run folder is a few MiB; this leaves room for the largest model


@dataclasses.dataclass
class RunClaim:
    """`destination` taken for this process: its lock file, and whether it existed at the start."""

    destination: Path
    lock: Path
    existed: bool

    def release(self):
        with contextlib.suppress(FileNotFoundError):
            self.lock.unlink()


def claim_run_folder(destination, overwrite=False) -> RunClaim:
    """Before a long job writes `destination`: refuse at once, in one line, what would fail only at
    the end (a file in the way, an existing run without `overwrite`, a folder that cannot be written,
    too little free space, another digitrec writing the same folder), then take it with a lock file
    beside it and clear staging folders that a killed run left for it."""
    from .errors import DigitrecError

    destination = Path(destination)
    refuse_unsafe_output(destination, flag="--out")
    if destination.exists() and not destination.is_dir():
        raise DigitrecError(f"{destination}: is a file, not a folder; choose another --out")
    if destination.exists() and any(destination.iterdir()) and not overwrite:
        raise DigitrecError(f"{destination}: already exists; choose another --out or pass --overwrite")
    parent = destination.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".probe", dir=parent)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise DigitrecError(f"{parent}: cannot write a run here ({os_reason(error)})") from None
    free = shutil.disk_usage(parent).free
    if free < MIN_FREE_BYTES:
        raise DigitrecError(f"{parent}: only {free / 2**20:.0f} MiB free; a run needs at least {MIN_FREE_BYTES // 2**20} MiB")
    lock = take_lock(destination)
    for leftover in [*parent.glob(f".{destination.name}.*.partial"), *parent.glob(f".{destination.name}.*.old")]:
        shutil.rmtree(leftover, ignore_errors=True)  # ours to clear: we hold the lock for this name
    return RunClaim(destination, lock, destination.exists())


def take_lock(destination, flag="--out") -> Path:
    """The lock file `.NAME.lock` beside `destination`, created for this process; a second digitrec
    writing the same destination is refused at once in one line (a lock left by a killed process
    is taken over). Remove the returned path when done."""
    from .errors import DigitrecError

    destination = Path(destination)
    lock = destination.parent / f".{destination.name}.lock"
    for _ in range(2):
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = lock_holder(lock)
            if holder is not None:
                raise DigitrecError(f"{destination}: another digitrec is writing it (pid {holder}); wait for it or choose another {flag}") from None
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()  # left by a run that was killed: take it over
            continue
        except OSError as error:
            raise DigitrecError(f"{destination}: cannot write here ({os_reason(error)})") from None
        with os.fdopen(handle, "w") as written:
            written.write(str(os.getpid()))
        return lock
    raise DigitrecError(f"{destination}: could not take its lock file {lock}")


def refuse_unsafe_output(destination, inputs=(), flag="--output"):
    """A one-line error, before any work, when writing `destination` would destroy data: it is a
    symbolic link (digitrec never writes through one, dangling or not), or it is one of `inputs`
    (compared as files, not names: a hard link or another spelling of the path is the same file)."""
    from .errors import DigitrecError

    destination = Path(destination)
    if destination.is_symlink():
        raise DigitrecError(f"{destination}: is a symbolic link; digitrec does not write through links (name a file or folder that is not one as {flag})")
    if not destination.exists():
        return
    for source in inputs:
        try:
            same = os.path.samefile(destination, source)
        except OSError:
            continue
        if same:
            raise DigitrecError(f"{destination}: is one of the inputs ({source}); writing it would destroy them: choose another {flag}")


def lock_holder(lock: Path):
    """The pid in a lock file if that process is still alive, else None (a stale lock)."""
    try:
        pid = int(lock.read_text().strip() or 0)
    except (OSError, ValueError):
        return None
    if pid <= 0 or pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid  # alive, someone else's
    return pid


@contextlib.contextmanager
def atomic_directory(destination, overwrite=False, claim=None):
    """Yield a staging folder that becomes `destination` only if the block succeeds.

    An existing `destination` is replaced only when `overwrite` is true, and only at the very end;
    never one that appeared after `claim` was taken (the run is then kept beside it, and the
    error says where). A write that fails (a full or read-only disk) is one line, and nothing
    that was there is replaced.
    """
    from .errors import DigitrecError

    destination = Path(destination)
    if destination.exists() and not overwrite:
        if not destination.is_dir() or any(destination.iterdir()):
            raise DigitrecError(f"{destination}: already exists; choose another --out or pass --overwrite")
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent))
    try:
        try:
            yield staging
        except OSError as error:
            raise DigitrecError(f"{destination}: cannot write the run ({os_reason(error)}); nothing was replaced") from None
        appeared = claim is not None and not claim.existed and destination.exists()
        if appeared or (destination.exists() and not overwrite and any(destination.iterdir())):
            kept = destination.with_name(f"{destination.name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
            os.replace(staging, kept)
            raise DigitrecError(f"{destination}: appeared while this run was being made; the run is kept as {kept}")
        if destination.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".old", dir=destination.parent))
            os.replace(destination, retired / "run")
            os.replace(staging, destination)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, destination)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def read_json(path):
    """Parse a JSON file; a missing or malformed file is a one-line DigitrecError."""
    from .errors import DigitrecError

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DigitrecError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DigitrecError(f"{path}: is a folder, not a file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DigitrecError(f"{path}: cannot read ({getattr(error, 'strerror', None) or error})") from None
    except json.JSONDecodeError as error:
        raise DigitrecError(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from None
    except RecursionError:
        raise DigitrecError(f"{path}: JSON nested too deeply to read") from None
