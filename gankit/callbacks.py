"""Side effects of training, as Keras callbacks: history, sample grids, checkpoints, and the
guard that stops a run whose losses are no longer finite.

At the end of every epoch they run in the order the trainer lists them -- history, grid,
checkpoint -- so that a checkpoint on disk never runs ahead of the history and grids. A run
stopped at any point resumes from the last checkpoint and trims whatever was written after it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import keras
import numpy as np

from gankit.checkpoints import save_options
from gankit.data import to_pixels
from gankit.plotting import image_grid, save_image
from gankit.storage import CheckpointError, read_json, write_json

HISTORY_FILE = "history.json"
GRID_FOLDER = "grids"


def empty_history(names) -> dict:
    return {"steps": {"step": [], **{name: [] for name in names}}, "epochs": []}


def load_history(path) -> dict:
    """The history written by :class:`LossHistory`: ``{"steps": {"step": [...], name: [...]},
    "epochs": [{"epoch", "step", "seconds", name: epoch mean, ...}, ...]}``.

    Raises :class:`gankit.storage.CheckpointError` for a missing or damaged file."""
    remedy = "delete it to start the history afresh (the checkpoint does not need it)"
    history = read_json(path, "the training history", remedy)
    if not isinstance(history.get("steps"), dict) or not isinstance(history.get("epochs"), list):
        raise CheckpointError(f"{path} (the training history) lacks its 'steps' or 'epochs'; {remedy}")
    return history


def trim_history(history: dict, last_step: int, last_epoch: int) -> dict:
    """Drop what was recorded after the checkpoint at ``last_step`` / ``last_epoch``."""
    keep = sum(1 for step in history["steps"]["step"] if step <= last_step)
    steps = {name: values[:keep] for name, values in history["steps"].items()}
    epochs = [entry for entry in history["epochs"] if entry["epoch"] <= last_epoch]
    return {"steps": steps, "epochs": epochs}


class LossHistory(keras.callbacks.Callback):
    """Records every step's losses and every epoch's means into ``history.json``.

    Args:
        path: the JSON file; an existing one is continued (trimmed to the resumed step).
        gan: the :class:`gankit.gan.GAN` being trained (its last step's values are read).
        start_step: the optimizer step training resumes from (0 for a fresh run).
        start_epoch: the number of epochs already finished.
    """

    def __init__(self, path, gan, start_step: int = 0, start_epoch: int = 0):
        super().__init__()
        self.path = Path(path)
        self.gan = gan
        self.step = start_step
        names = list(gan.last_step_values)
        history = load_history(self.path) if self.path.is_file() else empty_history(names)
        self.history = trim_history(history, start_step, start_epoch)
        for name in names:
            self.history["steps"].setdefault(name, [])
        self.epoch_started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        steps = self.history["steps"]
        steps["step"].append(self.step)
        for name, value in self.gan.read_last_step().items():
            steps[name].append(round(value, 6))

    def on_epoch_end(self, epoch, logs=None):
        entry = {
            "epoch": epoch + 1,
            "step": self.step,
            "seconds": round(time.perf_counter() - self.epoch_started, 3),
        }
        entry.update({name: round(float(value), 6) for name, value in (logs or {}).items()})
        self.history["epochs"].append(entry)
        write_json(self.path, self.history)


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; training stopped before anything of it was saved."""


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops training at the first step that logs a NaN or infinite value.

    It raises :class:`TrainingDiverged` from the end of that step, so the epoch never reaches
    its checkpoint: the last good checkpoint stays the latest, and the same command resumes
    from it (with, say, a lower learning rate in a new directory, or a new seed).

    Args:
        gan: the model being trained (its last step's values are read after every step).
        start_step: the optimizer step training resumes from.
        epoch: the checkpoint's epoch counter (the number of epochs saved so far).
    """

    def __init__(self, gan, start_step: int = 0, epoch=None):
        super().__init__()
        self.gan = gan
        self.step = start_step
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        values = self.gan.read_last_step()
        bad = {name: value for name, value in values.items() if not math.isfinite(value)}
        if bad:
            saved = int(self.epoch.numpy()) if self.epoch is not None else None
            kept = f"the checkpoint of epoch {saved} is kept" if saved else "no checkpoint was written"
            raise TrainingDiverged(
                f"training diverged at step {self.step}: "
                + ", ".join(f"{name} = {value}" for name, value in bad.items())
                + f"; stopped before saving, {kept}"
            )


class SampleGrid(keras.callbacks.Callback):
    """After every epoch, draws the same latent batch and saves the grid as
    ``grids/epoch_NNN.png`` -- the frames of the training GIF.

    Args:
        directory: the model directory (the PNGs go in its ``grids/`` folder).
        gan: the model being trained; its sampling generator draws the grid.
        latent: the fixed latent batch.
        columns: images per row of the grid.
    """

    def __init__(self, directory, gan, latent, columns: int = 8):
        super().__init__()
        self.folder = Path(directory) / GRID_FOLDER
        self.gan = gan
        self.latent = np.asarray(latent, np.float32)
        self.columns = columns

    def on_epoch_end(self, epoch, logs=None):
        images = to_pixels(self.gan.generate(self.latent))
        save_image(image_grid(images, self.columns), self.folder / f"epoch_{epoch + 1:03d}.png")


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves the training checkpoint after every epoch, numbered by the epoch.

    Args:
        manager: a ``tf.train.CheckpointManager`` over :func:`gankit.checkpoints.make_checkpoint`.
        epoch: the checkpoint's epoch counter, set to the number of finished epochs.
    """

    def __init__(self, manager, epoch):
        super().__init__()
        self.manager = manager
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.assign(epoch + 1)
        self.manager.save(checkpoint_number=epoch + 1, options=save_options())


class FrechetDistance(keras.callbacks.Callback):
    """Every ``every`` epochs, scores a fixed latent batch by its Fréchet distance to MNIST
    test and writes it into the epoch's logs as ``frechet_distance`` -- so the history (and
    the progress bar) carry sample quality beside the losses. With a moving average of the
    generator, ``frechet_distance`` scores the average and ``frechet_distance_raw`` the
    trained weights.

    It must come before :class:`LossHistory` in the callback list, so the value is in the logs
    when the history records the epoch.

    Args:
        evaluator: a :class:`gankit.evaluation.Evaluator`.
        gan: the model being trained; its sampling generator draws the batch.
        latent: the fixed latent batch (2,000 points keep it to about a second).
        every: evaluate after every ``every``-th epoch (and always after the first).
    """

    def __init__(self, evaluator, gan, latent, every: int = 1):
        super().__init__()
        self.evaluator = evaluator
        self.gan = gan
        self.latent = np.asarray(latent, np.float32)
        self.every = every

    def on_epoch_end(self, epoch, logs=None):
        due = epoch == 0 or (epoch + 1) % self.every == 0
        if logs is None or not due:
            return
        images = to_pixels(self.gan.generate(self.latent))
        logs["frechet_distance"] = self.evaluator.frechet_distance(images)
        if self.gan.ema_generator is not None:  # the raw weights too, to see what the EMA buys
            raw = to_pixels(self.gan.generate(self.latent, use_ema=False))
            logs["frechet_distance_raw"] = self.evaluator.frechet_distance(raw)


class TensorBoardLog(keras.callbacks.Callback):
    """After every epoch, writes the epoch's logs (the losses' means, the Fréchet distance,
    the gradient norms: whatever the callbacks before it put there) as scalars, and the epoch's
    sample grid as an image, to TensorBoard event files in ``directory/logs``; the x axis is
    the generator step. List it after :class:`SampleGrid` and :class:`FrechetDistance`.

    ``tensorboard --logdir <model directory>/logs`` shows them.
    """

    def __init__(self, directory, gan):
        super().__init__()
        self.directory = Path(directory)
        self.gan = gan
        self.writer = None

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self.writer = tf.summary.create_file_writer(str(self.directory / "logs"))

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf
        from PIL import Image

        step = int(self.gan.generator_optimizer.iterations.numpy())
        grid = self.directory / GRID_FOLDER / f"epoch_{epoch + 1:03d}.png"
        with self.writer.as_default(step=step):
            for name, value in (logs or {}).items():
                tf.summary.scalar(name, float(value))
            tf.summary.scalar("epoch", epoch + 1)
            if grid.is_file():
                with Image.open(grid) as picture:
                    pixels = np.asarray(picture.convert("L"), np.uint8)
                tf.summary.image("samples", pixels[None, :, :, None])
        self.writer.flush()

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()
