"""LSGAN (Mao et al. 2017): the DCGAN networks trained with least-squares losses.

Only the loss pair changes. The discriminator's output is read as a raw value regressed towards
targets, with the a-b-c coding of the paper: generated images towards ``a``, real images towards
``b``, and the generator pushes its samples towards ``c``. The default is 0-1-1 (a = 0, b = 1,
c = 1), the paper's choice that keeps b - c = 0.

    L_D = 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]
    L_G = 1/2 E[(D(G(z)) - c)^2]

The networks, sizes and optimisers are DCGAN's (:mod:`gankit.models.dcgan`), its generator's
faster rate included (Adam 1e-3 for the generator, 2e-4 for the discriminator, beta_1 0.5), so
that the two models differ in their loss alone. The committed LSGAN trained its first 12 epochs
at the DCGAN paper's single rate of 2e-4 and its last 48 at this pair
(``saved_models/lsgan/NOTES.md``); ``generator_learning_rate=None`` restores the single rate.
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
