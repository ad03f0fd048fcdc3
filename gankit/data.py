"""MNIST sources and the tf.data pipelines that feed training.

Where the digits come from, in order of preference:

1. an explicit ``path`` argument naming an ``.npz`` file with the Keras keys
   (``x_train``, ``y_train``, ``x_test``, ``y_test``);
2. the environment variable ``GANKIT_MNIST`` naming such a file;
3. ``keras.datasets.mnist.load_data()``, which downloads the file once and caches it.

Without internet and without a cached download the third source fails; we then raise
:class:`MnistUnavailableError` with a message that says how to point gankit at a local copy.
Every array is checked before it reaches TensorFlow, so a wrong shape, dtype, value range or a
missing key is reported in plain words instead of deep inside a tf.data op.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

MNIST_ENV_VAR = "GANKIT_MNIST"
IMAGE_SHAPE = (28, 28)
SPLITS = ("train", "test")


class MnistUnavailableError(RuntimeError):
    """No MNIST source could be read (no path, no environment variable, no download)."""


def load_mnist(split: str = "train", path: str | os.PathLike | None = None):
    """Return ``(images, labels)`` of one MNIST split as validated uint8 arrays.

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000 images).
        path: an ``.npz`` file with the Keras keys. When ``None``, the ``GANKIT_MNIST``
            environment variable is used, and when that is unset, Keras' download.

    Returns:
        ``images`` of shape ``[N, 28, 28]`` (uint8, 0..255) and ``labels`` of shape ``[N]``
        (uint8, 0..9).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if path is None and os.environ.get(MNIST_ENV_VAR):
        path = os.environ[MNIST_ENV_VAR]
    if path is not None:
        arrays = _read_npz(Path(path), split)
    else:
        arrays = _download(split)
    images, labels = arrays
    check_images(images, name=f"x_{split}")
    check_labels(labels, len(images), name=f"y_{split}")
    return images, labels.astype(np.uint8)


def _read_npz(path: Path, split: str):
    if not path.is_file():
        raise MnistUnavailableError(
            f"MNIST file not found: {path}. Give the path of an .npz with the keys "
            f"x_train, y_train, x_test, y_test (the file keras.datasets.mnist downloads)."
        )
    with np.load(path) as archive:
        wanted = (f"x_{split}", f"y_{split}")
        missing = [key for key in wanted if key not in archive.files]
        if missing:
            raise ValueError(
                f"{path} lacks the key(s) {missing}; it has {sorted(archive.files)}. "
                f"An MNIST file needs x_train, y_train, x_test, y_test."
            )
        return archive[wanted[0]], archive[wanted[1]]


def _download(split: str):
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # Keras raises several types when offline.
        raise MnistUnavailableError(
            "Could not download MNIST (is this machine offline?). Point gankit at a local "
            f"copy instead: pass path='.../mnist.npz', or set {MNIST_ENV_VAR}=/path/to/mnist.npz. "
            f"Original error: {type(error).__name__}: {error}"
        ) from error
    return (x_train, y_train) if split == "train" else (x_test, y_test)


def check_images(images, name: str = "images") -> None:
    """Raise ``ValueError`` unless ``images`` is an ``[N, 28, 28]`` (or ``[N, 28, 28, 1]``)
    array of pixel values in 0..255, stored as uint8 or as a float/int type."""
    if not isinstance(images, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(images).__name__}")
    shape = images.shape
    if not (
        len(shape) in (3, 4) and shape[1:3] == IMAGE_SHAPE and (len(shape) == 3 or shape[3] == 1)
    ):
        raise ValueError(f"{name} must have shape [N, 28, 28] or [N, 28, 28, 1], got {shape}")
    if shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if not (np.issubdtype(images.dtype, np.integer) or np.issubdtype(images.dtype, np.floating)):
        raise ValueError(f"{name} must hold numbers, got dtype {images.dtype}")
    if images.dtype != np.uint8:
        low, high = float(images.min()), float(images.max())
        if not (0.0 <= low and high <= 255.0) or not np.isfinite([low, high]).all():
            raise ValueError(
                f"{name} must hold pixel values in [0, 255], found [{low:g}, {high:g}]"
            )


def check_labels(labels, count: int, name: str = "labels") -> None:
    """Raise ``ValueError`` unless ``labels`` is a ``[count]`` integer array of digits 0..9."""
    if not isinstance(labels, np.ndarray) or labels.ndim != 1:
        raise ValueError(f"{name} must be a 1-D numpy array, got {getattr(labels, 'shape', labels)}")
    if len(labels) != count:
        raise ValueError(f"{name} has {len(labels)} entries but there are {count} images")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name} must be integers, got dtype {labels.dtype}")
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{name} must be digits 0..9, found {labels.min()}..{labels.max()}")


