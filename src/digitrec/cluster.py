"""Batch prediction on a Ray cluster (`digitrec predict ... --engine ray`), the optional extra
`pip install 'digitrec[cluster]'`. Imported only when asked for: the light path never loads Ray.

The same work as the local engine (`batch.py`), spread with Ray Data: the inputs listed in the
driver (file paths, or the 28x28 rows of a CSV or IDX file), `map_batches` on a pool of actors that
each hold one `Predictor` (one ONNX Runtime session per model, loaded once), answers back to the
driver in input order, where they are written out. Every machine must see the picture files at
the same paths (a shared filesystem) and have digitrec installed.

With no address a local Ray is started on this machine with `workers` CPUs; with `address` (or
RAY_ADDRESS) the driver joins that cluster. The inputs go through in windows of WINDOW items, so
the driver holds at most one window of them, whatever their number.
"""

import logging
import os
import pickle
import warnings
from typing import Iterator

import numpy as np

from .errors import DigitrecError

WINDOW = 50_000  # inputs per Ray Data run: bounds the driver's memory; each run starts its actors anew
ACTOR_BATCH = 256  # inputs per actor call, as a local chunk


class ChunkReader:
    """A Ray Data actor: one Predictor, reused for every batch it is given."""

    def __init__(self, settings, multi):
        from .inference import Predictor

        self.predictor = Predictor(**settings, threads=1)
        self.multi = multi

    def __call__(self, batch):
        from .batch import Item, read_chunk

        items = []
        for key, path, pixels, label, error in zip(batch["key"], batch["path"], batch["pixels"], batch["label"], batch["error"]):
            items.append(Item(
                str(key),
                path=str(path) if path else None,
                pixels=np.frombuffer(pixels, np.uint8).reshape(28, 28) if len(pixels) else None,
                label=None if int(label) < 0 else int(label),
                error=str(error) if error else None,
            ))
        results = read_chunk(self.predictor, items, self.multi)
        return {"result": np.array([pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL) for result in results], dtype=object)}


def record(item) -> dict:
    return {
        "key": item.key,
        "path": item.path or "",
        "pixels": item.pixels.tobytes() if item.pixels is not None else b"",
        "label": -1 if item.label is None else int(item.label),
        "error": item.error or "",
    }


def check_reachable(address, timeout=5.0):
    """A one-line error at once when a HOST:PORT address takes no connection (Ray itself retries
    for minutes). Other forms ("auto", "ray://...") are left to Ray."""
    import socket

    host, _, port = address.rpartition(":")
    if not host or "/" in host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        raise DigitrecError(f"cannot start or join the Ray cluster at {address}: {error.strerror or error} (is `ray start --head` running there?)") from None


def start_ray(workers, address=None):
    """Join the cluster at `address` (or RAY_ADDRESS), else start a local Ray with `workers` CPUs.
    Returns whether it was started here (and so is to be shut down here)."""
    import ray

    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    options = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR, configure_logging=True)
    if address:
        check_reachable(address)
    try:
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=workers, **options)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise DigitrecError(f"cannot start or join {where}: {str(error).splitlines()[0][:200]}") from None
    return True


def map_window(dataset, settings, multi, actors):
    options = dict(
        fn_constructor_kwargs={"settings": settings, "multi": multi},
        batch_size=ACTOR_BATCH,
        batch_format="numpy",
        concurrency=actors,
        num_cpus=1,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # passing max_restarts this way is deprecated in Ray 2.60
            # an actor that dies ends the run (the file so far is kept for --resume): with restarts,
            # Ray logs on every run that they could fail (ray-project/ray issue 53727)
            return dataset.map_batches(ChunkReader, max_restarts=0, **options)
    except TypeError:  # a Ray that no longer takes it
        return dataset.map_batches(ChunkReader, **options)


def ray_predictions(settings, items, multi=False, workers=2, address=None) -> Iterator:
    """Predictions for `items` (batch.Item) in input order, read by Ray actors."""
    import itertools

    import ray

    started_here = start_ray(workers, address)
    try:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # answers in input order, as locally
        context.enable_progress_bars = False  # digitrec draws its own
        for name in ("ray", "ray.data"):
            logging.getLogger(name).setLevel(logging.ERROR)
        actors = max(1, min(workers, int(ray.cluster_resources().get("CPU", workers))))
        items = iter(items)
        while window := [record(item) for item in itertools.islice(items, WINDOW)]:
            dataset = map_window(ray.data.from_items(window), settings, multi, actors)
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                for blob in batch["result"]:
                    yield pickle.loads(blob)
    except ray.exceptions.RayError as error:
        raise DigitrecError(f"the Ray run failed: {str(error).strip().splitlines()[-1][:300]} (what was written so far is kept)") from None
    finally:
        if started_here:
            ray.shutdown()
