"""A run continued from another one (``train(..., continue_from=...)``, ``--continue-from``):
it starts from the other run's weights, optimizer state, epoch and history, trains with its own
rates and batch size, and refuses different networks or architectures."""

import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf

from gankit import checkpoints, training
from gankit.callbacks import load_history
from gankit.models import dcgan


@pytest.fixture
def source(tmp_path, tiny_images, tiny_config):
    directory = tmp_path / "source"
    training.train("dcgan", directory, tiny_images, epochs=2, config=tiny_config, verbose=0)
    return directory


def test_a_continued_run_starts_where_the_source_stopped(source, tmp_path, tiny_images, tiny_config):
    late = dataclasses.replace(tiny_config, learning_rate=1e-5, generator_learning_rate=2e-5, batch_size=32)
    directory = tmp_path / "late"
    # epochs=2 is what the source holds: nothing trains, and what comes back is what was loaded
    gan = training.train("dcgan", directory, tiny_images, epochs=2, config=late, verbose=0, continue_from=source)
    assert int(gan.generator_optimizer.iterations.numpy()) == 8  # the source's 2 epochs x 4 steps
    np.testing.assert_allclose(float(gan.generator_optimizer.learning_rate.numpy()), 2e-5)  # not the source's
    np.testing.assert_allclose(float(gan.discriminator_optimizer.learning_rate.numpy()), 1e-5)
    loaded = checkpoints.load_generator(source, use_ema=False).network
    for mine, theirs in zip(gan.generator.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))

    # the same call with more epochs trains on from there, at its own batch size
    training.train("dcgan", directory, tiny_images, epochs=3, config=late, verbose=0, continue_from=source)
    history = load_history(directory / "history.json")
    assert len(history["epochs"]) == 3  # the source's two, then this run's one
    assert history["steps"]["step"][-1] == 8 + 2  # 64 digits make 2 steps of 32
    stored = json.loads((directory / "config.json").read_text())
    assert stored["config"]["batch_size"] == 32
    assert stored["continued_from"]["epochs"] == 2
    assert stored["continued_from"]["config"]["batch_size"] == tiny_config.batch_size
    assert sorted(p.name for p in (directory / "grids").iterdir())[:2] == sorted(
        p.name for p in (source / "grids").iterdir())[:2]  # the GIF goes on from the source's frames
    assert int(tf.train.load_checkpoint(checkpoints.latest_checkpoint(source)).get_tensor(
        "epoch/.ATTRIBUTES/VARIABLE_VALUE")) == 2  # the source is untouched


def test_continuing_into_other_networks_or_architectures_is_refused(source, tmp_path, tiny_images, tiny_config):
    wider = dataclasses.replace(tiny_config, filters=8)
    with pytest.raises(checkpoints.CheckpointError, match="not its networks"):
        training.train("dcgan", tmp_path / "wider", tiny_images, epochs=3, config=wider, verbose=0,
                       continue_from=source)
    with pytest.raises(checkpoints.CheckpointError, match="holds a dcgan run"):
        training.train("lsgan", tmp_path / "ls", tiny_images, epochs=3, verbose=0, continue_from=source)
