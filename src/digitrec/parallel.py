"""One model trained on several workers, data-parallel, on Ray (`digitrec train --engine ray
--workers N`): the optional extras `cluster` and `distributed` (PyTorch, Ray Train).

Keras 3 on TensorFlow cannot do this here: with `MultiWorkerMirroredStrategy`, `fit` fails with
"unsupported type PerReplica" (keras-team/keras issue 20585). So the workers run Keras on its
PyTorch backend, started by Ray Train's `TorchTrainer`, which joins them in a gloo process group
(CPU). Each worker builds the same model from the same seed and trains it with Keras's own `fit`,
the recipe's optimizer, schedule, loss and callbacks; only the training step differs: after the
backward pass the gradients of all workers are summed with one all-reduce and divided by the
number of workers, so every worker applies the same update and the weights stay equal.

- **Batch and learning rate.** The recipe's batch size is the global batch: each of N workers
  takes its 1/N share of every batch (so the batch size must divide by N), and the learning rate
  and its schedule are the recipe's, unchanged: the averaged gradient is that of the global batch.
- **Data.** Every worker reads MNIST (or the CSV) from the same path; batch k is the same global
  batch on every worker (a function of the seed and k, as in `training.RepeatingBatches`), and
  worker r takes rows r, r + N, ... of it. One epoch is ceil(images / batch) global batches; the
  last one runs on into the next epoch's order, as fixed-steps recipes do.
- **Batch norm** normalises with each worker's share of the batch; at the end of every epoch the
  workers' moving averages (and the epoch's figures) are averaged, so every worker holds the same
  model.
- **Starting weights** are drawn by the driver on TensorFlow, as a local run with the same seed
  draws them (Keras's random numbers differ between backends), and loaded by every worker.
- **Run folder, history, checkpoints, resume.** Worker 0 runs the same callbacks as a local run:
  the history, the per-epoch checkpoint (`checkpoints.py`) and the progress bar. When the workers
  are done, the driver loads worker 0's weights into the registry model on TensorFlow, measures
  it on the test set and writes the run folder with the code a local run uses. A worker that dies
  makes Ray Train restart the group once (`RETRIES`); the new workers continue from the last
  checkpoint, as `digitrec train --resume` does.
"""

import os
import time
from pathlib import Path

from .errors import DigitrecError

RETRIES = 1
WEIGHTS = "final.weights.h5"  # worker 0's trained weights, in the checkpoint folder
STATE = "final.json"  # worker 0's history and seconds trained, beside them
PROGRESS = "progress.txt"  # worker 0's progress bar, which the driver shows as it grows
INITIAL = "initial.weights.h5"  # the starting weights, made here: Keras's random numbers differ between backends


def check_installed():
    """One line naming the extra when Ray Train or PyTorch is missing, before anything is written."""
    import importlib.util

    for module, extra in (("ray", "cluster"), ("torch", "distributed")):
        if importlib.util.find_spec(module) is None:
            raise DigitrecError(f"--engine ray needs {module}, which is not installed: pip install 'digitrec[cluster,distributed]'")


def check_workers(config, workers):
    if config.batch_size % workers:
        raise DigitrecError(f"the recipe's batch of {config.batch_size} does not divide among {workers} workers; "
                            f"give --batch-size a multiple of {workers}")


