"""Shared fixtures: tiny synthetic digits and a tiny DCGAN config, so unit tests run in seconds
without the data set. Tests that need real MNIST read it through $GANKIT_MNIST and skip without."""

import os

import numpy as np
import pytest

from gankit.models.dcgan import DCGANConfig


@pytest.fixture
def tiny_images():
    """64 random uint8 'digits' [64, 28, 28]."""
    return np.random.default_rng(0).integers(0, 256, size=(64, 28, 28), dtype=np.uint8)


@pytest.fixture
def tiny_config():
    """A DCGAN small enough to train a few steps in a second or two."""
    return DCGANConfig(latent_dim=8, filters=4, discriminator_filters=4, batch_size=16, ema_decay=0.9)


@pytest.fixture(scope="session")
def mnist_path():
    path = os.environ.get("GANKIT_MNIST")
    if not path or not os.path.isfile(path):
        pytest.skip("real MNIST not available (set GANKIT_MNIST)")
    return path
