"""Several training runs at once: ensemble members and small sweeps, here or on a Ray cluster.

A `Job` is one `digitrec train` (a model and its overrides) writing a normal run folder under a
root folder. `run_jobs` trains a list of them:

- `engine="local"`: `workers` at a time on this machine, each a `digitrec train` process with its
  share of the CPUs (TensorFlow's thread pools are sized by TF_NUM_INTRAOP_THREADS);
- `engine="ray"`: one Ray task per job, each asking for `cpus` CPUs (by default the cluster's CPUs
  over `workers`) and one GPU when the cluster has GPUs, on a cluster joined through `address` or RAY_ADDRESS, else a local Ray
  started with `workers` CPUs (`cluster.start_ray`). The root folder and MNIST must be at the same
  paths on every machine (a shared filesystem).

Either way each job is a fresh `digitrec train` process that dies with whoever started it. A job
whose process or Ray worker was killed is tried once more, and the retry continues the killed
run from its last checkpoint (`digitrec train --resume`); a job that fails twice ends everything
with one line naming its run folder. A finished run folder is not trained again, so running the
same command after a failure only trains what is missing.
"""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

from . import runs
from .errors import DigitrecError

RETRIES = 1  # a killed job is tried once more, continuing from its checkpoint

# what a Job's overrides may set, and the `digitrec train` flag for each
FLAGS = {"seed": "--seed", "epochs": "--epochs", "batch_size": "--batch-size", "learning_rate": "--learning-rate",
         "limit": "--limit", "validation_split": "--validation-split"}


class Killed(DigitrecError):
    """A run's process was killed (not refused): worth one more try, from its checkpoint."""


@dataclasses.dataclass(frozen=True)
class Job:
    name: str  # the run folder's name under the root
    model: str
    overrides: tuple = ()  # ((setting, value), ...), settings from FLAGS

    def command(self, out: Path, data_dir: Optional[str]) -> list:
        from .checkpoints import resume_dir

        base = [sys.executable, "-m", "digitrec", "train"]
        if (resume_dir(out) / runs.CONFIG).is_file():  # a killed try left a checkpoint: continue it
            command = [*base, "--resume", str(out)]
        else:
            command = [*base, "--model", self.model, "--out", str(out)]
            for setting, value in self.overrides:
                command += [FLAGS[setting], str(value)]
        return command + (["--data-dir", data_dir] if data_dir else [])


def train_job(job: Job, root: str, data_dir: Optional[str], threads: int) -> dict:
    """Train one job into `root`/`job.name` (or take the finished run already there); returns
    its summary. Runs in the driver's threads (local) or in a Ray worker (ray)."""
    from .supervisor import die_with_parent

    out = Path(root) / job.name
    if (out / runs.MODEL).is_file():
        check_finished(job, out)
    else:
        env = {**os.environ, "TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": str(max(1, min(2, threads))),
               "OMP_NUM_THREADS": str(threads), "TF_CPP_MIN_LOG_LEVEL": "2"}
        finished = subprocess.run(job.command(out, data_dir), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True, preexec_fn=die_with_parent)
        if finished.returncode < 0:
            from .supervisor import how_it_ended

            raise Killed(f"{out}: training was {how_it_ended(finished.returncode)}")
        if finished.returncode != 0:
            lines = [line for line in finished.stderr.splitlines() if line.strip()]
            why = lines[-1].removeprefix("digitrec: error: ") if lines else f"exit code {finished.returncode}"
            raise DigitrecError(f"{out}: training failed: {why}")
    return summary(job, out)


def check_finished(job: Job, out: Path):
    """A finished run in the job's folder is taken only if it was trained as the job says."""
    record = runs.read(out, runs.CONFIG, {}) or {}
    config = record.get("config", {})
    asked = [("model", job.model)] + [("validation_fraction" if key == "validation_split" else key, value) for key, value in job.overrides]
    for key, value in asked:
        if config.get(key) != value:
            raise DigitrecError(f"{out}: a finished run trained with {key} {config.get(key)}, not {value}; choose another folder")


