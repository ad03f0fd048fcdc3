"""The architectures gankit knows, by name.

Each architecture module provides a config dataclass (defaults with a comment per field),
``build_generator(config)``, ``build_gan(config)`` and, where its input is more than Gaussian
noise, ``sample_latent(config, count, seed)``. The registry below is how the command line,
the checkpoint loader and the trainer find them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np

from gankit.models import acgan, cgan, dcgan, infogan, lsgan, mlp_gan, stylegan, wgan


def gaussian_latent(config, count: int, seed: int) -> np.ndarray:
    """z ~ N(0, I) of shape [count, config.latent_dim], the same for the same seed everywhere."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((count, config.latent_dim)).astype(np.float32)


@dataclass(frozen=True)
class Architecture:
    name: str
    config_class: type
    build_generator: Callable
    build_gan: Callable
    sample_latent: Callable = gaussian_latent
    conditional: bool = False  # trains on (images, labels) and samples for a requested label

    def make_config(self, values: dict | None = None):
        """The config dataclass from a dict (as stored in config.json); unknown keys are errors."""
        values = dict(values or {})
        known = {field.name for field in dataclasses.fields(self.config_class)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown {self.name} config field(s) {unknown}; known: {sorted(known)}")
        return self.config_class(**values)


ARCHITECTURES = {
    "dcgan": Architecture("dcgan", dcgan.DCGANConfig, dcgan.build_generator, dcgan.build_gan),
    "wgan": Architecture("wgan", wgan.WGANConfig, wgan.build_generator, wgan.build_gan),
    "lsgan": Architecture("lsgan", lsgan.LSGANConfig, lsgan.build_generator, lsgan.build_gan),
    "infogan": Architecture("infogan", infogan.InfoGANConfig, infogan.build_generator, infogan.build_gan,
                            infogan.sample_latent),
    "stylegan": Architecture("stylegan", stylegan.StyleGANConfig, stylegan.build_generator, stylegan.build_gan),
    "gan": Architecture("gan", mlp_gan.MLPGANConfig, mlp_gan.build_generator, mlp_gan.build_gan),
    "cgan": Architecture("cgan", cgan.CGANConfig, cgan.build_generator, cgan.build_gan, cgan.sample_latent,
                         conditional=True),
    "cgan_maxout": Architecture("cgan_maxout", cgan.CGANMaxoutConfig, cgan.build_generator, cgan.build_gan,
                                cgan.sample_latent, conditional=True),
    "acgan": Architecture("acgan", acgan.ACGANConfig, acgan.build_generator, acgan.build_gan, acgan.sample_latent,
                          conditional=True),
}


def get_architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(
            f"unknown architecture {name!r}; known: {', '.join(sorted(ARCHITECTURES))}"
        ) from None
