import hashlib

import keras
import numpy as np
import pytest

from gankit import data


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.fixture
def small_npz(tmp_path, tiny_images):
    labels = np.arange(64, dtype=np.uint8) % 10
    return write_npz(
        tmp_path / "mnist.npz",
        x_train=tiny_images, y_train=labels, x_test=tiny_images[:10], y_test=labels[:10],
    )


def test_explicit_path_wins_over_environment(small_npz, tmp_path, monkeypatch):
    monkeypatch.setenv(data.MNIST_ENV_VAR, str(tmp_path / "elsewhere.npz"))
    images, labels = data.load_mnist("train", small_npz)
    assert images.shape == (64, 28, 28) and images.dtype == np.uint8
    assert labels.tolist()[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


def test_environment_variable_is_used(small_npz, monkeypatch):
    monkeypatch.setenv(data.MNIST_ENV_VAR, str(small_npz))
    images, labels = data.load_mnist("test")
    assert images.shape == (10, 28, 28) and labels.shape == (10,)


def test_offline_without_a_file_says_how_to_fix_it(monkeypatch):
    monkeypatch.delenv(data.MNIST_ENV_VAR, raising=False)

    def offline():
        raise OSError("URL fetch failure: no route to host")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(data.MnistUnavailableError, match="GANKIT_MNIST") as error:
        data.load_mnist()
    assert "no route to host" in str(error.value)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(data.MnistUnavailableError, match="not found"):
        data.load_mnist("train", tmp_path / "nope.npz")


def test_missing_keys_are_named(tmp_path, tiny_images):
    path = write_npz(tmp_path / "m.npz", x_train=tiny_images)
    with pytest.raises(ValueError, match=r"y_train"):
        data.load_mnist("train", path)


def test_unknown_split():
    with pytest.raises(ValueError, match="split"):
        data.load_mnist("validation")


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((4, 32, 32), np.uint8), "shape"),
        (np.zeros((4, 28, 28, 3), np.uint8), "shape"),
        (np.zeros((0, 28, 28), np.uint8), "empty"),
        (np.full((4, 28, 28), 300.0), r"\[0, 255\]"),
        (np.full((4, 28, 28), -1.0), r"\[0, 255\]"),
        (np.full((4, 28, 28), np.nan), r"\[0, 255\]"),
        (np.full((4, 28, 28), "a"), "numbers"),
        ([[0] * 28] * 28, "numpy array"),
    ],
)
def test_bad_images_are_rejected(images, message):
    with pytest.raises(ValueError, match=message):
        data.check_images(images)


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.zeros(3, np.uint8), "entries"),
        (np.full(4, 10), "0..9"),
        (np.zeros(4, np.float32), "integers"),
        (np.zeros((4, 1), np.uint8), "1-D"),
    ],
)
def test_bad_labels_are_rejected(labels, message):
    with pytest.raises(ValueError, match=message):
        data.check_labels(labels, 4)


def test_bad_arrays_in_a_file_are_rejected(tmp_path):
    path = write_npz(
        tmp_path / "m.npz", x_train=np.zeros((4, 28, 27), np.uint8), y_train=np.zeros(4, np.uint8)
    )
    with pytest.raises(ValueError, match="x_train must have shape"):
        data.load_mnist("train", path)


def test_dataset_batches_are_scaled_to_tanh_range(tiny_images):
    tiny_images[0, 0, 0], tiny_images[0, 0, 1] = 0, 255
    dataset = data.make_dataset(tiny_images, batch_size=16, shuffle=False)
    batches = list(dataset.as_numpy_iterator())
    assert len(batches) == 4
    assert batches[0].shape == (16, 28, 28, 1) and batches[0].dtype == np.float32
    assert batches[0][0, 0, 0, 0] == -1.0 and batches[0][0, 0, 1, 0] == 1.0
    np.testing.assert_allclose(batches[1][3, :, :, 0], tiny_images[19] / 127.5 - 1.0, atol=1e-6)


def test_dataset_with_labels_keeps_pairs_together(tiny_images):
    labels = np.arange(64) % 10
    dataset = data.make_dataset(tiny_images, labels, batch_size=8, seed=3)
    images, batch_labels = next(iter(dataset))
    # Each image must still sit next to its own label after the shuffle.
    for image, label in zip(images.numpy(), batch_labels.numpy()):
        index = np.flatnonzero((data.to_pixels(image) == tiny_images).all(axis=(1, 2)))[0]
        assert labels[index] == label


def test_shuffle_is_seeded_and_reshuffles_each_epoch(tiny_images):
    first = data.make_dataset(tiny_images, batch_size=64, seed=1)
    second = data.make_dataset(tiny_images, batch_size=64, seed=1)
    epoch_one, epoch_two = list(first.as_numpy_iterator()), list(first.as_numpy_iterator())
    np.testing.assert_array_equal(epoch_one[0], next(second.as_numpy_iterator()))
    assert not np.array_equal(epoch_one[0], epoch_two[0])


def test_too_few_images_for_a_batch(tiny_images):
    with pytest.raises(ValueError, match="no batch"):
        data.make_dataset(tiny_images[:5], batch_size=16)


def test_pixel_round_trip(tiny_images):
    np.testing.assert_array_equal(data.to_pixels(data.to_model_range(tiny_images)), tiny_images)


def test_real_mnist_matches_the_published_checksums(mnist_path):
    images, labels = data.load_mnist("train", mnist_path)
    digest = hashlib.sha256(images.tobytes()).hexdigest()
    assert digest == "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757"
    assert np.bincount(labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
