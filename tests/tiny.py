"""The smallest configs and data the tests train with, shared by the tests and by the drivers
they run in processes of their own (``distributed_step.py``)."""

from pathlib import Path

import numpy as np

# The smallest config of every registered architecture (and WGAN's clipping variant).
TINY = {
    "dcgan": dict(latent_dim=8, filters=4, discriminator_filters=4, batch_size=16, ema_decay=0.9),
    "lsgan": dict(latent_dim=8, filters=4, discriminator_filters=4, batch_size=16, ema_decay=0.9),
    "wgan": dict(latent_dim=8, filters=4, discriminator_filters=4, batch_size=16, critic_steps=2),
    "wgan_clip": dict(variant="clip", latent_dim=8, filters=4, discriminator_filters=4, batch_size=16, critic_steps=2),
    "infogan": dict(noise_dim=6, filters=4, discriminator_filters=4, q_units=8, batch_size=16),
    "stylegan": dict(latent_dim=8, style_dim=8, mapping_layers=2, filters=4, discriminator_filters=4, batch_size=16),
    "gan": dict(latent_dim=8, hidden_units=16, maxout_units=8, maxout_pieces=2, batch_size=16),
    "cgan": dict(noise_dim=8, noise_units=8, label_units=8, joint_units=16, image_units=8, label_units_d=4,
                 joint_units_d=8, batch_size=16),
    "cgan_maxout": dict(noise_dim=8, noise_units=8, label_units=8, joint_units=16, image_units=8, label_units_d=4,
                        joint_units_d=8, pieces=2, joint_pieces=2, batch_size=16),
    "acgan": dict(noise_dim=8, filters=4, discriminator_filters=4, batch_size=16),
}


def write_tiny_mnist(path: Path, count: int = 1024) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=count, dtype=np.uint8)
    np.savez(path, x_train=images, y_train=labels, x_test=images[:16], y_test=labels[:16])


def settings(name: str, **changes) -> list[str]:
    """``TINY[name]`` (with ``changes``) as the command line's ``--set`` options."""
    return [f"--set={field}={value}" for field, value in {**TINY[name], **changes}.items()]
