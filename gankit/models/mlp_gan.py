"""The original GAN (Goodfellow et al. 2014): two multilayer perceptrons, a maxout discriminator.

The paper's MNIST networks are fully connected. The generator maps noise through rectified
linear layers to the 784 pixels; the discriminator is built of maxout units (Goodfellow et al.
2013) and trained with dropout. The sizes below are those of the paper's released MNIST
configuration: two generator layers of 1200 units, two maxout layers of 240 units with 5 pieces
each in the discriminator, the discriminator's input kept with probability 0.8 and its hidden
units with 0.5.

A maxout unit outputs the largest of ``pieces`` affine functions of its input,

    h_i(x) = max_j (x^T W_{ij} + b_{ij}),   j = 1 .. pieces,

a learned convex piecewise-linear activation; with dropout it was the strongest MNIST classifier
of its day, which is why the GAN paper used it for D.

What we change, and why:

* the generator ends in tanh, not a sigmoid, because the kit's images live in [-1, 1]
  (tanh(x) = 2 sigmoid(2x) - 1: the same family of outputs);
* z ~ N(0, I) (the paper drew it uniformly), as for the kit's other models, so that every
  z-based model is sampled and truncated the same way;
* the non-saturating generator loss (the paper recommends it in practice) and Adam with the
  DCGAN settings instead of SGD with momentum, whose schedule was tuned for the paper's code.

:class:`Maxout` is also the building block of the maxout CGAN (:mod:`gankit.models.cgan`).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers

from gankit import losses
from gankit.gan import StepOptions, assemble
from gankit.models import dcgan


@dataclass
class MLPGANConfig(StepOptions):
    latent_dim: int = 100  # size of the noise vector z (the paper's 100)
    hidden_units: int = 1200  # generator: two ReLU layers of this width
    maxout_units: int = 240  # discriminator: two maxout layers of this width ...
    maxout_pieces: int = 5  # ... each unit the max of this many linear pieces
    input_dropout: float = 0.2  # discriminator: share of the input pixels dropped (kept: 0.8)
    hidden_dropout: float = 0.5  # share of each maxout layer's outputs dropped
    learning_rate: float = 2e-4  # Adam, both networks (the DCGAN setting)
    generator_learning_rate: float | None = None  # the generator's own rate; None: learning_rate
    beta_1: float = 0.5
    ema_decay: float = 0.999  # generator weight average used for sampling; None turns it off
    batch_size: int = 64
    seed: int = 0  # seeds the weights, the dropout masks, the training noise and the data order


class Maxout(layers.Layer):
    """``[batch, features] -> [batch, units]``: each unit the max over ``pieces`` affine maps."""

    def __init__(self, units: int, pieces: int, seed=None, **kwargs):
        super().__init__(**kwargs)
        if units < 1 or pieces < 1:
            raise ValueError(f"Maxout needs units >= 1 and pieces >= 1, got {units}, {pieces}")
        self.units, self.pieces = int(units), int(pieces)
        # All pieces of all units in one matrix; unit i's pieces are columns i*pieces .. i*pieces+pieces-1.
        self.linear = layers.Dense(self.units * self.pieces, kernel_initializer=dcgan.normal_init(seed))

    def build(self, input_shape):
        self.linear.build(input_shape)

    def call(self, inputs):
        pieces = self.linear(inputs)  # [batch, units * pieces]
        pieces = keras.ops.reshape(pieces, (-1, self.units, self.pieces))
        return keras.ops.max(pieces, axis=-1)  # [batch, units]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "pieces": self.pieces}


def build_generator(config: MLPGANConfig) -> keras.Model:
    """z ``[batch, latent_dim]`` -> image ``[batch, 28, 28, 1]``: two ReLU layers, then tanh."""
    init = dcgan.normal_init
    latent = keras.Input((config.latent_dim,), name="latent")
    x = layers.Dense(config.hidden_units, activation="relu", kernel_initializer=init(config.seed))(latent)
    x = layers.Dense(config.hidden_units, activation="relu", kernel_initializer=init(config.seed + 1))(x)
    x = layers.Dense(28 * 28, activation="tanh", kernel_initializer=init(config.seed + 2))(x)  # [batch, 784]
    image = layers.Reshape((28, 28, 1), name="image")(x)
    return keras.Model(latent, image, name="mlp_generator")


def build_discriminator(config: MLPGANConfig) -> keras.Model:
    """image ``[batch, 28, 28, 1]`` -> one logit ``[batch, 1]``: dropout, two maxout layers."""
    image = keras.Input((28, 28, 1), name="image")
    x = layers.Flatten()(image)  # [batch, 784]
    x = layers.Dropout(config.input_dropout, seed=config.seed + 10)(x)
    for layer in range(2):
        x = Maxout(config.maxout_units, config.maxout_pieces, seed=config.seed + 3 + layer)(x)
        x = layers.Dropout(config.hidden_dropout, seed=config.seed + 11 + layer)(x)
    logit = layers.Dense(1, kernel_initializer=dcgan.normal_init(config.seed + 5), name="logit")(x)
    return keras.Model(image, logit, name="maxout_discriminator")


def build_gan(config: MLPGANConfig | None = None, **compile_kwargs):
    """The compiled 2014 GAN: the networks above, Adam, the non-saturating loss pair."""
    config = config or MLPGANConfig()
    return assemble(config, build_generator(config), build_discriminator(config),
                    losses.non_saturating_generator_loss, losses.minimax_discriminator_loss, name="gan",
                    **compile_kwargs)
