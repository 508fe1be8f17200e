"""Download MNIST from public mirrors into the user cache, verifying every file.

Each mirror is tried in order for each file. A file is written to a temporary name in the cache,
its *decompressed* content checked against the known sha256 (one canonical mirror file was
recompressed elsewhere, so the .gz bytes may differ while the content is right), and renamed into
place only when it verifies. A mirror that is unreachable, answers an error or serves a bad file
is skipped for the next one. Mirrors can be overridden with `$DIGITREC_MNIST_MIRRORS`
(space-separated base URLs), which is how the tests point this at a local HTTP server.
"""

import contextlib
import gzip
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from .data import MNIST_FILES
from .errors import DigitrecError

DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",  # PyTorch's mirror
    "https://storage.googleapis.com/cvdf-datasets/mnist/",  # TensorFlow's mirror
    "https://yann.lecun.com/exdb/mnist/",  # the original
)
TIMEOUT_SECONDS = 30
CHUNK_BYTES = 1 << 16


def configured_mirrors():
    if os.environ.get("DIGITREC_MNIST_MIRRORS"):
        return tuple(os.environ["DIGITREC_MNIST_MIRRORS"].split())
    return DEFAULT_MIRRORS


class ProgressBar:
    """A one-line download progress bar on stderr (silent when `stream` is None)."""

    def __init__(self, label, stream=sys.stderr, width=30):
        self.label, self.stream, self.width = label, stream, width
        self.drawn = False

    def __call__(self, done, total):
        if self.stream is None:
            return
        self.drawn = True
        if total:
            filled = int(self.width * done / total)
            bar = "#" * filled + "." * (self.width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {done / 1e6:6.1f}/{total / 1e6:.1f} MB")
        else:
            self.stream.write(f"\r{self.label} {done / 1e6:6.1f} MB")
        self.stream.flush()

    def close(self):
        if self.stream is not None and self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def fetch(url, destination: Path, progress) -> None:
    """Stream `url` into `destination`, reporting `progress(done, total)`."""
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        with open(destination, "wb") as output:
            while chunk := response.read(CHUNK_BYTES):
                output.write(chunk)
                done += len(chunk)
                progress(done, total)
        if total and done != total:
            raise OSError(f"connection closed after {done} of {total} bytes")


def content_sha256(path: Path) -> str:
    """sha256 of the decompressed content of a .gz file (raises on a truncated or bad gzip)."""
    digest = hashlib.sha256()
    with gzip.open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(stem, expected_sha256, folder: Path, mirrors, stream=sys.stderr) -> Path:
    """Fetch `stem.gz` from the first mirror that serves a verified copy; returns its cache path."""
    destination = folder / f"{stem}.gz"
    problems = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + f"/{stem}.gz"
        handle, temporary = tempfile.mkstemp(prefix=f".{stem}.", suffix=".partial", dir=folder)
        os.close(handle)
        temporary = Path(temporary)
        bar = ProgressBar(f"{stem}.gz", stream)
        try:
            fetch(url, temporary, bar)
            bar.close()
            actual = content_sha256(temporary)
            if actual != expected_sha256:
                problems.append(f"{url}: content sha256 {actual[:12]}... does not match")
                continue
            os.replace(temporary, destination)
            return destination
        except urllib.error.HTTPError as error:
            bar.close()
            problems.append(f"{url}: HTTP {error.code} {error.reason}")
        except urllib.error.URLError as error:
            bar.close()
            problems.append(f"{url}: {getattr(error.reason, 'strerror', None) or error.reason}")
        except (OSError, EOFError, zlib.error, ValueError) as error:
            bar.close()
            problems.append(f"{url}: {getattr(error, 'strerror', None) or error}")
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
    raise DigitrecError(
        f"{stem}.gz: no mirror served a verified copy ({'; '.join(problems)}); offline, point digitrec at a "
        "folder that holds the MNIST files with --data-dir or DIGITREC_DATA_DIR"
    )


def download_mnist(folder, mirrors=None, stream=sys.stderr) -> Path:
    """Make sure `folder` holds the four verified MNIST files; download those missing."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DigitrecError(f"{folder}: cannot create the MNIST cache folder ({error.strerror})") from None
    mirrors = tuple(mirrors or configured_mirrors())
    for stem, sha256 in MNIST_FILES.items():
        if not (folder / f"{stem}.gz").is_file():
            download_file(stem, sha256, folder, mirrors, stream)
    return folder
