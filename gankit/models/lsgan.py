"""LSGAN (Mao et al. 2017): the DCGAN networks trained with least-squares losses.

Only the loss pair changes. The discriminator's output is read as a raw value regressed towards
targets, with the a-b-c coding of the paper: generated images towards ``a``, real images towards
``b``, and the generator pushes its samples towards ``c``. The default is 0-1-1 (a = 0, b = 1,
c = 1), the paper's choice that keeps b - c = 0.

    L_D = 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]
    L_G = 1/2 E[(D(G(z)) - c)^2]

The networks and sizes are DCGAN's (:mod:`gankit.models.dcgan`). The optimisers are the DCGAN
paper's, Adam 2e-4 with beta_1 0.5 for both networks: the committed LSGAN was trained that way.
(Our DCGAN default now gives its generator 1e-3, which trains faster; see its note.)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from gankit import losses
from gankit.gan import GAN
from gankit.models import dcgan
from gankit.models.dcgan import build_generator  # noqa: F401  (the registry's entry point)


@dataclass
class LSGANConfig(dcgan.DCGANConfig):
    generator_learning_rate: float | None = None  # one rate for both networks, as trained
    fake_target: float = 0.0  # a: the discriminator's target for generated images
    real_target: float = 1.0  # b: its target for real images
    generator_target: float = 1.0  # c: the value the generator wants for its samples
    loss: str = "least_squares"  # LSGAN's loss is its own (DCGAN's field, fixed here)


def build_gan(config: LSGANConfig | None = None, **compile_kwargs) -> GAN:
    """The compiled LSGAN: DCGAN's networks and optimisers with the least-squares loss pair."""
    config = config or LSGANConfig()
    # DCGAN's default name is accepted too: an LSGAN config made from a DCGAN one carries it.
    if getattr(config, "loss", "least_squares") not in ("least_squares", "non_saturating"):
        raise ValueError(f"LSGAN is the least-squares loss; for loss={config.loss!r} train dcgan")
    return dcgan.build_gan(
        config,
        generator_loss_fn=functools.partial(losses.least_squares_generator_loss, target=config.generator_target),
        discriminator_loss_fn=functools.partial(
            losses.least_squares_discriminator_loss,
            real_target=config.real_target,
            fake_target=config.fake_target,
        ),
        name="lsgan",
        **compile_kwargs,
    )
