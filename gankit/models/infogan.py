"""InfoGAN (Chen et al. 2016) in the paper's MNIST setting, on the DCGAN networks.

The generator's input is split into incompressible noise ``z`` (62 values, N(0, I)), one
categorical code with 10 values (one-hot) and two continuous codes drawn uniformly from
[-1, 1]: ``[z | c_cat | c_cont]``. The three priors are tensorflow-probability distributions,
used to sample; Q's distributions score the codes (:mod:`gankit.losses`).

The discriminator gets a second head, Q, on its shared body: from the flattened 7x7 features a
dense layer of 128 units, then the logits of the categorical code and a mean and a positive
standard deviation (softplus) for each continuous code. The information term

    L_I = w_cat * NLL_Q(c_cat) + w_cont * NLL_Q(c_cont)

(the negative log-likelihood of the codes that made a generated image under Q's prediction from
that image) is added to the generator's loss and to the discriminator's, so that G makes its
codes readable and Q learns to read them. The paper weights the discrete code by 1 and the
continuous ones less; we use 0.1. The adversarial pair is DCGAN's non-saturating one. No label
of the data set is used: the categorical code has to find the digits by itself.

The continuous codes are scored under a fixed standard deviation of 1 (a squared error), as in
the paper's released code; ``learn_stddev=True`` lets Q predict a standard deviation as well
(the kit's first InfoGAN did; the fixed one trained better, ``training/NOTES.md``).
``hidden_units=1024`` gives the paper's own networks (a fully connected layer in G and D, Q on
D's).

The hooks of :class:`gankit.gan.GAN` that this overrides: ``sample_latent``, ``discriminate``
(score and Q head from one forward pass) and ``auxiliary_loss``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from gankit import losses, replicas
from gankit.gan import GAN, StepOptions, assemble
from gankit.models import dcgan


@dataclass
class InfoGANConfig(StepOptions):
    noise_dim: int = 62  # incompressible noise z (the paper's MNIST setting)
    categories: int = 10  # values of the categorical code
    continuous_codes: int = 2  # continuous codes, uniform on [-1, 1]
    filters: int = 32  # generator: as DCGANConfig.filters
    discriminator_filters: int = 64  # discriminator: as DCGANConfig.discriminator_filters
    kernel_size: int = 4
    q_units: int = 128  # Q head's hidden dense layer (the paper's MNIST Q: FC 128)
    hidden_units: int = 0  # 1024: the paper's networks (FC 1024 in G and D, Q on D's FC layer,
    #                        no 3x3 layer at 7x7 in G); 0: DCGAN's networks
    categorical_weight: float = 1.0  # lambda for the categorical code (the paper's 1)
    continuous_weight: float = 0.1  # lambda for the continuous codes (the paper: smaller)
    learn_stddev: bool = False  # False: a fixed std of 1, so the continuous term is a squared error
    #                             (the paper's released code, and the committed model); True: Q
    #                             predicts each continuous code's std too
    generator_learning_rate: float = 1e-3  # the paper's MNIST setting: 1e-3 for G ...
    discriminator_learning_rate: float = 2e-4  # ... and 2e-4 for D and Q
    beta_1: float = 0.5
    ema_decay: float = 0.999  # generator weight average used for sampling; None turns it off
    batch_size: int = 64
    seed: int = 0

    @property
    def latent_dim(self) -> int:
        """The generator's input size: noise, one-hot categorical code, continuous codes."""
        return self.noise_dim + self.categories + self.continuous_codes


def priors(config: InfoGANConfig):
    """The three input distributions (tensorflow-probability): noise, categorical, continuous."""
    import tensorflow_probability as tfp

    tfd = tfp.distributions
    return (
        tfd.Normal(tf.zeros(config.noise_dim), 1.0),
        tfd.OneHotCategorical(logits=tf.zeros(config.categories), dtype=tf.float32),
        tfd.Uniform(-tf.ones(config.continuous_codes), tf.ones(config.continuous_codes)),
    )


def draw_latent(config: InfoGANConfig, count, seed) -> tf.Tensor:
    """``[count, latent_dim]`` inputs ``[z | c_cat | c_cont]`` from the priors; ``seed`` is a
    stateless seed (an int or a shape-[2] int tensor): the same seed, the same batch."""
    import tensorflow_probability as tfp

    if isinstance(seed, (int, np.integer)):
        seed = tf.constant([int(seed), 0], tf.int32)  # stateless: TFP would read a bare int as stateful
    seeds = tfp.random.split_seed(seed, n=3)
    parts = [prior.sample(count, seed=part_seed) for prior, part_seed in zip(priors(config), seeds)]
    return tf.concat(parts, axis=-1)


def sample_latent(config: InfoGANConfig, count: int, seed: int) -> np.ndarray:
    """The registry's entry point: the generator's input for ``count`` images, from ``seed``."""
    return draw_latent(config, count, seed).numpy().astype(np.float32)


def split_latent(config: InfoGANConfig, latent):
    """``(noise, categorical one-hot, continuous)`` parts of a latent batch."""
    return tf.split(latent, [config.noise_dim, config.categories, config.continuous_codes], axis=-1)


