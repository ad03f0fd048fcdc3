"""Checkpoint round trips, resuming an interrupted run, and loading generators for sampling."""

import dataclasses
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from gankit import checkpoints, models, training
from gankit.callbacks import load_history
from gankit.models import dcgan


class StopAt(keras.callbacks.Callback):
    """Simulates a crash (Ctrl-C) in the middle of an epoch."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == self.batch:
            raise KeyboardInterrupt


def optimizer_state(optimizer):
    return [v.numpy().copy() for v in optimizer.variables]


@pytest.fixture
def trained_dir(tmp_path, tiny_images, tiny_config):
    """A model directory after 2 epochs of 4 steps each."""
    directory = tmp_path / "run"
    gan = training.train("dcgan", directory, tiny_images, epochs=2, config=tiny_config, verbose=0)
    return directory, gan


def test_round_trip_restores_weights_and_optimizer_state(trained_dir, tiny_config):
    directory, gan = trained_dir
    fresh = dcgan.build_gan(tiny_config)
    epoch = tf.Variable(0, dtype=tf.int64)
    checkpoint = checkpoints.make_checkpoint(fresh, epoch)
    checkpoint.restore(checkpoints.latest_checkpoint(directory)).assert_consumed()

    assert int(epoch.numpy()) == 2
    for saved, restored in [
        (gan.generator, fresh.generator),
        (gan.discriminator, fresh.discriminator),
        (gan.ema_generator, fresh.ema_generator),
    ]:
        for a, b in zip(saved.get_weights(), restored.get_weights()):
            np.testing.assert_array_equal(a, b)
    for saved, restored in [
        (gan.generator_optimizer, fresh.generator_optimizer),
        (gan.discriminator_optimizer, fresh.discriminator_optimizer),
    ]:
        assert int(restored.iterations.numpy()) == 8
        for a, b in zip(optimizer_state(saved), optimizer_state(restored)):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(gan.seed_generator.state.numpy(), fresh.seed_generator.state.numpy())


def test_interrupted_run_resumes_from_the_last_finished_epoch(trained_dir, tiny_images, tiny_config):
    directory, gan = trained_dir
    saved_generator = [w.copy() for w in gan.generator.get_weights()]
    with pytest.raises(KeyboardInterrupt):
        training.train(
            "dcgan", directory, tiny_images, epochs=4, config=tiny_config, verbose=0,
            callbacks=[StopAt(epoch=2, batch=1)],  # dies two steps into the third epoch
        )
    history = load_history(directory / "history.json")
    assert [e["epoch"] for e in history["epochs"]] == [1, 2]

    # The restart finds epoch 2, step 8, and the weights saved then.
    resumed_from = {}

    class Spy(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            resumed_from["step"] = int(self.model.generator_optimizer.iterations.numpy())
            resumed_from["weights"] = [w.copy() for w in self.model.generator.get_weights()]

        def on_epoch_begin(self, epoch, logs=None):
            resumed_from.setdefault("epoch", epoch)

    gan = training.train("dcgan", directory, tiny_images, epochs=4, config=tiny_config, verbose=0, callbacks=[Spy()])
    assert resumed_from["epoch"] == 2 and resumed_from["step"] == 8
    for a, b in zip(saved_generator, resumed_from["weights"]):
        np.testing.assert_array_equal(a, b)
    assert int(gan.generator_optimizer.iterations.numpy()) == 16

    # The history has no trace of the lost half-epoch: 16 steps, numbered 1..16, 4 epochs.
    history = load_history(directory / "history.json")
    assert history["steps"]["step"] == list(range(1, 17))
    assert [e["epoch"] for e in history["epochs"]] == [1, 2, 3, 4]
    assert [e["step"] for e in history["epochs"]] == [4, 8, 12, 16]
    assert sorted(p.name for p in (directory / "grids").glob("*.png"))[-1] == "epoch_004.png"
    assert [p.name for p in directory.glob("ckpt-*.index")] == ["ckpt-4.index"]  # only the latest


def test_training_writes_history_grids_gif_and_plot(trained_dir):
    directory, _ = trained_dir
    history = load_history(directory / "history.json")
    assert len(history["steps"]["generator_loss"]) == 8
    assert set(history["epochs"][0]) >= {"epoch", "step", "seconds", "generator_loss", "discriminator_loss"}
    assert (directory / "training.gif").stat().st_size > 0
    assert (directory / "losses.png").stat().st_size > 0
    assert len(list((directory / "grids").glob("epoch_*.png"))) == 2


def test_training_more_epochs_than_done_is_needed(trained_dir, tiny_images, tiny_config, capsys):
    directory, _ = trained_dir
    training.train("dcgan", directory, tiny_images, epochs=2, config=tiny_config, verbose=0)
    assert "nothing to train" in capsys.readouterr().out


def test_resuming_with_another_config_is_refused(trained_dir, tiny_images, tiny_config):
    directory, _ = trained_dir
    other = dataclasses.replace(tiny_config, filters=8)
    with pytest.raises(checkpoints.CheckpointError, match="different config"):
        training.train("dcgan", directory, tiny_images, epochs=3, config=other, verbose=0)


def test_load_generator_restores_only_the_generator(trained_dir):
    directory, gan = trained_dir
    loaded = checkpoints.load_generator(directory, architecture="dcgan")
    assert loaded.architecture == "dcgan" and loaded.epochs == 2
    for a, b in zip(gan.ema_generator.get_weights(), loaded.network.get_weights()):
        np.testing.assert_array_equal(a, b)
    raw = checkpoints.load_generator(directory, use_ema=False)
    for a, b in zip(gan.generator.get_weights(), raw.network.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_samples_are_uint8_digits_fixed_by_the_seed(trained_dir):
    loaded = checkpoints.load_generator(trained_dir[0])
    images = loaded.sample(10, seed=5)
    assert images.shape == (10, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, loaded.sample(10, seed=5))
    # A barely trained tiny generator rounds to flat grey, so compare its float outputs.
    assert not np.allclose(loaded.generate(loaded.latent(10, 5)), loaded.generate(loaded.latent(10, 6)))
    with pytest.raises(ValueError):
        loaded.sample(0)
    with pytest.raises(ValueError, match=r"latent must have shape \[N, 8\]"):
        loaded.generate(np.zeros((3, 7)))


def test_unknown_model_name(tmp_path):
    with pytest.raises(checkpoints.CheckpointError, match="unknown model 'pixelgan'"):
        checkpoints.load_generator("pixelgan", models_dir=tmp_path)


def test_named_model_missing_from_models_dir(tmp_path):
    with pytest.raises(checkpoints.CheckpointError, match="no saved dcgan model"):
        checkpoints.load_generator("dcgan", models_dir=tmp_path)


def test_directory_without_config(tmp_path):
    with pytest.raises(checkpoints.CheckpointError, match="config.json"):
        checkpoints.load_generator(tmp_path)


def test_directory_without_checkpoint(tmp_path, tiny_config):
    checkpoints.write_config(tmp_path, "dcgan", tiny_config)
    with pytest.raises(checkpoints.CheckpointError, match="no checkpoint"):
        checkpoints.load_generator(tmp_path)


def test_checkpoint_of_another_architecture(trained_dir, monkeypatch):
    directory, _ = trained_dir
    # Pretend the directory was written by another architecture ("tinygan").
    tinygan = dataclasses.replace(models.ARCHITECTURES["dcgan"], name="tinygan")
    monkeypatch.setitem(models.ARCHITECTURES, "tinygan", tinygan)
    payload = json.loads((directory / "config.json").read_text())
    payload["architecture"] = "tinygan"
    (directory / "config.json").write_text(json.dumps(payload))
    with pytest.raises(checkpoints.CheckpointError, match="holds a tinygan checkpoint, not dcgan"):
        checkpoints.load_generator(directory, architecture="dcgan")


def test_checkpoint_that_does_not_fit_its_config(trained_dir, tiny_config):
    directory, _ = trained_dir
    checkpoints.write_config(directory, "dcgan", dataclasses.replace(tiny_config, filters=6))
    with pytest.raises(checkpoints.CheckpointError, match="does not fit"):
        checkpoints.load_generator(directory)


class ListHeldGenerator(keras.Model):
    """Keeps its layers in a Python list, which tf.train.Checkpoint does not follow."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.stack = [keras.layers.Dense(28 * 28, activation="tanh"), keras.layers.Reshape((28, 28, 1))]

    def call(self, z, training=False):
        for layer in self.stack:
            z = layer(z)
        return z


