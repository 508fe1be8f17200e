"""Helpers for tests that start real servers on 127.0.0.1."""

import contextlib
import signal
import socket
import subprocess
import sys


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_command(*args, host="127.0.0.1"):
    """`digitrec serve` in a subprocess of this interpreter."""
    return [sys.executable, "-m", "digitrec", "serve", "--host", host, *args]


@contextlib.contextmanager
def served(*args, host="127.0.0.1"):
    """A `digitrec serve` subprocess on a free port, up before the block (its port is yielded) and
    stopped with SIGTERM after it."""
    port = free_port()
    server = subprocess.Popen(serve_command("--port", str(port), *args, host=host), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().startswith("digitrec: serving on"), server.stderr.read()[-500:]
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
