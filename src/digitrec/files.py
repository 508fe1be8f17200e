"""Files: written so that an interrupted run never leaves a half-written one, read with clear errors.

Everything digitrec writes goes to a temporary name in the destination's folder and is renamed
into place only once complete (`os.replace` is atomic on one filesystem).
"""

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(destination, suffix=""):
    """Yield a temporary path beside `destination`; rename it into place if the block succeeds.

    `suffix` keeps an extension that a writer insists on (Keras wants `.keras`, `.weights.h5`).
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".partial" + suffix, dir=destination.parent
    )
    os.close(handle)
    os.unlink(temporary)  # writers such as h5py want to create the file themselves
    try:
        yield Path(temporary)
        os.replace(temporary, destination)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


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


@contextlib.contextmanager
def atomic_directory(destination, overwrite=False):
    """Yield a staging folder that becomes `destination` only if the block succeeds.

    An existing `destination` is replaced only when `overwrite` is true, and only at the very end.
    """
    from .errors import DigitrecError

    destination = Path(destination)
    if destination.exists() and not overwrite:
        if not destination.is_dir() or any(destination.iterdir()):
            raise DigitrecError(f"{destination}: already exists; choose another --out or pass --overwrite")
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent))
    try:
        yield staging
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