def to_model_range(images) -> np.ndarray:
    """uint8 pixels ``[N, 28, 28]`` -> float32 ``[N, 28, 28, 1]`` in [-1, 1] (the tanh range)."""
    images = np.asarray(images, dtype=np.float32).reshape(-1, *IMAGE_SHAPE, 1)
    return images / 127.5 - 1.0


def to_pixels(images) -> np.ndarray:
    """Generator output in [-1, 1] (any of ``[N, 28, 28(, 1)]``) -> uint8 ``[N, 28, 28]``."""
    images = np.asarray(images, dtype=np.float32).reshape(-1, *IMAGE_SHAPE)
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def make_dataset(
    images,
    labels=None,
    batch_size: int = 128,
    shuffle: bool = True,
    seed: int = 0,
    drop_remainder: bool = True,
) -> tf.data.Dataset:
    """A tf.data pipeline of MNIST batches (for evaluation, benchmarks and quick experiments;
    training runs use :func:`epoch_batches`, whose order survives a resumption).

    Args:
        images: uint8 pixels ``[N, 28, 28]`` (as returned by :func:`load_mnist`).
        labels: optional ``[N]`` digits; when given, the dataset yields ``(images, labels)``.
        batch_size: images per batch.
        shuffle: reshuffle the whole set at every epoch (seeded, so runs repeat).
        seed: the shuffle seed.
        drop_remainder: drop the last partial batch so every step sees ``batch_size`` images
            (batch statistics then mean the same at every step).

    Returns:
        A dataset of float32 ``[batch, 28, 28, 1]`` images in [-1, 1] (and int32 labels).
    """
    images, labels = _checked(images, labels, batch_size, drop_remainder)
    if labels is not None:
        dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    else:
        dataset = tf.data.Dataset.from_tensor_slices(images)
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return _scaled(dataset, labels is not None)


def epoch_batches(images, batch_size: int, seed: int, first_epoch: int, last_epoch: int, labels=None) -> tf.data.Dataset:
    """The training batches of epochs ``first_epoch`` .. ``last_epoch - 1``, one epoch after another.

    Epoch ``e`` visits the images in an order drawn from ``(seed, e)`` alone (a stateless
    shuffle), so a run resumed at epoch ``e`` sees exactly the batches that an uninterrupted
    run sees from there on. Every epoch has ``len(images) // batch_size`` full batches (the
    remainder is left out, a different part each epoch); pass that to ``fit`` as
    ``steps_per_epoch``.

    Returns:
        float32 ``[batch, 28, 28, 1]`` images in [-1, 1] (and int32 labels when given).
    """
    images, labels = _checked(images, labels, batch_size, drop_remainder=True)
    if not 0 <= first_epoch <= last_epoch:
        raise ValueError(f"need 0 <= first_epoch <= last_epoch, got {first_epoch}, {last_epoch}")
    count = len(images)
    used = count // batch_size * batch_size

    def order(epoch):  # the indices of one epoch, from (seed, epoch)
        key = tf.stack([tf.constant(seed, tf.int64), epoch])
        return tf.data.Dataset.from_tensor_slices(tf.random.experimental.stateless_shuffle(tf.range(count), key)[:used])

    indices = tf.data.Dataset.range(first_epoch, last_epoch).flat_map(order).batch(batch_size, drop_remainder=True)
    images = tf.constant(images)
    if labels is not None:
        labels = tf.constant(labels)
        dataset = indices.map(lambda index: (tf.gather(images, index), tf.gather(labels, index)))
    else:
        dataset = indices.map(lambda index: tf.gather(images, index))
    return _scaled(dataset, labels is not None)


def _checked(images, labels, batch_size: int, drop_remainder: bool):
    """Validated ``[N, 28, 28, 1]`` uint8 images and int32 labels (or None)."""
    check_images(images)
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if drop_remainder and len(images) < batch_size:
        raise ValueError(
            f"only {len(images)} images for batch_size {batch_size} with drop_remainder=True: "
            "no batch would be produced"
        )
    if labels is not None:
        check_labels(labels, len(images))
        labels = labels.astype(np.int32)
    return np.asarray(images).reshape(-1, *IMAGE_SHAPE, 1), labels


def _scaled(dataset: tf.data.Dataset, has_labels: bool) -> tf.data.Dataset:
    """Batches scaled to [-1, 1], two batches prefetched, tf.data's autotuning off.

    Autotuning (``AUTOTUNE`` parallelism and buffers, and its background model) ran some
    ``fit`` rounds at 625 images/s instead of about 870 on a 2-core CPU (4 of 10 rounds of DCGAN,
    against 0 of 10 with it off): it competes with the train step for the two cores. Scaling a
    batch takes well under a millisecond, so one thread and a fixed buffer keep the step fed.
    """
    # Scale after batching: one vectorised op per batch instead of one per image.
    scale = lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0  # noqa: E731  [0,255] -> [-1,1]
    if has_labels:
        dataset = dataset.map(lambda x, y: (scale(x), y))
    else:
        dataset = dataset.map(scale)
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(2).with_options(options)