def test_checkpoint_refuses_a_network_whose_weights_it_would_not_save(tiny_config):
    generator = ListHeldGenerator()
    generator(tf.zeros((1, tiny_config.latent_dim)))
    gan = dcgan.build_gan(tiny_config, generator=generator)
    with pytest.raises(checkpoints.CheckpointError, match="2 variable.*would not save.*dense.*kernel"):
        checkpoints.make_checkpoint(gan, tf.Variable(0))


def test_every_registered_architecture_checkpoints_all_its_weights():
    for name in models.ARCHITECTURES:
        gan = models.get_architecture(name).build_gan()
        checkpoint = checkpoints.make_checkpoint(gan, tf.Variable(0))
        for network in (gan.generator, gan.discriminator):
            assert network.weights and checkpoints.untracked_variables(checkpoint, network) == []


def test_checkpoints_are_written_in_shards_and_resume_from_them(tmp_path, tiny_images, tiny_config, monkeypatch):
    monkeypatch.setattr(checkpoints, "MAX_SHARD_BYTES", 64 * 1024)  # the tiny model's data in several files
    training.train("dcgan", tmp_path, tiny_images, epochs=1, config=tiny_config, verbose=0)
    shards = sorted(path.name for path in tmp_path.glob("ckpt-1.data-*"))
    assert len(shards) > 1 and all(path.stat().st_size <= 64 * 1024 for path in tmp_path.glob("ckpt-1.data-*"))
    gan = training.train("dcgan", tmp_path, tiny_images, epochs=2, config=tiny_config, verbose=0)
    assert int(gan.generator_optimizer.iterations.numpy()) == 8 and checkpoints.load_generator(tmp_path).epochs == 2
