"""Learning-rate schedules and the callbacks that record them (backend-neutral Keras)."""

import math
import time

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="digitrec")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine warm-up from max/25 to max over the first 25 % of steps, then cosine down to ~0.

    Smith & Topin's one-cycle policy with cosine annealing and PyTorch OneCycleLR's div_factor
    (25) and final_div_factor (1e4), but not its warm-up share (PyTorch: 30 %), and with no
    momentum cycling: it lets a small batch-normalised CNN pass 99 % in two epochs.
    """

    def __init__(self, max_learning_rate, total_steps, warmup_fraction=0.25, div_factor=25.0, final_div_factor=1e4):
        self.max_learning_rate = float(max_learning_rate)
        self.total_steps = int(total_steps)
        self.warmup_fraction = float(warmup_fraction)
        self.div_factor = float(div_factor)
        self.final_div_factor = float(final_div_factor)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = self.max_learning_rate
        start = peak / self.div_factor
        end = start / self.final_div_factor
        warmup_steps = max(1.0, self.warmup_fraction * self.total_steps)
        decay_steps = max(1.0, self.total_steps - warmup_steps)
        rising = ops.minimum(step / warmup_steps, 1.0)
        falling = ops.clip((step - warmup_steps) / decay_steps, 0.0, 1.0)
        warm = start + (peak - start) * (1.0 - ops.cos(math.pi * rising)) / 2.0
        cool = end + (peak - end) * (1.0 + ops.cos(math.pi * falling)) / 2.0
        return ops.where(step < warmup_steps, warm, cool)

    def get_config(self):
        return {
            "max_learning_rate": self.max_learning_rate,
            "total_steps": self.total_steps,
            "warmup_fraction": self.warmup_fraction,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
        }


class EpochRecorder(keras.callbacks.Callback):
    """Adds the learning rate in force and the epoch's wall time to each epoch's logs."""

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        rate = self.model.optimizer.learning_rate  # a schedule is evaluated at the current step
        logs["learning_rate"] = float(ops.convert_to_numpy(rate))
        logs["epoch_seconds"] = time.perf_counter() - self.started
