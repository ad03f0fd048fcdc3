"""One train step on one device and the same step under MirroredStrategy on logical CPU devices.

Run as ``python tests/distributed_step.py REPLICAS ARCHITECTURE... [--unscaled ARCHITECTURE]`` by
``tests/test_distribute.py`` (a process of its own: logical devices must be configured before
TensorFlow starts). It prints one JSON line, a report per architecture (``unscaled:NAME`` for
the one run without loss scaling): for each group of variables, the largest difference between
the two runs' values after the step and the largest change the step made.

Both runs start from the same weights (the same seeded config), train with plain SGD (Adam's
normalised update would hide a gradient scaled by the number of replicas) on the same global
batch, and draw their noise through :func:`gankit.replicas.rows`, so the global batch's noise is
the same whatever the number of replicas. ``--unscaled`` runs one architecture once more with
the loss scaling switched off, to show that the comparison catches it.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402  (importing starts no device: the logical ones are made in main)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tiny import TINY  # noqa: E402

from gankit import replicas  # noqa: E402
from gankit.models import get_architecture  # noqa: E402

CHANGES = {"wgan": dict(critic_steps=3)}  # three critic steps: each critic batch split across the replicas


def compare(architecture: str, strategy, unscaled: bool = False) -> dict:
    scale = replicas.scale
    if unscaled:  # read when the step is traced, in fit() below
        replicas.scale = lambda loss: loss
    try:
        return _compare(get_architecture(architecture), strategy)
    finally:
        replicas.scale = scale


def _compare(spec, strategy) -> dict:
    config = spec.make_config({**TINY[spec.name], **CHANGES.get(spec.name, {})})

    def build():
        gan = spec.build_gan(config)
        gan.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05),
                    gan.generator_loss_fn, gan.discriminator_loss_fn)
        return gan

    single = build()
    with strategy.scope():
        mirrored = build()

    steps = single.num_discriminator_steps
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, (config.batch_size * steps, 28, 28, 1)).astype(np.float32)
    labels = rng.integers(0, 10, len(images)).astype(np.int32)
    dataset = tf.data.Dataset.from_tensors((images, labels) if spec.conditional else images)
    before = _state(single)
    for name, values in _state(mirrored).items():
        np.testing.assert_array_equal(values, before[name])  # the same start
    single.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0)
    mirrored.fit(replicas.distribute(strategy, dataset, steps), epochs=1, steps_per_epoch=1, verbose=0)
    after_single, after_mirrored = _state(single), _state(mirrored)
    report = {"replicas": strategy.num_replicas_in_sync, "groups": {}}
    for group in ("generator", "discriminator", "ema", "statistics", "logged"):
        names = [name for name in after_single if name.startswith(group + ":")]
        report["groups"][group] = {
            "difference": max(float(np.max(np.abs(after_mirrored[n] - after_single[n]))) for n in names),
            "change": max(float(np.max(np.abs(after_single[n] - before[n]))) for n in names),
            "scale": max(float(np.max(np.abs(after_single[n]))) for n in names),
        }
    report["replicas_agree"] = all(_replicas_agree(strategy, variable) for variable in mirrored.weights)
    return report


def _state(gan) -> dict:
    """Every variable of interest as an array, keyed ``group:place`` (the order of the network's
    weights: the two models' layers are named apart by Keras' counters)."""
    state = {}
    for group, network in (("generator", gan.generator), ("discriminator", gan.discriminator)):
        for place, variable in enumerate(network.trainable_weights):
            state[f"{group}:{place}"] = np.array(variable)
        for place, variable in enumerate(network.non_trainable_weights):  # batch norm's moving statistics
            state[f"statistics:{group}:{place}"] = np.array(variable)
    for place, variable in enumerate(gan.sampling_generator.weights):
        state[f"ema:{place}"] = np.array(variable)
    for name, value in gan.read_last_step().items():
        state[f"logged:{name}"] = np.array(value)
    return state


def _replicas_agree(strategy, variable) -> bool:
    values = [np.array(value) for value in strategy.experimental_local_results(getattr(variable, "value", variable))]
    return all(np.array_equal(values[0], value) for value in values[1:])


def main(arguments: list[str]) -> dict:
    replica_count, names = int(arguments[0]), arguments[1:]
    unscaled = None
    if "--unscaled" in names:
        place = names.index("--unscaled")
        unscaled, names = names[place + 1], names[:place] + names[place + 2:]
    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * replica_count
    )
    # One strategy for every comparison: TensorFlow keys its collective ops per strategy, and a
    # second MirroredStrategy in the process clashes with the first's.
    strategy = tf.distribute.MirroredStrategy([device.name for device in tf.config.list_logical_devices("CPU")])
    reports = {name: compare(name, strategy) for name in names}
    if unscaled:
        reports[f"unscaled:{unscaled}"] = compare(unscaled, strategy, unscaled=True)
    return reports


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
