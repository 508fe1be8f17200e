"""Keep worker processes up: `digitrec serve --workers N`.

The supervisor starts N workers (fresh interpreters: spawn), waits until each says it is ready,
and then watches them. A worker that dies is replaced, with a line on stderr saying which one and
how it ended; when workers keep dying (MAX_RESTARTS within RESTART_WINDOW seconds, e.g. a model
that fails to load or a port taken by someone else) it stops the others and ends with one line and
exit code 1, rather than serving on half its workers or none. SIGTERM or Ctrl-C stop every worker
(each finishes what it is serving) and end it with 0. Workers end with the supervisor even when
it is killed with SIGKILL (`die_with_parent`).
"""

import signal
import sys
import time

from .errors import DigitrecError

MAX_RESTARTS = 5
RESTART_WINDOW = 60.0  # seconds
READY_TIMEOUT = 60.0


def die_with_parent():
    """On Linux, have the kernel send this process SIGTERM when its parent dies, even by SIGKILL
    (PR_SET_PDEATHSIG); elsewhere nothing. If the parent is already gone, exit at once."""
    import os

    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:
        os._exit(1)


def how_it_ended(code) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Supervisor:
    def __init__(self, target, args, workers, log=None):
        import multiprocessing

        self.context = multiprocessing.get_context("spawn")
        self.ready = self.context.Queue()
        self.target, self.args, self.count = target, args, workers
        self.processes = [None] * workers
        self.restarts = []  # times of recent restarts
        self.stopping = False
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))

    def start(self, index):
        process = self.context.Process(target=self.target, args=(*self.args, self.ready), name=f"digitrec-worker-{index + 1}")
        process.start()
        self.processes[index] = process

    def wait_until_ready(self, timeout=READY_TIMEOUT):
        """Return once every worker has said it is ready; raise if one died first."""
        import queue

        deadline = time.monotonic() + timeout
        for _ in self.processes:
            while True:
                try:
                    self.ready.get(timeout=0.1)
                    break
                except queue.Empty:
                    if any(process.exitcode is not None for process in self.processes):
                        raise DigitrecError("serve: a worker exited before it was listening") from None
                    if time.monotonic() > deadline:
                        raise DigitrecError(f"serve: workers not listening after {timeout:.0f} s") from None

    def stop(self, *_):
        self.stopping = True
        for process in self.processes:
            if process is not None and process.is_alive():
                process.terminate()  # SIGTERM: a worker finishes what it is serving, then exits

    def run(self, started=None):
        """Start the workers, call `started()` once all are ready, then keep them up until stopped."""
        from multiprocessing.connection import wait

        for index in range(self.count):
            self.start(index)
        try:
            self.wait_until_ready()
        except BaseException:
            self.stop()
            self.join()
            raise
        if started:
            started()
        previous = signal.signal(signal.SIGTERM, self.stop), signal.signal(signal.SIGINT, self.stop)
        try:
            while not self.stopping:
                wait([process.sentinel for process in self.processes], timeout=1.0)
                for index, process in enumerate(self.processes):
                    if self.stopping or process.is_alive():
                        continue
                    self.replace(index, process)
            self.join()
        finally:
            signal.signal(signal.SIGTERM, previous[0])
            signal.signal(signal.SIGINT, previous[1])

    def replace(self, index, process):
        now = time.monotonic()
        self.restarts = [moment for moment in self.restarts if now - moment < RESTART_WINDOW] + [now]
        if len(self.restarts) > MAX_RESTARTS:
            self.stop()
            self.join()
            raise DigitrecError(f"serve: workers keep stopping ({MAX_RESTARTS} restarts within {RESTART_WINDOW:.0f} s, the last one: "
                                f"{how_it_ended(process.exitcode)}); stopped")
        self.log(f"digitrec: worker {index + 1} (pid {process.pid}) stopped ({how_it_ended(process.exitcode)}); starting another")
        self.start(index)

    def join(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        for process in self.processes:
            if process is None:
                continue
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