def train_data_parallel(config, workers, out_dir, data_dir=None, overwrite=False, verbose=0, resume=False, address=None):
    """Train `config` on `workers` Ray workers and save the run to `out_dir`; a `TrainResult`."""
    from . import checkpoints, files
    from .cluster import start_ray
    from .training import TrainResult, build_trainer, prepare_data, save_run, saved_and_measured

    check_installed()
    check_workers(config, workers)
    data_dir = str(Path(data_dir).resolve()) if data_dir else None
    claim = files.claim_run_folder(out_dir, overwrite)
    try:
        restored = checkpoints.start(out_dir, config, resume)
        folder = checkpoints.resume_dir(out_dir).resolve()
        prepared = prepare_data(config, data_dir=data_dir)  # a bad data folder is one line before Ray starts
        for stale in (WEIGHTS, STATE, PROGRESS):
            (folder / stale).unlink(missing_ok=True)
        if not (folder / INITIAL).is_file():
            # the seed's starting weights as a local run draws them (TensorFlow's random numbers), so
            # that the workers start where `digitrec train` without --engine ray would
            build_trainer(config)[0].save_weights(folder / INITIAL)
        started_here = start_ray(workers, address)
        try:
            with relayed(folder / PROGRESS):
                run_workers(config, workers, folder, data_dir, verbose)
        finally:
            if started_here:
                import ray

                ray.shutdown()
        final = files.read_json(folder / STATE)
        model, _ = build_trainer(config)
        model.load_weights(folder / WEIGHTS)
        images = final["images_per_epoch"] * config.epochs
        timing = {"train_seconds": final["train_seconds"], "train_images_per_second": images / final["train_seconds"],
                  "epochs": config.epochs, "workers": workers}
        model, metrics = saved_and_measured(model, config, prepared, timing)
        if restored:
            metrics["resumed_after_epoch"] = restored[0]["epoch"]
        run_dir = save_run(out_dir, model, config, final["history"], metrics, prepared.record, overwrite, claim)
        checkpoints.finish(out_dir)
    finally:
        claim.release()
    return TrainResult(model=model, history=final["history"], metrics=metrics, run_dir=run_dir)


