"""The conditional GAN (Mirza & Osindero 2014): both networks are told which digit.

The label ``y`` (one-hot) is a second input to both networks. In the paper's MNIST networks the
generator maps z (100 values) and y to hidden ReLU layers of 200 and 1000 units, joins them in a
ReLU layer of 1200 and ends in the 784 pixels; the discriminator maps the image to a maxout layer
of 240 units with 5 pieces and y to one of 50 units with 5 pieces, joins them in a maxout layer of
240 units with 4 pieces and ends in one logit, with dropout (0.5). ``discriminator="maxout"``
(registered as ``cgan_maxout``) is that discriminator; ``"dense"`` (``cgan``) puts the same
widths in plain dense layers with LeakyReLU (slope 0.2), the common modern form.

As in :mod:`gankit.models.mlp_gan`: tanh output for the kit's [-1, 1] images, z ~ N(0, I),
Adam and the non-saturating loss. The training step is the shared one: every generated batch is
made for the labels of the real batch beside it (:class:`gankit.gan.ConditionalGAN`).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras import layers

from gankit.gan import ConditionalGAN, StepOptions
from gankit.models import dcgan
from gankit.models.mlp_gan import Maxout

DISCRIMINATORS = ("dense", "maxout")


@dataclass
class CGANConfig(StepOptions):
    discriminator: str = "dense"  # "dense" (LeakyReLU layers) or "maxout" (the paper's)
    noise_dim: int = 100  # z (the paper's 100)
    categories: int = 10  # values of the label
    noise_units: int = 200  # generator: z's hidden layer (the paper's sizes) ...
    label_units: int = 1000  # ... y's hidden layer ...
    joint_units: int = 1200  # ... and the layer that joins them
    image_units: int = 240  # discriminator: the image's hidden layer ...
    label_units_d: int = 50  # ... the label's ...
    joint_units_d: int = 240  # ... and the joint layer
    pieces: int = 5  # "maxout": pieces of the image's and the label's maxout units
    joint_pieces: int = 4  # "maxout": pieces of the joint maxout units
    dropout: float = 0.5  # discriminator: share of each hidden layer's outputs dropped
    learning_rate: float = 2e-4  # Adam, both networks (the DCGAN setting)
    generator_learning_rate: float | None = None  # the generator's own rate; None: learning_rate
    beta_1: float = 0.5
    ema_decay: float = 0.999  # generator weight average used for sampling; None turns it off
    batch_size: int = 64
    seed: int = 0

    def __post_init__(self):
        if self.discriminator not in DISCRIMINATORS:
            raise ValueError(f"discriminator must be one of {DISCRIMINATORS}, got {self.discriminator!r}")

    @property
    def latent_dim(self) -> int:
        """The generator's input size: noise, then the one-hot label."""
        return self.noise_dim + self.categories


@dataclass
class CGANMaxoutConfig(CGANConfig):
    discriminator: str = "maxout"  # the paper's discriminator (registered as cgan_maxout)
    # The maxout discriminator (1.22 M parameters) wins outright within 6 epochs at the dense
    # CGAN's rates (2e-4 for both); at a quarter of that rate, with the generator ten times
    # faster, the game stays balanced (screens in training/NOTES.md).
    learning_rate: float = 5e-5
    generator_learning_rate: float | None = 5e-4


def build_generator(config: CGANConfig) -> keras.Model:
    """``[z | one_hot(y)]`` ``[batch, latent_dim]`` -> image ``[batch, 28, 28, 1]``."""
    init = dcgan.normal_init
    latent = keras.Input((config.latent_dim,), name="latent")
    noise, label = latent[:, : config.noise_dim], latent[:, config.noise_dim :]
    noise = layers.Dense(config.noise_units, activation="relu", kernel_initializer=init(config.seed))(noise)
    label = layers.Dense(config.label_units, activation="relu", kernel_initializer=init(config.seed + 1))(label)
    x = layers.Concatenate()([noise, label])  # [batch, noise_units + label_units]
    x = layers.Dense(config.joint_units, activation="relu", kernel_initializer=init(config.seed + 2))(x)
    x = layers.Dense(28 * 28, activation="tanh", kernel_initializer=init(config.seed + 3))(x)
    image = layers.Reshape((28, 28, 1), name="image")(x)
    return keras.Model(latent, image, name="cgan_generator")


def build_discriminator(config: CGANConfig) -> keras.Model:
    """``[image [batch, 28, 28, 1], one_hot(y) [batch, categories]]`` -> one logit ``[batch, 1]``."""
    init = dcgan.normal_init

    def hidden(units, pieces, offset):  # one hidden layer of the configured kind
        if config.discriminator == "maxout":
            return lambda x: Maxout(units, pieces, seed=config.seed + offset)(x)
        return lambda x: layers.LeakyReLU(0.2)(layers.Dense(units, kernel_initializer=init(config.seed + offset))(x))

    def dropped(x, offset):
        return layers.Dropout(config.dropout, seed=config.seed + offset)(x)

    image = keras.Input((28, 28, 1), name="image")
    label = keras.Input((config.categories,), name="label")
    x = dropped(hidden(config.image_units, config.pieces, 4)(layers.Flatten()(image)), 10)
    y = dropped(hidden(config.label_units_d, config.pieces, 5)(label), 11)
    joint = layers.Concatenate()([x, y])
    joint = dropped(hidden(config.joint_units_d, config.joint_pieces, 6)(joint), 12)
    logit = layers.Dense(1, kernel_initializer=init(config.seed + 7), name="logit")(joint)
    return keras.Model([image, label], logit, name=f"cgan_{config.discriminator}_discriminator")


def build_gan(config: CGANConfig | None = None, **compile_kwargs) -> ConditionalGAN:
    """The compiled CGAN: the networks above, Adam, the non-saturating loss pair."""
    config = config or CGANConfig()
    return dcgan.build_gan(config, name=f"cgan_{config.discriminator}", generator=build_generator(config),
                           discriminator=build_discriminator(config), gan_class=ConditionalGAN,
                           model_kwargs=dict(categories=config.categories), **compile_kwargs)


def sample_latent(config, count: int, seed: int, labels=None) -> np.ndarray:
    """``[z | one_hot(label)]`` for ``count`` images: z from ``seed``; ``labels`` (``[count]``
    digits, or one digit for all) default to 0, 1, ..., 9, 0, 1, ... The registry's entry point
    for every conditional architecture."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((count, config.noise_dim)).astype(np.float32)
    labels = np.arange(count) % config.categories if labels is None else np.asarray(labels)
    if labels.ndim == 0:  # one digit for all
        labels = np.full(count, labels)
    if labels.shape != (count,):
        raise ValueError(f"labels must be one digit or {count} digits, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= config.categories:
        raise ValueError(f"labels must be integers in 0..{config.categories - 1}, got {np.unique(labels)}")
    return np.concatenate([noise, np.eye(config.categories, dtype=np.float32)[labels]], axis=1)
