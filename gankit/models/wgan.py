"""WGAN (Arjovsky et al. 2017) and WGAN-GP (Gulrajani et al. 2017) on the DCGAN networks.

The discriminator becomes a *critic*: its output is an unbounded score, and the loss pair is
the Wasserstein one from :mod:`gankit.losses`. The critic is trained ``critic_steps`` (5) times
per generator step, each time on a fresh real batch, and kept (roughly) 1-Lipschitz by one of
two variants, chosen by ``WGANConfig.variant``:

* ``"clip"`` — the original WGAN: every critic weight clipped to ``[-0.01, 0.01]`` after each
  critic update, RMSProp with lr 5e-5, and the DCGAN critic with its batch norm;
* ``"gp"`` — WGAN-GP: a gradient penalty of weight 10 on images between real and generated
  ones, Adam with lr 1e-4 and betas (0.5, 0.9), and no batch norm in the critic (the penalty
  is per image, batch norm couples the images of a batch).

Both plug into :class:`gankit.gan.GAN` by composition: the penalty is the
``discriminator_penalty`` argument, and the clipping a Keras constraint on every critic weight
(:class:`gankit.losses.ClipWeights`), which the optimizer applies after each update; nothing
else changes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import keras

from gankit import losses
from gankit.gan import GAN, StepOptions, assemble
from gankit.models import dcgan
from gankit.models.dcgan import build_generator  # noqa: F401  (the registry's entry point)

VARIANTS = ("gp", "clip")


@dataclass
class WGANConfig(StepOptions):
    variant: str = "gp"  # "gp" (gradient penalty) or "clip" (weight clipping)
    latent_dim: int = 64  # size of the noise vector z
    filters: int = 32  # generator: as DCGANConfig.filters (the same generator)
    discriminator_filters: int = 64  # critic: channels at 14x14; the 7x7 layer has 2x this
    kernel_size: int = 4  # 4x4 kernels, as in DCGAN
    critic_steps: int = 5  # critic updates per generator update (both papers)
    clip_value: float = 0.01  # "clip": weights clipped to [-c, c] (Arjovsky et al.)
    penalty_weight: float = 10.0  # "gp": lambda (Gulrajani et al.)
    learning_rate: float | None = None  # None: the variant's paper setting (clip 5e-5, gp 1e-4)
    beta_1: float = 0.5  # "gp": Adam's beta_1 (the paper's 0.5 / 0.9 pair)
    beta_2: float = 0.9  # "gp": Adam's beta_2
    # Generator weight average used for sampling (None: off). Its horizon, 1 / (1 - decay) = 200
    # generator steps, is about one epoch here (187 steps); DCGAN's 0.999 would still hold 10 %
    # of the initial weights after 12 epochs, since WGAN makes 5 times fewer generator steps.
    ema_decay: float = 0.995
    batch_size: int = 64  # images per critic step (a train step takes critic_steps batches)
    seed: int = 0  # seeds the weights, the training noise and the data order

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"WGAN variant must be one of {VARIANTS}, got {self.variant!r}")


def build_critic(config: WGANConfig) -> keras.Model:
    """image [batch, 28, 28, 1] -> score [batch, 1]: the DCGAN discriminator, with batch norm
    only in the clipping variant."""
    return dcgan.build_discriminator(config, batch_norm=config.variant == "clip", name="wgan_critic")


def build_gan(config: WGANConfig | None = None, **compile_kwargs) -> GAN:
    """The compiled WGAN (or WGAN-GP) with the Wasserstein loss pair."""
    config = config or WGANConfig()
    critic = build_critic(config)
    if config.variant == "clip":
        rate = config.learning_rate or 5e-5
        penalty = None
        losses.clip_weights(critic, config.clip_value)  # as a constraint, applied after every update
        optimizers = tuple(keras.optimizers.RMSprop(rate) for _ in range(2))
    else:
        rate = config.learning_rate or 1e-4
        penalty = functools.partial(losses.gradient_penalty, weight=config.penalty_weight)
        optimizers = tuple(keras.optimizers.Adam(rate, beta_1=config.beta_1, beta_2=config.beta_2) for _ in range(2))
    return assemble(
        config, build_generator(config), critic,
        losses.wasserstein_generator_loss, losses.wasserstein_critic_loss,
        name=f"wgan_{config.variant}", optimizers=optimizers, num_discriminator_steps=config.critic_steps,
        discriminator_penalty=penalty, **compile_kwargs,
    )
