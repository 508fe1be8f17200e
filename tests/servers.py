"""Helpers for tests that start real servers on 127.0.0.1."""

import socket
import sys


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_command(*args, host="127.0.0.1"):
    """`digitrec serve` in a subprocess of this interpreter."""
    return [sys.executable, "-m", "digitrec", "serve", "--host", host, *args]
