"""AC-GAN (Odena, Olah & Shlens 2017): a conditional generator and a discriminator that classifies.

The generator is told the digit, as in CGAN; the discriminator is not. It reads the image alone
and has two outputs: the usual real-or-generated logit and a classifier over the ten digits. Its
loss adds the classifier's cross-entropy on real digits (true labels) and on generated ones (the
labels they were made for); the generator's loss adds the cross-entropy on its own digits, so it
learns to draw digits that the discriminator's classifier recognises:

    L_D = L_adversarial + w * (CE(C(x), y) + CE(C(G(z, c)), c)),
    L_G = L_non-saturating + w * CE(C(G(z, c)), c).

The networks are DCGAN's (:mod:`gankit.models.dcgan`) with the one-hot label appended to z, and a
dense class head on the discriminator's flattened 7x7 features beside the logit; rates as DCGAN
(G 1e-3, D 2e-4). The shared train step hands the class head's output on the real digits and
their labels to :meth:`ACGAN.auxiliary_loss` in the discriminator's update.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf
from keras import layers

from gankit import losses
from gankit.gan import ConditionalGAN, StepOptions, assemble
from gankit.models import dcgan
from gankit.models.cgan import sample_latent  # noqa: F401  (the registry's entry point)


@dataclass
class ACGANConfig(StepOptions):
    noise_dim: int = 64  # z, as DCGAN's latent_dim
    categories: int = 10  # values of the label
    filters: int = 32  # generator: as DCGANConfig.filters (the same generator)
    discriminator_filters: int = 64  # discriminator: as DCGANConfig.discriminator_filters
    kernel_size: int = 4
    class_weight: float = 1.0  # w: weight of the class cross-entropy in both losses
    learning_rate: float = 2e-4  # Adam: the discriminator's rate
    generator_learning_rate: float | None = 1e-3  # the generator's own rate (as DCGAN)
    beta_1: float = 0.5
    ema_decay: float = 0.999  # generator weight average used for sampling; None turns it off
    batch_size: int = 64
    seed: int = 0

    @property
    def latent_dim(self) -> int:
        """The generator's input size: noise, then the one-hot label."""
        return self.noise_dim + self.categories


def build_generator(config: ACGANConfig) -> keras.Model:
    """``[z | one_hot(y)]`` -> image: DCGAN's generator on the longer input."""
    return dcgan.build_generator(config)


def build_discriminator(config: ACGANConfig) -> keras.Model:
    """image -> ``[logit [batch, 1], class logits [batch, categories]]``."""
    body = dcgan.build_discriminator(config, name="body")
    features = body.get_layer("logit").input  # [batch, 7 * 7 * 2d]
    classes = layers.Dense(config.categories, kernel_initializer=dcgan.normal_init(config.seed + 8),
                           name="class_logits")(features)
    return keras.Model(body.input, [body.output, classes], name="acgan_discriminator")


class ACGAN(ConditionalGAN):
    """The shared conditional GAN with a classifying discriminator and its class loss."""

    def __init__(self, *args, class_weight: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.class_weight = float(class_weight)

    def tracked_names(self):
        return super().tracked_names() + ("class_loss",)

    def discriminate(self, images, labels=None, training=True):
        score, class_logits = self.discriminator(images, training=training)  # the label is not shown
        return score, class_logits

    def auxiliary_loss(self, latent, class_logits, real_labels=None, real_auxiliary=None):
        made_for = latent[:, -self.categories :]  # the one-hot labels the images were made for
        fake_loss = tf.reduce_mean(keras.losses.categorical_crossentropy(made_for, class_logits, from_logits=True))
        loss = fake_loss
        if real_auxiliary is not None:  # the discriminator's update: also classify the real digits
            loss += tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
                real_labels, real_auxiliary, from_logits=True))
        return self.class_weight * loss, {"class_loss": fake_loss}


def build_gan(config: ACGANConfig | None = None, **compile_kwargs) -> ACGAN:
    """The compiled AC-GAN: DCGAN's networks, rates and loss pair, the class head and loss."""
    config = config or ACGANConfig()
    return assemble(config, build_generator(config), build_discriminator(config),
                    losses.non_saturating_generator_loss, losses.minimax_discriminator_loss, name="acgan",
                    gan_class=ACGAN, model_kwargs=dict(categories=config.categories, class_weight=config.class_weight),
                    **compile_kwargs)