def make_latent(config: InfoGANConfig, noise, categories, continuous) -> np.ndarray:
    """Assemble inputs from chosen parts: ``noise`` ``[N, noise_dim]``, ``categories`` ``[N]``
    ints, ``continuous`` ``[N, continuous_codes]`` (for the latent-variation figures)."""
    noise = np.asarray(noise, np.float32)
    categories = np.asarray(categories)
    continuous = np.asarray(continuous, np.float32)
    count = noise.shape[0]
    if noise.shape != (count, config.noise_dim):
        raise ValueError(f"noise must be [N, {config.noise_dim}], got {noise.shape}")
    if categories.shape != (count,) or categories.min() < 0 or categories.max() >= config.categories:
        raise ValueError(f"categories must be [N] integers in [0, {config.categories}), got {categories}")
    if continuous.shape != (count, config.continuous_codes):
        raise ValueError(f"continuous must be [N, {config.continuous_codes}], got {continuous.shape}")
    one_hot = np.eye(config.categories, dtype=np.float32)[categories]
    return np.concatenate([noise, one_hot, continuous], axis=1)


def build_generator(config: InfoGANConfig) -> keras.Model:
    """``[z | c_cat | c_cont]`` ``[batch, latent_dim]`` -> image: DCGAN's generator, or with
    ``hidden_units`` the paper's (a fully connected layer first, no 3x3 layer at 7x7)."""
    return dcgan.build_generator(config, hidden_units=config.hidden_units,
                                 refine_7x7=not config.hidden_units)


def build_discriminator(config: InfoGANConfig) -> keras.Model:
    """image -> ``[score [batch, 1], q [batch, categories + 2 * continuous_codes]]``.

    The score is DCGAN's discriminator logit; ``q`` holds Q's categorical logits, then the
    means, then (with ``learn_stddev``) the standard deviations (softplus, positive) of the
    continuous codes.
    """
    body = dcgan.build_discriminator(config, name="body", hidden_units=config.hidden_units)
    features = body.get_layer("logit").input  # the flattened 7x7 features, or the FC layer's
    image = body.input
    init = keras.initializers.RandomNormal(stddev=0.02, seed=config.seed + 7)
    x = layers.Dense(config.q_units, use_bias=False, kernel_initializer=init, name="q_dense")(features)
    x = replicas.batch_normalization(name="q_norm")(x)
    x = layers.LeakyReLU(0.2)(x)
    # Keras' default (Glorot) initialisation, seeded so that a run repeats exactly.
    glorot = lambda offset: keras.initializers.GlorotUniform(seed=config.seed + offset)  # noqa: E731
    logits = layers.Dense(config.categories, kernel_initializer=glorot(8), name="q_logits")(x)
    mean = layers.Dense(config.continuous_codes, kernel_initializer=glorot(9), name="q_mean")(x)
    heads = [logits, mean]
    if config.learn_stddev:
        stddev = layers.Dense(config.continuous_codes, activation="softplus", kernel_initializer=glorot(10),
                              name="q_stddev")(x)
        heads.append(layers.Lambda(lambda s: s + 1e-3, name="q_stddev_floor")(stddev))  # never exactly 0
    q = layers.Concatenate(name="q")(heads)
    return keras.Model(image, [body.output, q], name="infogan_discriminator")


def split_q(config: InfoGANConfig, q):
    """``(logits, mean, stddev)`` from the Q head's output (stddev 1 when Q does not learn it)."""
    if not config.learn_stddev:
        logits, mean = tf.split(q, [config.categories, config.continuous_codes], axis=-1)
        return logits, mean, tf.ones_like(mean)
    return tf.split(q, [config.categories, config.continuous_codes, config.continuous_codes], axis=-1)


class InfoGAN(GAN):
    """The shared GAN with InfoGAN's latent codes, Q head and information term."""

    def __init__(self, generator, discriminator, *, options: InfoGANConfig, **kwargs):
        super().__init__(generator, discriminator, options=options, **kwargs)
        self.config = options  # the codes' sizes and the information term's weights

    def tracked_names(self):
        return super().tracked_names() + ("information_loss", "categorical_information", "continuous_nll")

    def sample_latent(self, batch_size, labels=None):
        seed = keras.random.randint((2,), 0, 2**31 - 1, seed=self.seed_generator, dtype="int32")
        return replicas.rows(lambda rows: draw_latent(self.config, rows, seed), batch_size)

    def discriminate(self, images, labels=None, training=True):
        score, q = self.discriminator(images, training=training)
        return score, q

    def auxiliary_loss(self, latent, q, real_labels=None, real_auxiliary=None):  # Q reads generated images only
        _, categorical, continuous = split_latent(self.config, latent)
        logits, mean, stddev = split_q(self.config, q)
        categorical_nll = losses.categorical_code_nll(categorical, logits)
        continuous_nll = losses.continuous_code_nll(continuous, mean, stddev)
        loss = self.config.categorical_weight * categorical_nll + self.config.continuous_weight * continuous_nll
        # ln k - NLL: the categorical part of the lower bound on I(c; G(z, c)); at most ln k.
        information = math.log(self.config.categories) - categorical_nll
        return loss, {"information_loss": loss, "categorical_information": information,
                      "continuous_nll": continuous_nll}


def build_gan(config: InfoGANConfig | None = None, **compile_kwargs) -> InfoGAN:
    """The compiled InfoGAN: Adam 1e-3 (G) and 2e-4 (D and Q), beta_1 0.5, the non-saturating pair."""
    config = config or InfoGANConfig()
    optimizers = (keras.optimizers.Adam(config.generator_learning_rate, beta_1=config.beta_1),
                  keras.optimizers.Adam(config.discriminator_learning_rate, beta_1=config.beta_1))
    return assemble(config, build_generator(config), build_discriminator(config),
                    losses.non_saturating_generator_loss, losses.minimax_discriminator_loss, name="infogan",
                    optimizers=optimizers, gan_class=InfoGAN, **compile_kwargs)
