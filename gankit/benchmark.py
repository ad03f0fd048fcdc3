"""Training throughput: real images per second through an architecture's train step here.

With several critic steps per generator step (WGAN), every critic step takes a fresh batch, so
images per second is also the rate at which an epoch of real data goes by.

    python -m gankit benchmark dcgan --steps 100
    python -m gankit benchmark dcgan --compare-bare     # fit() against a bare tf.function loop
    python -m gankit benchmark dcgan --jit --set batch_size=128   # XLA, another batch size

Both figures feed synthetic digits through the pipeline that training uses
(:func:`gankit.data.epoch_batches`) after a warm-up (the first steps trace and compile the
``tf.function``), so they are the steady state that a long run sees. ``fit`` runs with the
callbacks that training runs after every step (the loss history and the non-finite guard); the
per-epoch ones (grids, checkpoints, Fréchet distance) cost a second or two per epoch of minutes
and are left out.

``--compare-bare`` answers "what does the kit's machinery cost?": in interleaved rounds on the
same model and data it times ``fit`` and a bare loop that calls ``tf.function(gan.train_step)``
on the same batches, and prints the median of the per-round ratios. It is how the cause of
rounds at 70 % speed was found: tf.data's autotuning, now off in :mod:`gankit.data`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from gankit import replicas
from gankit.callbacks import LossHistory, StopOnNonFinite
from gankit.data import epoch_batches
from gankit.models import get_architecture


def _setup(architecture: str, steps: int, config=None, jit_compile: bool = False, strategy=None):
    """A built GAN (under ``strategy``'s scope when one is given), the images per step, and
    ``steps`` batches of synthetic digits (with random labels for a conditional model, else None)."""
    spec = get_architecture(architecture)
    config = config or spec.make_config()
    with (strategy or tf.distribute.get_strategy()).scope():
        gan = spec.build_gan(config, jit_compile=jit_compile)
    per_step = gan.images_per_step(config.batch_size)  # real images per step (all critic batches)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(per_step * steps, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=len(images)) if gan.conditional else None
    return gan, per_step, (images, labels)


def _epochs_for(data, per_step: int, steps: int, warmup: int, seed: int = 0, epochs: int | None = None):
    """Batches for one ``fit()`` call: every call starts a new pass at epoch 0, so enough
    epochs of ``steps`` batches for the warm-up and one timed round (or ``epochs``)."""
    images, labels = data
    epochs = epochs or -(-warmup // steps) + 2
    return epoch_batches(images, per_step, seed=seed, first_epoch=0, last_epoch=epochs, labels=labels)


def _step_callbacks(gan, history_path) -> list:
    """The callbacks training runs after every step: the non-finite guard and the loss history."""
    return [StopOnNonFinite(gan), LossHistory(history_path, gan)]


def _warm_up(gan, batches, warmup: int) -> None:
    """Trace and compile the train step and let the pipeline fill: ``warmup`` untimed steps."""
    gan.fit(batches, epochs=1, steps_per_epoch=warmup, verbose=0, shuffle=False)


def _time_fit(gan, batches, steps: int, per_step: int, callbacks) -> float:
    started = time.perf_counter()
    gan.fit(batches, epochs=1, steps_per_epoch=steps, callbacks=callbacks, verbose=0, shuffle=False)
    return per_step * steps / (time.perf_counter() - started)


def images_per_second(architecture: str, steps: int = 100, warmup: int = 10, repeats: int = 3, config=None,
                      jit_compile: bool = False):
    """``(best, all)`` throughput of ``fit`` in images/s over ``repeats`` timed runs of ``steps`` steps.

    ``config`` replaces the architecture's default config (another batch size, say);
    ``jit_compile`` compiles the train step with XLA (Keras leaves it off on a CPU-only machine).
    """
    gan, per_step, data = _setup(architecture, steps, config, jit_compile)
    batches = _epochs_for(data, per_step, steps, warmup)
    with tempfile.TemporaryDirectory() as scratch:
        callbacks = _step_callbacks(gan, Path(scratch) / "history.json")
        _warm_up(gan, batches, warmup)
        rates = [_time_fit(gan, batches, steps, per_step, callbacks) for _ in range(repeats)]
    return max(rates), rates


def compare_with_bare_loop(architecture: str, steps: int = 100, rounds: int = 5, warmup: int = 10, config=None):
    """Interleaved rounds of ``fit`` and of a bare loop over ``tf.function(gan.train_step)``.

    Both run the same model (which keeps training), on batches of the same pipeline, one round
    of ``steps`` steps each, alternating which goes first.

    Returns:
        ``{"kit": [images/s per round], "bare": [...], "ratios": [kit / bare per round],
        "ratio": median of the ratios}``.
    """
    gan, per_step, data = _setup(architecture, steps, config)
    kit_dataset = _epochs_for(data, per_step, steps, warmup)
    bare_epochs = -(-(warmup + rounds * steps) // steps)  # epochs of `steps` batches the bare loop takes
    bare_batches = iter(_epochs_for(data, per_step, steps, warmup, seed=1, epochs=bare_epochs))
    bare_step = tf.function(gan.train_step)

    def bare() -> float:
        started = time.perf_counter()
        for _ in range(steps):
            bare_step(next(bare_batches))
        return per_step * steps / (time.perf_counter() - started)

    with tempfile.TemporaryDirectory() as scratch:
        callbacks = _step_callbacks(gan, Path(scratch) / "history.json")
        # Warm-up: trace both functions and let the pipelines fill.
        _warm_up(gan, kit_dataset, warmup)
        for _ in range(warmup):
            bare_step(next(bare_batches))
        kit, bare_rates = [], []
        for round_index in range(rounds):
            if round_index % 2:
                bare_rates.append(bare())
                kit.append(_time_fit(gan, kit_dataset, steps, per_step, callbacks))
            else:
                kit.append(_time_fit(gan, kit_dataset, steps, per_step, callbacks))
                bare_rates.append(bare())
    ratios = [a / b for a, b in zip(kit, bare_rates)]
    return {"kit": kit, "bare": bare_rates, "ratios": ratios, "ratio": float(np.median(ratios))}


def replica_throughput(architecture: str, replica_count: int, steps: int = 50, warmup: int = 10, repeats: int = 3,
                       config=None) -> dict:
    """Images per second of the same ``fit`` on one device, under ``MirroredStrategy`` over one
    device, and over ``replica_count`` devices (logical CPU devices here, made by
    :func:`gankit.replicas.make_strategy`): ``{"one device": [...], "mirrored, 1 replica": [...],
    "mirrored, N replicas": [...]}``, one rate per round, the three setups taking turns in each
    round. Call it before TensorFlow has started its devices."""
    spread = replicas.make_strategy("mirrored", replica_count)
    setups = {"one device": tf.distribute.get_strategy(),  # TensorFlow's default: no strategy
              "mirrored, 1 replica": tf.distribute.MirroredStrategy(spread.extended.worker_devices[:1]),
              f"mirrored, {replica_count} replicas": spread}
    rates = {name: [] for name in setups}
    with tempfile.TemporaryDirectory() as scratch:
        runs = []
        for place, (name, strategy) in enumerate(setups.items()):
            gan, per_step, data = _setup(architecture, steps, config, strategy=strategy)
            batches = replicas.distribute(strategy, _epochs_for(data, per_step, steps, warmup),
                                          gan.num_discriminator_steps)
            _warm_up(gan, batches, warmup)
            runs.append((name, gan, batches, per_step, _step_callbacks(gan, Path(scratch) / f"history_{place}.json")))
        for _ in range(repeats):
            for name, gan, batches, per_step, callbacks in runs:
                rates[name].append(_time_fit(gan, batches, steps, per_step, callbacks))
    return rates
