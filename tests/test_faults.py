"""Training that survives faults: resuming gives the weights of an uninterrupted run, for every
architecture; a killed process resumes; a diverged run stops before it saves; damaged files are
named, not tracebacks."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from gankit import checkpoints, models, storage, training
from gankit.callbacks import TrainingDiverged, load_history
from gankit.models import dcgan
from tiny import TINY, settings, write_tiny_mnist

ROOT = Path(__file__).resolve().parent.parent


def tiny(name):
    """``(architecture, config)``: a registered name, or an architecture and a variant (wgan_clip)."""
    architecture = name if name in models.ARCHITECTURES else name.split("_")[0]
    return architecture, models.get_architecture(architecture).make_config(TINY[name])


def stored_state(directory) -> dict:
    """Every variable of the latest checkpoint in ``directory``, by name (not the object graph,
    which records Keras' process-wide layer names)."""
    reader = tf.train.load_checkpoint(checkpoints.latest_checkpoint(directory))
    names = [name for name in reader.get_variable_to_shape_map() if name != "_CHECKPOINTABLE_OBJECT_GRAPH"]
    return {name: reader.get_tensor(name) for name in names}


def assert_same_state(first, second):
    assert first.keys() == second.keys()
    differing = [name for name in first if not np.array_equal(first[name], second[name])]
    assert differing == [], f"{len(differing)} of {len(first)} variables differ"


def test_every_architecture_is_covered():
    assert {tiny(name)[0] for name in TINY} == set(models.ARCHITECTURES)


@pytest.mark.parametrize("name", sorted(models.ARCHITECTURES))
def test_every_initial_weight_comes_from_the_config_seed(name):
    spec = models.get_architecture(name)
    first, second = spec.build_gan(), spec.build_gan()
    for network in ("generator", "discriminator"):
        for a, b in zip(getattr(first, network).weights, getattr(second, network).weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{network} {a.path}")


@pytest.mark.parametrize("name", sorted(TINY))
def test_stopping_and_resuming_gives_the_weights_of_an_uninterrupted_run(name, tmp_path, tiny_images):
    architecture, config = tiny(name)
    images = np.concatenate([tiny_images] * 2)  # 128 digits: 8 steps an epoch (4 for 2 critic steps)
    labels = np.arange(len(images)) % 10  # used by the conditional architectures only
    for run, epochs in (("resumed", 1), ("resumed", 2), ("straight", 2)):
        training.train(architecture, tmp_path / run, images, epochs=epochs, config=config, verbose=0, labels=labels)

    resumed, straight = stored_state(tmp_path / "resumed"), stored_state(tmp_path / "straight")
    assert resumed["epoch/.ATTRIBUTES/VARIABLE_VALUE"] == 2
    assert_same_state(resumed, straight)
    history = [load_history(tmp_path / run / "history.json")["steps"] for run in ("resumed", "straight")]
    assert history[0] == history[1]


def test_stylegan_saves_the_generators_own_random_state(tmp_path, tiny_images):
    architecture, config = tiny("stylegan")
    gan = training.train(architecture, tmp_path, tiny_images, epochs=1, config=config, verbose=0)
    state = stored_state(tmp_path)
    saved = state["generator_random_states/0/.ATTRIBUTES/VARIABLE_VALUE"]
    np.testing.assert_array_equal(saved, gan.generator.seed_generator.state.numpy())
    assert saved.any()  # it moved during training: this is not the initial seed


def test_the_guard_looks_at_every_variable_not_only_weights(tiny_config):
    # A generator whose random state lives in a layer kept in a list: neither its weights nor
    # its seed state are reachable, and the guard names them.
    import keras

    class Noisy(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.seed_generator = keras.random.SeedGenerator(1)

        def call(self, x):
            return x + keras.random.normal(keras.ops.shape(x), seed=self.seed_generator)

    class ListHeld(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.stack = [keras.layers.Dense(28 * 28, activation="tanh"), Noisy(), keras.layers.Reshape((28, 28, 1))]

        def call(self, z, training=False):
            for layer in self.stack:
                z = layer(z)
            return z

    generator = ListHeld()
    generator(tf.zeros((1, tiny_config.latent_dim)))
    gan = dcgan.build_gan(tiny_config, generator=generator)
    checkpoint_parts = checkpoints.random_states(gan.generator)
    assert [v.path.split("/")[-1] for v in checkpoint_parts] == ["seed_generator_state"]
    with pytest.raises(checkpoints.CheckpointError, match="would not save"):
        checkpoints.make_checkpoint(gan, tf.Variable(0))


# ----------------------------------------------------------------------------- divergence
def test_a_non_finite_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, tiny_images, tiny_config,
                                                                             monkeypatch):
    calls = tf.Variable(0)

    def poisoned_loss(real_scores, fake_scores):  # NaN from the 6th discriminator update on
        calls.assign_add(1)
        loss = dcgan.losses.minimax_discriminator_loss(real_scores, fake_scores)
        return tf.where(calls >= 6, tf.constant(float("nan")), loss)

    spec = models.get_architecture("dcgan")
    poisoned = models.Architecture(
        "dcgan", spec.config_class, spec.build_generator,
        lambda config: dcgan.build_gan(config, discriminator_loss_fn=poisoned_loss),
    )
    monkeypatch.setitem(models.ARCHITECTURES, "dcgan", poisoned)
    with pytest.raises(TrainingDiverged, match=r"step 6: discriminator_loss = nan.*epoch 1 is kept"):
        training.train("dcgan", tmp_path, tiny_images, epochs=3, config=tiny_config, verbose=0)  # 4 steps an epoch

    assert [p.name for p in tmp_path.glob("ckpt-*.index")] == ["ckpt-1.index"]
    assert all(np.isfinite(value).all() for value in stored_state(tmp_path).values())
    assert [entry["epoch"] for entry in load_history(tmp_path / "history.json")["epochs"]] == [1]


# ----------------------------------------------------------------------------- a killed process
def train_command(data: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "gankit", "train", "dcgan", "--epochs", "2", "--out", str(out),
            "--data", str(data), "--fd-every", "0", *settings("dcgan")]


def test_sigkill_mid_epoch_then_the_same_command_finishes_as_an_uninterrupted_run(tmp_path):
    data = tmp_path / "mnist.npz"
    write_tiny_mnist(data, count=8192)  # 512 steps an epoch
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}

    killed = tmp_path / "killed"
    process = subprocess.Popen(train_command(data, killed), cwd=ROOT, env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not (killed / "ckpt-1.index").exists():  # epoch 1 saved: epoch 2 is under way
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "the first epoch never finished"
        time.sleep(0.01)
    time.sleep(0.1)  # a few steps into epoch 2
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (killed / "ckpt-2.index").exists(), "the kill came too late to be mid-epoch"

    outputs = []
    for out in (killed, tmp_path / "straight"):
        finished = subprocess.run(train_command(data, out), cwd=ROOT, env=environment, capture_output=True, text=True)
        assert finished.returncode == 0, finished.stderr
        outputs.append(finished.stdout)
    assert "Resuming dcgan from epoch 1 (step 512)" in outputs[0]
    assert_same_state(stored_state(killed), stored_state(tmp_path / "straight"))
    histories = [load_history(out / "history.json") for out in (killed, tmp_path / "straight")]
    assert histories[0]["steps"] == histories[1]["steps"]
    assert [e["epoch"] for e in histories[0]["epochs"]] == [1, 2]


# ----------------------------------------------------------------------------- damaged files
@pytest.fixture
def trained(tmp_path, tiny_images, tiny_config):
    training.train("dcgan", tmp_path, tiny_images, epochs=1, config=tiny_config, verbose=0)
    return tmp_path


def truncate(path: Path, keep: float = 0.5) -> None:
    content = path.read_bytes()
    path.write_bytes(content[: int(len(content) * keep)])


@pytest.mark.parametrize("damage, names", [
    (lambda d: truncate(next(d.glob("ckpt-1.data-*"))), "ckpt-1"),
    (lambda d: truncate(d / "ckpt-1.index"), "ckpt-1"),
    (lambda d: (d / "ckpt-1.index").unlink(), "ckpt-1"),
    (lambda d: (d / "checkpoint").write_text("model_checkpoint_path: {{{"), "checkpoint"),
    (lambda d: truncate(d / "config.json"), "config.json"),
    (lambda d: (d / "config.json").write_text('{"architecture": "dcgan", "config": {"filters": "x", "nope": 1}}'),
     "config.json"),
])
def test_a_damaged_model_directory_is_a_checkpoint_error_naming_the_file(trained, tiny_images, tiny_config,
                                                                          damage, names):
    damage(trained)
    with pytest.raises(checkpoints.CheckpointError, match=names):
        checkpoints.load_generator(trained)
    with pytest.raises(checkpoints.CheckpointError, match=names):
        training.train("dcgan", trained, tiny_images, epochs=2, config=tiny_config, verbose=0)


def test_a_damaged_history_is_a_checkpoint_error_when_resuming(trained, tiny_images, tiny_config):
    truncate(trained / "history.json")
    with pytest.raises(checkpoints.CheckpointError, match="history.json.*damaged.*delete it"):
        training.train("dcgan", trained, tiny_images, epochs=2, config=tiny_config, verbose=0)


def test_the_command_line_reports_a_damaged_checkpoint_in_one_line(trained, tmp_path):
    truncate(next(trained.glob("ckpt-1.data-*")), keep=0.1)
    result = subprocess.run([sys.executable, "-m", "gankit", "sample", str(trained), "--out", str(tmp_path / "x.png")],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_json_files_are_replaced_atomically(tmp_path, monkeypatch):
    path = tmp_path / "history.json"
    storage.write_json(path, {"old": 1})

    def crash(source, target):
        raise OSError("disk gone")

    monkeypatch.setattr(storage.os, "replace", crash)
    with pytest.raises(OSError):
        storage.write_json(path, {"new": 2})
    assert storage.read_json(path, "a test file", "-") == {"old": 1}  # the old file, whole


def test_a_first_save_that_never_finished_is_trained_over(tmp_path, tiny_images, tiny_config):
    # Killed while writing the very first checkpoint: its files exist, the state file does not.
    training.train("dcgan", tmp_path / "done", tiny_images, epochs=1, config=tiny_config, verbose=0)
    checkpoints.write_config(tmp_path / "cut", "dcgan", tiny_config)
    for source in (tmp_path / "done").glob("ckpt-1.*"):
        (tmp_path / "cut" / source.name).write_bytes(source.read_bytes()[:100])
    training.train("dcgan", tmp_path / "cut", tiny_images, epochs=1, config=tiny_config, verbose=0)
    assert_same_state(stored_state(tmp_path / "cut"), stored_state(tmp_path / "done"))


def test_a_checkpoint_from_before_random_states_were_saved_still_resumes(tmp_path, tiny_images, capsys):
    # StyleGAN's first committed checkpoint has no generator_random_states: resuming it warns
    # and goes on, the generator's noise stream restarting from its seed.
    architecture, config = tiny("stylegan")
    gan = models.get_architecture(architecture).build_gan(config)
    epoch = tf.Variable(1, dtype=tf.int64)
    older = tf.train.Checkpoint(generator=gan.generator, discriminator=gan.discriminator,
                                generator_optimizer=gan.generator_optimizer,
                                discriminator_optimizer=gan.discriminator_optimizer,
                                noise_seed=gan.seed_generator.state, epoch=epoch, ema_generator=gan.ema_generator)
    tf.train.CheckpointManager(older, str(tmp_path), max_to_keep=1).save(checkpoint_number=1)
    checkpoints.write_config(tmp_path, architecture, config)

    training.train(architecture, tmp_path, tiny_images, epochs=2, config=config, verbose=0)
    output = capsys.readouterr().out
    assert "predates saved random states (ema_generator_random_states, generator_random_states)" in output
    assert stored_state(tmp_path)["epoch/.ATTRIBUTES/VARIABLE_VALUE"] == 2
    assert "generator_random_states/0/.ATTRIBUTES/VARIABLE_VALUE" in stored_state(tmp_path)
