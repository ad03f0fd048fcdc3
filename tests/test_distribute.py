"""The shared step under tf.distribute: one step on 2 logical CPU devices under MirroredStrategy
updates every weight as the single-device step does (``tests/distributed_step.py`` runs both in
a process of its own), and the pieces of :mod:`gankit.replicas` on their own."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from gankit import replicas
from tiny import TINY, settings, write_tiny_mnist

DRIVER = Path(__file__).with_name("distributed_step.py")
IMAGES = 64  # the tiny data set of the runs below
ROOT = Path(__file__).resolve().parents[1]


COMPARED = ["dcgan", "wgan", "infogan", "stylegan", "acgan"]


@pytest.fixture(scope="module")
def one_step() -> dict:
    """The driver's reports, from one process (TensorFlow starts once for all of them)."""
    result = subprocess.run([sys.executable, str(DRIVER), "2", *COMPARED, "--unscaled", "dcgan"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("architecture", COMPARED)
def test_a_mirrored_step_matches_the_single_device_step(one_step, architecture):
    report = one_step[architecture]
    assert report["replicas"] == 2
    assert report["replicas_agree"]  # every mirrored variable holds one value on both devices
    for group in ("generator", "discriminator", "ema", "statistics"):
        figures = report["groups"][group]
        assert figures["change"] > 0, group  # the step moved them, so the comparison means something
        assert figures["difference"] <= 1e-3 * figures["change"], (group, figures)
    logged = report["groups"]["logged"]  # losses and scores averaged over the replicas
    assert logged["difference"] <= 1e-5 * logged["scale"] + 1e-6, logged


def test_the_comparison_catches_unscaled_losses(one_step):
    # Without the 1 / replicas scaling the summed gradients are twice the global mean's: SGD's
    # update doubles, and the comparison above must see it.
    figures = one_step["unscaled:dcgan"]["groups"]["discriminator"]
    assert figures["difference"] > 0.5 * figures["change"]


def test_outside_a_strategy_everything_is_the_identity():
    assert replicas.count() == 1 and replicas.index() == 0
    loss = tf.constant(3.0)
    assert replicas.scale(loss) is loss and replicas.mean(loss) is loss and replicas.total(loss) is loss
    draws = []
    assert replicas.rows(lambda rows: draws.append(rows) or rows, 5) == 5 and draws == [5]
    assert not replicas.batch_normalization().synchronized


def test_layout_gives_each_replica_its_share_of_every_step():
    steps, batch, count = 3, 4, 2
    batch_rows = tf.range(steps * batch)  # step k's images are rows k * batch .. (k + 1) * batch
    parts = replicas.layout(batch_rows, steps, count).numpy()
    # replica 0: the first half of each step's rows, replica 1 the second half.
    np.testing.assert_array_equal(parts, [[0, 1, 4, 5, 8, 9], [2, 3, 6, 7, 10, 11]])
    images = tf.reshape(tf.range(steps * batch * 2), [steps * batch, 2])  # trailing axes are kept
    np.testing.assert_array_equal(replicas.layout(images, steps, count).numpy()[1, 0], [4, 5])


def test_a_batch_that_cannot_be_split_is_a_clear_error():
    replicas.check_split(64, 2)
    with pytest.raises(ValueError, match="batch_size 63 cannot be split across 2 replicas"):
        replicas.check_split(63, 2)
    with pytest.raises(ValueError, match="at least one replica"):
        replicas.check_split(64, 0)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for item in sockets:
        item.bind(("localhost", 0))
    ports = [item.getsockname()[1] for item in sockets]
    for item in sockets:
        item.close()
    return ports


def _checkpoint_values(directory) -> dict:
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(directory)))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if not name.startswith("_CHECKPOINTABLE_OBJECT_GRAPH")}


def test_two_workers_on_localhost_finish_an_epoch_with_equal_weights(tmp_path):
    # The whole command line, as a user of a cluster runs it: one process per worker, the
    # cluster in TF_CONFIG. The chief writes the run's directory, worker 1 its copy in workers/1.
    write_tiny_mnist(tmp_path / "mnist.npz", count=IMAGES)
    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(2)]}
    out = tmp_path / "run"
    command = [sys.executable, "-m", "gankit", "train", "dcgan", "--epochs", "1", "--out", str(out),
               "--data", str(tmp_path / "mnist.npz"), "--fd-every", "0", *settings("dcgan"),
               "--distribute", "multiworker"]
    workers = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env={**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster,
                                                                     "task": {"type": "worker", "index": index}})})
        for index in range(2)
    ]
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-3000:]
    chief, other = _checkpoint_values(out), _checkpoint_values(out / "workers" / "1")
    assert chief.keys() == other.keys() and any("generator/" in name for name in chief)
    for name, value in chief.items():
        np.testing.assert_array_equal(value, other[name], err_msg=name)
    assert int(chief["epoch/.ATTRIBUTES/VARIABLE_VALUE"]) == 1
    steps = int(chief["generator_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"])
    assert steps == IMAGES // TINY["dcgan"]["batch_size"]  # every step of the epoch ran, on both workers together
    history = json.loads((out / "history.json").read_text())
    assert len(history["epochs"]) == 1 and len(history["steps"]["generator_loss"]) == steps


def test_multiworker_without_a_cluster_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="multiworker needs the cluster in TF_CONFIG"):
        replicas.make_strategy("multiworker")
    with pytest.raises(ValueError, match="unknown strategy"):
        replicas.make_strategy("ring")


def test_the_benchmark_times_one_device_against_mirrored_replicas():
    result = subprocess.run(
        [sys.executable, "-m", "gankit", "benchmark", "dcgan", "--replicas", "2", "--steps", "2", "--repeats", "1",
         *settings("dcgan")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "dcgan, one device", "dcgan, mirrored, 1 replica", "dcgan, mirrored, 2 replicas"]
    assert all(float(line.split(": ")[1].split()[0]) > 0 for line in lines)


def test_a_mirrored_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path):
    write_tiny_mnist(tmp_path / "mnist.npz", count=IMAGES)

    def train(out, epochs):
        command = [sys.executable, "-m", "gankit", "train", "wgan", "--epochs", str(epochs), "--out", str(out),
                   "--data", str(tmp_path / "mnist.npz"), "--fd-every", "0", *settings("wgan"),
                   "--distribute", "mirrored", "--replicas", "2"]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]

    train(tmp_path / "stopped", 1)
    train(tmp_path / "stopped", 2)  # the same command with more epochs resumes it
    train(tmp_path / "straight", 2)
    stopped, straight = _checkpoint_values(tmp_path / "stopped"), _checkpoint_values(tmp_path / "straight")
    assert stopped.keys() == straight.keys()
    for name, value in straight.items():
        np.testing.assert_array_equal(stopped[name], value, err_msg=name)
