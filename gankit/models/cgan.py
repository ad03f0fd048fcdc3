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

from gankit import losses
from gankit.gan import ConditionalGAN, StepOptions, assemble
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
    # Negative slope of y's hidden layer (0: ReLU, the paper's). Fed one-hot labels, a ReLU unit
    # is silent for a label once its weight for that label (plus the bias) goes negative, and
    # then no gradient revives it: every unit of the layer died in the maxout CGAN's runs, and
    # 992 of 1,000 in the committed dense CGAN (training/NOTES.md). LeakyReLU keeps them alive,
    # and the maxout CGAN needs it (CGANMaxoutConfig); the dense CGAN learned the label with its
    # 8 survivors, and at 100 epochs its ReLU run beat a leaky one (FD 11.5 against 35.4, label
    # accuracy 94.4 % against 94.6 %), so ReLU stays its default.
    label_slope: float = 0.0
    joint_units: int = 1200  # ... and the layer that joins them
    image_units: int = 240  # discriminator: the image's hidden layer ...
    label_units_d: int = 50  # ... the label's ...
    joint_units_d: int = 240  # ... and the joint layer
    pieces: int = 5  # "maxout": pieces of the image's and the label's maxout units
    joint_pieces: int = 4  # "maxout": pieces of the joint maxout units
    dropout: float = 0.5  # discriminator: share of each hidden layer's outputs dropped
    input_dropout: float = 0.0  # discriminator: share of the input pixels dropped (the 2014 GAN's 0.2)
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
    label_slope: float = 0.2  # leaky: with ReLU every unit of the label layer died (CGANConfig)


def build_generator(config: CGANConfig) -> keras.Model:
    """``[z | one_hot(y)]`` ``[batch, latent_dim]`` -> image ``[batch, 28, 28, 1]``."""
    init = dcgan.normal_init
    latent = keras.Input((config.latent_dim,), name="latent")
    noise, label = latent[:, : config.noise_dim], latent[:, config.noise_dim :]
    noise = layers.Dense(config.noise_units, activation="relu", kernel_initializer=init(config.seed))(noise)
    if config.label_slope:
        label = layers.Dense(config.label_units, kernel_initializer=init(config.seed + 1))(label)
        label = layers.LeakyReLU(config.label_slope)(label)
    else:  # ReLU inside the layer, as the committed dense CGAN was built
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

    def dropped(x, offset, rate=config.dropout):
        return layers.Dropout(rate, seed=config.seed + offset)(x)

    image = keras.Input((28, 28, 1), name="image")
    label = keras.Input((config.categories,), name="label")
    pixels = layers.Flatten()(image)
    if config.input_dropout:  # no layer at 0, so that the committed models' graphs stay as they are
        pixels = dropped(pixels, 13, config.input_dropout)
    x = dropped(hidden(config.image_units, config.pieces, 4)(pixels), 10)
    y = dropped(hidden(config.label_units_d, config.pieces, 5)(label), 11)
    joint = layers.Concatenate()([x, y])
    joint = dropped(hidden(config.joint_units_d, config.joint_pieces, 6)(joint), 12)
    logit = layers.Dense(1, kernel_initializer=init(config.seed + 7), name="logit")(joint)
    return keras.Model([image, label], logit, name=f"cgan_{config.discriminator}_discriminator")


def build_gan(config: CGANConfig | None = None, **compile_kwargs) -> ConditionalGAN:
    """The compiled CGAN: the networks above, Adam, the non-saturating loss pair."""
    config = config or CGANConfig()
    return assemble(config, build_generator(config), build_discriminator(config),
                    losses.non_saturating_generator_loss, losses.minimax_discriminator_loss,
                    name=f"cgan_{config.discriminator}", gan_class=ConditionalGAN,
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


def label_units_alive(generator: keras.Model, categories: int = 10) -> float:
    """The share of the generator's label-layer units (y's hidden layer) whose pre-activation is
    positive for at least one label. A ReLU unit below zero for every label passes nothing and
    gets no gradient: dead for good (see ``CGANConfig.label_slope``)."""
    layers_of_label = [layer for layer in generator.layers if isinstance(layer, layers.Dense)
                       and layer.kernel.shape[0] == categories]
    if len(layers_of_label) != 1:
        raise ValueError(f"expected one dense layer fed by the {categories} label values, found {len(layers_of_label)}")
    kernel, bias = (np.asarray(w) for w in layers_of_label[0].weights)
    return float(((kernel + bias) > 0).any(axis=0).mean())  # kernel row y + bias: the pre-activation for label y
