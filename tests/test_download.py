"""The downloader against local HTTP servers: a good mirror, bad ones, an unreachable one."""

import functools
import http.server
import io
import socket
import threading

import pytest

from digitrec import data, download
from digitrec.errors import DigitrecError


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve_folder():
    """Start an HTTP server on 127.0.0.1 for a folder; returns its base URL."""
    servers = []

    def start(folder):
        handler = functools.partial(QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/mnist/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def mirror_folder(root, mnist_dir, damage=None):
    """A mirror tree root/mnist/ with the real files, one of them damaged by `damage(bytes)`."""
    folder = root / "mnist"
    folder.mkdir(parents=True)
    for stem in data.MNIST_FILES:
        content = (mnist_dir / f"{stem}.gz").read_bytes()
        if damage and stem == "t10k-labels-idx1-ubyte":
            content = damage(content)
        (folder / f"{stem}.gz").write_bytes(content)
    return root


def closed_port_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"  # nothing listens here once the probe is closed


def test_download_from_good_mirror_with_progress(mnist_dir, serve_folder, tmp_path):
    good = serve_folder(mirror_folder(tmp_path / "good", mnist_dir))
    cache = tmp_path / "cache"
    progress = io.StringIO()
    assert download.download_mnist(cache, mirrors=[good], stream=progress) == cache
    assert data.mnist_checksums(cache) == data.MNIST_FILES
    assert "train-images-idx3-ubyte.gz [" in progress.getvalue() and "MB" in progress.getvalue()
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{s}.gz" for s in data.MNIST_FILES)


def test_bad_and_unreachable_mirrors_are_skipped(mnist_dir, serve_folder, tmp_path):
    truncated = serve_folder(mirror_folder(tmp_path / "truncated", mnist_dir, damage=lambda c: c[: len(c) // 2]))
    wrong = serve_folder(mirror_folder(tmp_path / "wrong", mnist_dir, damage=lambda c: (mnist_dir / "train-labels-idx1-ubyte.gz").read_bytes()))
    good = serve_folder(mirror_folder(tmp_path / "good", mnist_dir))
    cache = tmp_path / "cache"
    download.download_mnist(cache, mirrors=[closed_port_url(), truncated, wrong, good], stream=None)
    assert data.mnist_checksums(cache) == data.MNIST_FILES
    assert not list(cache.glob(".*")), "no temporary files left behind"


def test_all_mirrors_bad_leaves_nothing_in_the_cache(mnist_dir, serve_folder, tmp_path):
    truncated = serve_folder(mirror_folder(tmp_path / "truncated", mnist_dir, damage=lambda c: c[:3000]))
    missing_root = tmp_path / "missing"
    (missing_root / "mnist").mkdir(parents=True)
    missing = serve_folder(missing_root)
    cache = tmp_path / "cache"
    with pytest.raises(DigitrecError) as caught:
        download.download_mnist(cache, mirrors=[closed_port_url(), missing, truncated], stream=None)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("t10k-labels-idx1-ubyte.gz: no mirror served a verified copy (")
    assert "Connection refused" in message and "404" in message
    assert message.endswith("offline, point digitrec at a folder that holds the MNIST files with --data-dir or DIGITREC_DATA_DIR")
    assert not (cache / "t10k-labels-idx1-ubyte.gz").exists()
    assert not list(cache.glob(".*")), "no temporary files left behind"


def test_load_mnist_downloads_into_the_cache_when_nothing_else(mnist_dir, serve_folder, tmp_path, isolated_env, monkeypatch):
    good = serve_folder(mirror_folder(tmp_path / "good", mnist_dir))
    monkeypatch.setenv("DIGITREC_MNIST_MIRRORS", f"{closed_port_url()} {good}")
    (x_train, _), (_, y_test) = data.load_mnist()
    assert x_train.shape == (60000, 28, 28) and y_test.shape == (10000,)
    assert data.has_mnist(data.default_cache_dir())