def summary(job: Job, out: Path) -> dict:
    metrics = runs.read(out, runs.METRICS, {})
    history = runs.read(out, runs.HISTORY, {})
    validation = history.get("val_accuracy") or [None]  # the last epoch's, unless the saved model was measured itself
    return {"name": job.name, "run": str(out), "model": job.model, **dict(job.overrides),
            "validation_accuracy": metrics.get("validation_accuracy", validation[-1]), "test_accuracy": metrics.get("test_accuracy"),
            "train_seconds": metrics.get("train_seconds")}


def run_jobs(jobs, root, engine="local", workers=None, cpus=None, address=None, data_dir=None) -> list:
    """Train every job into `root`; returns their summaries in the jobs' order."""
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise DigitrecError(f"two jobs would write the same run folder: {sorted(n for n in names if names.count(n) > 1)[0]}")
    root = Path(root).resolve()
    created = not root.exists()
    data_dir = str(Path(data_dir).resolve()) if data_dir else None
    workers = workers or max(1, min(len(jobs), os.cpu_count() or 1))
    try:
        if engine == "ray":
            return run_on_ray(jobs, root, workers, cpus, address, data_dir)
        threads = cpus or max(1, (os.cpu_count() or 1) // workers)
        root.mkdir(parents=True, exist_ok=True)
        return run_here(jobs, str(root), workers, threads, data_dir)
    except BaseException:
        if created and root.is_dir() and not any(root.iterdir()):
            root.rmdir()  # nothing was trained: leave nothing behind
        raise


def with_retry(job, root, data_dir, threads):
    for attempt in range(RETRIES + 1):
        try:
            return train_job(job, root, data_dir, threads)
        except Killed:
            if attempt == RETRIES:
                raise


def run_here(jobs, root, workers, threads, data_dir) -> list:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(with_retry, job, root, data_dir, threads) for job in jobs]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def run_on_ray(jobs, root, workers, cpus, address, data_dir) -> list:
    import ray

    from .cluster import start_ray

    started_here = start_ray(workers, address)
    try:
        root.mkdir(parents=True, exist_ok=True)
        root = str(root)
        resources = ray.cluster_resources()
        total = int(resources.get("CPU", workers))
        cpus = cpus or max(1, total // max(1, min(workers, len(jobs))))
        gpus = 1 if resources.get("GPU", 0) >= 1 else 0  # a GPU per run where the cluster has them (Ray sets CUDA_VISIBLE_DEVICES)
        # a worker that dies (killed, out of memory) is a system failure: Ray runs the task again,
        # and train_job continues the killed run from its checkpoint
        task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=RETRIES, retry_exceptions=False)(train_job)
        pending = [task.remote(job, root, data_dir, cpus) for job in jobs]
        try:
            return ray.get(pending)
        except ray.exceptions.RayTaskError as error:
            cause = error.cause if isinstance(getattr(error, "cause", None), DigitrecError) else None
            raise DigitrecError(str(cause) if cause else f"a training task failed: {str(error).strip().splitlines()[-1][:300]}") from None
        except ray.exceptions.RayError as error:
            raise DigitrecError(f"a training task failed twice: {str(error).strip().splitlines()[-1][:300]} "
                                "(finished runs are kept: run the same command again to train the rest)") from None
    finally:
        if started_here:
            ray.shutdown()


def member_jobs(model, seeds, **overrides) -> list:
    """One job per seed: `MODEL-seedS`."""
    given = tuple((key, value) for key, value in overrides.items() if value is not None)
    return [Job(f"{model}-seed{seed}", model, (("seed", seed), *given)) for seed in seeds]


def sweep_jobs(model, grid: dict, **fixed) -> list:
    """One job per combination of the values in `grid` ({setting: [values]}), named after them;
    every job validates on a split of the training images (`fixed` may set its fraction)."""
    import itertools

    settings = [key for key, values in grid.items() if values]
    given = tuple((key, value) for key, value in fixed.items() if value is not None)
    jobs = []
    for values in itertools.product(*(grid[key] for key in settings)):
        name = "-".join([model, *(f"{key.replace('_', '')}{value:g}" if isinstance(value, float) else f"{key.replace('_', '')}{value}"
                                  for key, value in zip(settings, values))])
        jobs.append(Job(name, model, (*zip(settings, values), *given)))
    return jobs
