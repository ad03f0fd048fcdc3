"""Training throughput: real images per second through an architecture's train step here.

With several critic steps per generator step (WGAN), every critic step takes a fresh batch, so
images per second is also the rate at which an epoch of real data goes by.

    python -m gankit benchmark dcgan --steps 100

Timed with ``fit`` on synthetic digits after a warm-up (the first steps trace and compile the
``tf.function``), so the figure is the steady state that a long training run sees, without the
per-epoch callbacks (grids, checkpoints), which cost well under a second per epoch.
"""

from __future__ import annotations

import time

import numpy as np

from gankit.data import make_dataset
from gankit.models import get_architecture


def images_per_second(architecture: str, steps: int = 100, warmup: int = 10, repeats: int = 3, config=None):
    """``(best, all)`` throughput in images/s over ``repeats`` timed runs of ``steps`` steps."""
    spec = get_architecture(architecture)
    config = config or spec.make_config()
    gan = spec.build_gan(config)
    rng = np.random.default_rng(0)
    per_step = gan.images_per_step(config.batch_size)  # real images per step (all critic batches)
    images = rng.integers(0, 256, size=(per_step * steps, 28, 28), dtype=np.uint8)
    dataset = make_dataset(images, batch_size=per_step).cache()
    gan.fit(dataset.take(warmup), epochs=1, verbose=0)
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        gan.fit(dataset, epochs=1, verbose=0)
        rates.append(per_step * steps / (time.perf_counter() - started))
    return max(rates), rates