class relayed:
    """While the workers train: what worker 0 writes to `path` (its progress bar) goes on to
    stdout here, as it comes (Ray does not pass the workers' output on)."""

    def __init__(self, path):
        self.path, self.offset, self.done = Path(path), 0, None

    def copy(self):
        import sys

        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                text = handle.read()
        except FileNotFoundError:
            return
        self.offset += len(text)
        if text:
            sys.stdout.write(text.decode("utf-8", "replace"))
            sys.stdout.flush()

    def __enter__(self):
        import threading

        self.done = threading.Event()

        def follow():
            while not self.done.wait(0.1):
                self.copy()

        self.thread = threading.Thread(target=follow, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()
        self.copy()


def run_workers(config, workers, folder, data_dir, verbose):
    import ray
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    threads = max(1, int(ray.cluster_resources().get("CPU", workers)) // workers)
    environment = {"KERAS_BACKEND": "torch", "OMP_NUM_THREADS": str(threads), "TF_CPP_MIN_LOG_LEVEL": "2"}
    trainer = TorchTrainer(
        worker_loop,
        train_loop_config={"config": config.to_dict(), "folder": str(folder), "data_dir": data_dir, "verbose": verbose,
                           "threads": threads},
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=False, resources_per_worker={"CPU": threads}),
        run_config=RunConfig(name=f"digitrec-{folder.name.strip('.')}-{int(time.time())}", storage_path=str(folder / "ray"),
                             failure_config=FailureConfig(max_failures=RETRIES), worker_runtime_env={"env_vars": environment}),
    )
    try:
        trainer.fit()
    except Exception as error:  # Ray wraps what a worker raised; one line of it
        lines = [line for line in str(error).strip().splitlines() if line.strip()]
        raise DigitrecError(f"data-parallel training failed: {lines[-1][:300] if lines else type(error).__name__} "
                            "(the last finished epoch is kept: digitrec train --resume continues it)") from None


def worker_loop(settings):
    """One Ray Train worker: the recipe's fit on this worker's share of every batch."""
    os.environ["KERAS_BACKEND"] = "torch"
    import keras
    import torch
    import torch.distributed as distributed
    from ray import train as ray_train

    from . import checkpoints, data, files
    from .config import TrainConfig
    from .training import (Checkpointer, ProgressBar, RepeatingBatches, ResumableReduceLROnPlateau, build_callbacks,
                           build_optimizer, build_trainer, compile_model, finish_restored, prepare_data,
                           validation_arrays)

    if keras.backend.backend() != "torch":
        raise RuntimeError(f"the workers need Keras on PyTorch, got {keras.backend.backend()} (set KERAS_BACKEND=torch)")
    torch.set_num_threads(settings["threads"])
    context = ray_train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    config = TrainConfig.from_dict(settings["config"])
    folder = Path(settings["folder"])
    prepared = prepare_data(config, data_dir=settings["data_dir"])
    x_train, y_train = data.scale_images(prepared.train[0]), data.one_hot(prepared.train[1])
    validation = validation_arrays(prepared)
    model, inner = build_trainer(config)
    model.load_weights(folder / INITIAL)
    steps = config.steps_per_epoch or -(-len(x_train) // config.batch_size)
    trainer = averaged_gradients(inner, world)
    compile_model(trainer, build_optimizer(config, steps), config.label_smoothing)
    trainer(x_train[:1])  # create every variable before a checkpoint is restored into them
    restored = checkpoints.latest(folder)  # a killed try, or a `--resume`: go on from there
    state, start_epoch = (restored[0], restored[0]["epoch"]) if restored else ({}, 0)
    if restored:
        checkpoints.restore(trainer, restored[1])
    callbacks = [*build_callbacks(config, state.get("plateau")), epoch_average(world)]
    if rank == 0:
        plateau = next((c for c in callbacks if isinstance(c, ResumableReduceLROnPlateau)), None)
        recorder = Checkpointer(folder, dict(state.get("history", {})), plateau, state.get("train_seconds", 0.0),
                                validation_name="test" if config.validation == "test" else "val")
        stream = open(folder / PROGRESS, "a", buffering=1, encoding="utf-8")  # the driver shows it (`relayed`)
        callbacks += [recorder, ProgressBar(settings["verbose"], steps, config.batch_size, steps * config.batch_size,
                                            recorder.validation_name, stream=stream)]
    batches = RepeatingBatches(x_train, y_train, config.batch_size, steps, config.seed, start_step=start_epoch * steps, shard=(rank, world))
    started = time.perf_counter()
    if start_epoch < config.epochs:
        trainer.fit(batches, epochs=config.epochs, initial_epoch=start_epoch, validation_data=validation, callbacks=callbacks, verbose=0)
    else:
        finish_restored(trainer)
    if rank == 0:
        stream.close()
        model.save_weights(folder / WEIGHTS)
        files.write_json(folder / STATE, {"history": recorder.history, "images_per_epoch": steps * config.batch_size,
                                          "train_seconds": state.get("train_seconds", 0.0) + time.perf_counter() - started})
    distributed.barrier()


def averaged_gradients(inner, world):
    """A Keras model (PyTorch backend) around `inner` whose training step averages the gradients
    over the `world` workers (one all-reduce of them all) before the optimizer applies them."""
    import keras
    import torch
    import torch.distributed as distributed

    class Averaged(keras.Model):
        def __init__(self):
            super().__init__(name="data_parallel")
            self.inner = inner

        def call(self, images, training=False):
            return self.inner(images, training=training)

        def train_step(self, batch):
            images, labels = batch
            self.zero_grad()
            predicted = self(images, training=True)
            loss = self._compute_loss(x=images, y=labels, y_pred=predicted, sample_weight=None, training=True)
            self._loss_tracker.update_state(loss, sample_weight=images.shape[0])  # as Keras's own torch step does
            loss.backward()
            variables = self.trainable_weights
            gradients = [variable.value.grad for variable in variables]
            flat = torch.cat([gradient.reshape(-1) for gradient in gradients])
            distributed.all_reduce(flat)
            flat /= world
            averaged, offset = [], 0
            for gradient in gradients:
                averaged.append(flat[offset: offset + gradient.numel()].view_as(gradient))
                offset += gradient.numel()
            with torch.no_grad():
                self.optimizer.apply(averaged, variables)
            return self.compute_metrics(images, labels, predicted)

    return Averaged()


def epoch_average(world):
    """At the end of each epoch: the workers' figures and batch-norm moving averages (every
    non-trainable weight) are averaged, so the history and the model are the group's."""
    import keras
    import torch
    import torch.distributed as distributed

    class Average(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs:
                keys = sorted(key for key in logs if key.startswith(("loss", "accuracy")))
                values = torch.tensor([float(logs[key]) for key in keys], dtype=torch.float64)
                distributed.all_reduce(values)
                logs.update({key: float(value) / world for key, value in zip(keys, values)})
            with torch.no_grad():
                for variable in self.model.non_trainable_weights:
                    if "seed_generator" in variable.path:
                        continue  # random states: each worker keeps its own
                    value = variable.value.detach().clone()
                    distributed.all_reduce(value)
                    variable.assign(value / world)

    return Average()
