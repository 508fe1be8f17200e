"""Checkpoints after every epoch, so that a killed `digitrec train` continues (`--resume`).

A run writing `runs/x` keeps its checkpoints in `runs/.x.resume/`, beside the staging folder:

    config.json        the run's TrainConfig (a resumed run must use the same)
    epoch-0003/        one folder per finished epoch, written whole before `latest` names it
        variables.npz  every variable of the model being trained (augmentation layers' random
                       state included) and of its optimizer (step count, moments, learning rate)
        state.json     the epoch, the history so far, ReduceLROnPlateau's counters, the seconds
                       trained so far (a fixed-steps recipe's batches follow from seed and step)
    latest             the name of the newest complete epoch folder (replaced atomically)

`latest` changes only once an epoch folder is complete, so a kill at any moment leaves either the
previous checkpoint or the new one, never half of one. The folder is removed once the run is saved.
"""

import json
import os
import shutil
from pathlib import Path

import numpy as np

from . import files, runs
from .errors import DigitrecError


def resume_dir(out_dir) -> Path:
    out_dir = Path(out_dir)
    return out_dir.parent / f".{out_dir.name}.resume"


def saved_config(out_dir):
    """The TrainConfig of a run that can be resumed, or a one-line error saying why not."""
    from .config import TrainConfig

    out_dir, folder = Path(out_dir), resume_dir(out_dir)
    if out_dir.is_dir() and (out_dir / runs.MODEL).is_file() and not folder.exists():
        raise DigitrecError(f"{out_dir}: this run finished already; nothing to resume")
    if not (folder / runs.CONFIG).is_file():
        raise DigitrecError(f"{out_dir}: nothing to resume (no checkpoint in {folder}); start it with --model")
    try:
        return TrainConfig.from_dict(runs.read(folder, runs.CONFIG))
    except (ValueError, TypeError, KeyError) as error:
        raise DigitrecError(f"{folder / runs.CONFIG}: not a readable checkpoint config ({error})") from None


def start(out_dir, config, resume=False):
    """Prepare the checkpoint folder for a run: a fresh one, or with `resume` the one a killed run
    left (whose config must be `config`). Returns the state of the last finished epoch, or None."""
    folder = resume_dir(out_dir)
    if resume:
        if saved_config(out_dir).to_dict() != config.to_dict():
            raise DigitrecError(f"{out_dir}: the checkpoint was made with other settings; resume it without changing them")
        return latest(folder)
    shutil.rmtree(folder, ignore_errors=True)  # an older run's checkpoints, for a run started anew
    folder.mkdir(parents=True)
    files.write_json(folder / runs.CONFIG, config.to_dict())
    return None


def latest(folder):
    """(state dict, variables path) of the newest complete checkpoint, or None."""
    pointer = Path(folder) / "latest"
    if not pointer.is_file():
        return None
    epoch_dir = Path(folder) / pointer.read_text(errors="replace").strip()
    try:
        state = json.loads((epoch_dir / "state.json").read_text())
    except (OSError, ValueError) as error:
        raise DigitrecError(f"{epoch_dir / 'state.json'}: damaged checkpoint ({str(error).splitlines()[0][:120]}); "
                            "start the run again with --model") from None
    if not isinstance(state, dict) or not isinstance(state.get("epoch"), int):
        raise DigitrecError(f"{epoch_dir / 'state.json'}: damaged checkpoint (no epoch number); start the run again with --model")
    return state, epoch_dir / "variables.npz"


def save(folder, epoch, trainer, state):
    """Write the checkpoint of a finished epoch (numbered from 1), then point `latest` at it."""
    folder = Path(folder)
    name = f"epoch-{epoch:04d}"
    epoch_dir = folder / name
    shutil.rmtree(epoch_dir, ignore_errors=True)
    epoch_dir.mkdir()
    arrays = {f"model_{i}": np.asarray(v.numpy()) for i, v in enumerate(trainer.variables)}
    arrays.update({f"optimizer_{i}": np.asarray(v.numpy()) for i, v in enumerate(trainer.optimizer.variables)})
    with open(epoch_dir / "variables.npz", "wb") as handle:
        np.savez(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())
    files.write_json(epoch_dir / "state.json", {"epoch": epoch, **state})
    files.write_text(folder / "latest", name)  # atomic: the old checkpoint stays valid until here
    for old in folder.glob("epoch-*"):
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)


def restore(trainer, variables_path):
    """Put a checkpoint's values back into a compiled model and its optimizer."""
    import zipfile

    trainer.optimizer.build(trainer.trainable_variables)
    try:
        with np.load(variables_path, allow_pickle=False) as arrays:
            for prefix, variables in (("model", trainer.variables), ("optimizer", trainer.optimizer.variables)):
                saved = sorted((key for key in arrays.files if key.startswith(prefix + "_") and key.rsplit("_", 1)[1].isdigit()),
                               key=lambda key: int(key.rsplit("_", 1)[1]))
                if len(saved) != len(variables):
                    raise DigitrecError(f"{variables_path}: holds {len(saved)} {prefix} variables, the model has {len(variables)}")
                for variable, key in zip(variables, saved):
                    value = arrays[key]
                    if tuple(value.shape) != tuple(variable.shape):
                        raise DigitrecError(f"{variables_path}: {key} has shape {tuple(value.shape)}, the model's variable {tuple(variable.shape)}")
                    variable.assign(value)
    except DigitrecError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zipfile.LargeZipFile) as error:
        raise DigitrecError(f"{variables_path}: damaged checkpoint ({type(error).__name__}: {str(error).splitlines()[0][:120] if str(error) else 'unreadable'}); "
                            "start the run again with --model") from None


def finish(out_dir):
    shutil.rmtree(resume_dir(out_dir), ignore_errors=True)
