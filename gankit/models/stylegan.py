"""StyleGAN (Karras, Laine & Aila 2019, "A Style-Based Generator Architecture for GANs") for 28x28
digits.

The generator is two networks:

* the **mapping network** ``f``: z (normalised to unit mean square, "pixel norm") through
  ``mapping_layers`` dense layers to an intermediate latent w. As in the paper its layers use the
  equalized learning rate with a multiplier of 0.01 (:class:`ScaledDense`), so the mapping moves
  a hundred times slower than the rest;
* the **synthesis network** ``g``: a learned 7x7 constant, then three blocks (7x7, 14x14, 28x28),
  each of two layers (the first layer of the first block is the constant itself; every block
  after it starts with a bilinear 2x upsampling). One layer: 3x3 convolution, per-pixel noise
  scaled by a learned per-channel factor (:class:`NoiseInjection`), LeakyReLU(0.2), then
  adaptive instance normalization whose scale and bias come from w through a learned affine map
  (:class:`AdaIN`). A 1x1 convolution and tanh make the image. Six layers, so six style inputs:
  two per block, in the order coarse (7x7) to fine (28x28).

During training the generator also

* keeps a running mean of w (decay 0.995, as in the official code), the centre of the
  **truncation trick** ``w' = w_avg + psi (w - w_avg)`` used when sampling;
* applies **style-mixing regularisation**: for 90 % of the images a second z is mapped too and
  its w takes over from a random block on, so that neighbouring blocks cannot rely on sharing
  one style.

Left out: progressive growing (three resolutions of a 28x28 image leave little to grow, and
training every resolution from the start is cheaper on a CPU), the equalized learning rate in
the synthesis network and discriminator (He-initialised convolutions with Adam train well here),
and the truncation cutoff (we truncate every layer).

The discriminator is DCGAN's without batch norm (the R1 penalty is per image, and batch norm
couples the images of a batch) and He-initialised; the loss is the paper's non-saturating pair
with the R1 penalty on real images (:func:`gankit.losses.r1_penalty`), the optimiser the paper's
Adam (lr 1e-3, betas 0 and 0.99); all of it plugs into the shared :class:`gankit.gan.GAN` by
composition.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from gankit import losses, replicas
from gankit.gan import GAN, StepOptions, assemble
from gankit.models import dcgan

BLOCK_SIZES = (7, 14, 28)  # the side of each synthesis block's feature maps
LAYERS_PER_BLOCK = 2  # style layers (and noise inputs) per block


@dataclass
class StyleGANConfig(StepOptions):
    latent_dim: int = 128  # size of z (the paper: 512)
    style_dim: int = 128  # size of w, the input of every affine map A (the paper: 512)
    mapping_layers: int = 8  # depth of the mapping network (the paper's 8)
    mapping_lr_multiplier: float = 0.01  # the mapping network learns 100x slower (the paper's)
    filters: int = 32  # synthesis channels: 4f at 7x7, 2f at 14x14, f at 28x28
    discriminator_filters: int = 64  # discriminator: channels at 14x14; 2x this at 7x7 (DCGAN's)
    kernel_size: int = 4  # discriminator kernels (DCGAN's)
    style_mixing_probability: float = 0.9  # share of training images made from two w's (paper: 90 %)
    w_average_decay: float = 0.995  # running mean of w, the truncation centre (official code)
    r1_weight: float = 1.0  # gamma of the R1 penalty (the paper's 10 is for 1024x1024 faces)
    r1_interval: int = 1  # R1 every N discriminator steps, weighted by N (StyleGAN2's lazy regularisation: 16)
    learning_rate: float = 1e-3  # Adam, both networks (the paper's; after 200 steps FD 235 vs 477 at 2e-4)
    beta_1: float = 0.0  # Adam's first-moment decay (the paper's 0)
    beta_2: float = 0.99  # Adam's second-moment decay (the paper's 0.99)
    ema_decay: float = 0.999  # generator weight average used for sampling; None turns it off
    batch_size: int = 64  # images per step
    seed: int = 0  # seeds the weights, the training noise and the data order

    def __post_init__(self):
        if not 0.0 <= self.style_mixing_probability <= 1.0:
            raise ValueError(f"style_mixing_probability must be in [0, 1], got {self.style_mixing_probability}")
        if self.mapping_layers < 1:
            raise ValueError(f"mapping_layers must be >= 1, got {self.mapping_layers}")


def num_style_layers() -> int:
    """How many style inputs (and noise inputs) the synthesis network has: 6."""
    return len(BLOCK_SIZES) * LAYERS_PER_BLOCK


def block_of_layer() -> list[int]:
    """The block (0 = 7x7, 1 = 14x14, 2 = 28x28) of each style layer: [0, 0, 1, 1, 2, 2]."""
    return [layer // LAYERS_PER_BLOCK for layer in range(num_style_layers())]


# --------------------------------------------------------------------------------- layers
class ScaledDense(layers.Layer):
    """A dense layer with the equalized learning rate (Karras et al. 2018).

    Weights are stored as N(0, 1 / lr_multiplier) and scaled at run time by
    ``lr_multiplier * sqrt(2 / fan_in)`` (He's constant); the bias is scaled by ``lr_multiplier``.
    The layer computes what a He-initialised dense layer computes, but Adam, whose steps have
    about the same size for every weight, moves its *output* ``lr_multiplier`` times as fast.
    """

    def __init__(self, units: int, lr_multiplier: float = 1.0, activation=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if lr_multiplier <= 0:
            raise ValueError(f"lr_multiplier must be positive, got {lr_multiplier}")
        self.units = int(units)
        self.lr_multiplier = float(lr_multiplier)
        self.activation = keras.activations.get(activation)
        self.seed = seed

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.runtime_scale = self.lr_multiplier * math.sqrt(2.0 / fan_in)
        self.kernel = self.add_weight(
            shape=(fan_in, self.units), name="kernel",
            initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier, seed=self.seed),
        )
        self.bias = self.add_weight(shape=(self.units,), name="bias", initializer="zeros")

    def call(self, inputs):
        outputs = tf.matmul(inputs, self.kernel * self.runtime_scale) + self.bias * self.lr_multiplier
        return self.activation(outputs)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "lr_multiplier": self.lr_multiplier,
                "activation": keras.activations.serialize(self.activation), "seed": self.seed}


class NoiseInjection(layers.Layer):
    """``x + s * n``: one noise image ``n`` [batch, H, W, 1] added to every channel, scaled by a
    learned per-channel factor ``s`` that starts at zero (the official code's initialisation), so
    training decides how much stochastic detail each layer takes."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(int(input_shape[-1]),), name="scale", initializer="zeros")

    def call(self, inputs, noise):
        return inputs + self.scale * tf.cast(noise, inputs.dtype)


class AdaIN(layers.Layer):
    """Adaptive instance normalization (Huang & Belongie 2017) styled by w.

    Each channel of each image is normalised to zero mean and unit variance over its pixels, then
    scaled and shifted by a style ``(y_s, y_b) = A(w)``; A is a learned affine map whose scale part
    starts at 1 (bias init), so an untrained layer passes the normalised features through.
    """

    def __init__(self, channels: int, epsilon: float = 1e-8, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.epsilon = float(epsilon)
        self.affine = layers.Dense(
            2 * self.channels, name="affine",
            kernel_initializer=keras.initializers.LecunNormal(seed=seed),  # gain 1, as the paper's A
            bias_initializer=keras.initializers.Constant([1.0] * self.channels + [0.0] * self.channels),
        )

    def call(self, inputs, style):
        if inputs.shape[-1] is not None and inputs.shape[-1] != self.channels:
            raise ValueError(f"AdaIN built for {self.channels} channels got features {inputs.shape}")
        mean, variance = tf.nn.moments(inputs, axes=[1, 2], keepdims=True)
        normalised = (inputs - mean) * tf.math.rsqrt(variance + self.epsilon)
        scale, bias = tf.split(self.affine(style), 2, axis=-1)
        return normalised * scale[:, None, None, :] + bias[:, None, None, :]

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "epsilon": self.epsilon}


def normalize_latent(z, epsilon: float = 1e-8):
    """z scaled to unit mean square per vector (the paper's "pixel norm" of the input)."""
    return z * tf.math.rsqrt(tf.reduce_mean(tf.square(z), axis=-1, keepdims=True) + epsilon)


# ------------------------------------------------------------------------------ generator
class StyleGenerator(keras.Model):
    """z [batch, latent_dim] -> image [batch, 28, 28, 1] in [-1, 1], through w and six styles.

    Called in training mode it mixes styles and updates the running mean of w; in inference it
    truncates towards that mean by ``truncation_psi`` (1: no truncation) and draws its noise
    from ``noise_seed`` (a fixed seed by default, so the same latents give the same images).
    The parts are open for the figures: :meth:`map`, :meth:`truncate`, :meth:`mix` and
    :meth:`synthesize`.
    """

    def __init__(self, config: StyleGANConfig | dict | None = None, name: str = "stylegan_generator", **kwargs):
        super().__init__(name=name, **kwargs)
        if isinstance(config, dict):
            config = StyleGANConfig(**config)
        self.config = config = config or StyleGANConfig()
        self.truncation_psi = 1.0
        self.noise_seed = 0
        widths = [4 * config.filters, 2 * config.filters, config.filters]
        self.w_average = self.add_weight(
            shape=(config.style_dim,), initializer="zeros", trainable=False, name="w_average"
        )
        self.constant = self.add_weight(
            # N(0, 1) rather than the paper's ones: a constant without spatial variation has
            # zero variance, which instance normalisation turns into 0 / sqrt(eps).
            shape=(1, BLOCK_SIZES[0], BLOCK_SIZES[0], widths[0]),
            initializer=keras.initializers.RandomNormal(stddev=1.0, seed=config.seed + 600), name="constant",
        )
        # Sublayers are attributes one by one (or inside a Sequential), never plain lists: a
        # tf.train.Checkpoint follows attributes, and silently leaves out layers kept in lists.
        self.mapping = keras.Sequential([
            ScaledDense(config.style_dim, config.mapping_lr_multiplier, activation=_leaky_relu,
                        seed=config.seed + 100 + index, name=f"mapping_{index}")
            for index in range(config.mapping_layers)
        ], name="mapping")
        self.upsample = layers.UpSampling2D(2, interpolation="bilinear")
        for layer, block in enumerate(block_of_layer()):
            width = widths[block]
            # The first layer of the first block starts from the constant: no convolution.
            if layer > 0:
                setattr(self, f"conv_{layer}", layers.Conv2D(
                    width, 3, padding="same", name=f"conv_{layer}",
                    kernel_initializer=keras.initializers.HeNormal(seed=config.seed + 200 + layer)))
            setattr(self, f"noise_{layer}", NoiseInjection(name=f"noise_{layer}"))
            setattr(self, f"adain_{layer}", AdaIN(width, seed=config.seed + 300 + layer, name=f"adain_{layer}"))
        self.to_image = layers.Conv2D(1, 1, kernel_initializer=keras.initializers.GlorotUniform(seed=config.seed + 400),
                                      name="to_image")
        self.seed_generator = keras.random.SeedGenerator(config.seed + 500)

    @property
    def convolutions(self) -> list:
        """Each style layer's convolution (None for the first, which is the constant)."""
        return [getattr(self, f"conv_{layer}", None) for layer in range(num_style_layers())]

    @property
    def noise_layers(self) -> list:
        return [getattr(self, f"noise_{layer}") for layer in range(num_style_layers())]

    @property
    def adain_layers(self) -> list:
        return [getattr(self, f"adain_{layer}") for layer in range(num_style_layers())]

    # ---------------------------------------------------------------- the two networks
    def map(self, z):
        """w [batch, style_dim] for z [batch, latent_dim]."""
        return self.mapping(normalize_latent(tf.convert_to_tensor(z, tf.float32)))

    def synthesize(self, styles, noise_seed=None, shared_noise: bool = False):
        """Images for styles ``[batch, 6, style_dim]`` (one w per layer) or ``[batch, style_dim]``
        (the same w everywhere). ``noise_seed`` (an int) fixes the per-pixel noise; None draws
        fresh noise from the generator's seed generator. ``shared_noise`` gives every image the
        same noise images, so that a figure's images differ by their styles alone."""
        styles = tf.convert_to_tensor(styles, tf.float32)
        if styles.shape.rank == 2:
            styles = tf.repeat(styles[:, None, :], num_style_layers(), axis=1)
        if styles.shape.rank != 3 or styles.shape[1] != num_style_layers() or styles.shape[2] != self.config.style_dim:
            raise ValueError(
                f"styles must be [batch, {num_style_layers()}, {self.config.style_dim}] or "
                f"[batch, {self.config.style_dim}], got {styles.shape}"
            )
        batch = tf.shape(styles)[0]
        x = tf.tile(self.constant, [batch, 1, 1, 1])
        for layer, block in enumerate(block_of_layer()):
            if self.convolutions[layer] is not None:
                if layer % LAYERS_PER_BLOCK == 0:
                    x = self.upsample(x)
                x = self.convolutions[layer](x)
            size = BLOCK_SIZES[block]
            if noise_seed is None:  # this replica's rows of the global batch's noise under a strategy
                noise = replicas.normal(1 if shared_noise else batch, (size, size, 1), self.seed_generator)
            else:
                shape = tf.stack([1 if shared_noise else batch, size, size, 1])
                noise = tf.random.stateless_normal(shape, seed=[int(noise_seed), layer])
            x = self.noise_layers[layer](x, noise)
            x = _leaky_relu(x)
            x = self.adain_layers[layer](x, styles[:, layer])
        return tf.tanh(self.to_image(x))

    # ---------------------------------------------------------------- styles
    def truncate(self, w, psi: float):
        """The truncation trick: ``w_avg + psi (w - w_avg)``; psi = 1 leaves w as it is."""
        return self.w_average + psi * (tf.convert_to_tensor(w, tf.float32) - self.w_average)

    @staticmethod
    def mix(first, second, crossover):
        """Styles [batch, 6, style_dim] taking ``first``'s w in the blocks before ``crossover``
        (0, 1, 2 or 3: an int or one per image) and ``second``'s from it on."""
        crossover = tf.convert_to_tensor(crossover, tf.int32)
        blocks = tf.constant(block_of_layer(), tf.int32)
        from_first = blocks[None, :] < tf.reshape(crossover, [-1, 1])  # [batch or 1, 6]
        return tf.where(from_first[:, :, None], tf.convert_to_tensor(first)[:, None, :],
                        tf.convert_to_tensor(second)[:, None, :])

    def call(self, z, training=False, truncation_psi=None, noise_seed=None):
        z = tf.convert_to_tensor(z, tf.float32)
        w = self.map(z)
        if not training:
            psi = self.truncation_psi if truncation_psi is None else truncation_psi
            seed = self.noise_seed if noise_seed is None else noise_seed
            return self.synthesize(self.truncate(w, psi) if psi != 1.0 else w, noise_seed=seed)
        decay = self.config.w_average_decay
        batch_mean = replicas.mean(tf.reduce_mean(w, axis=0))  # the global batch's, under a strategy
        self.w_average.assign(decay * self.w_average + (1.0 - decay) * batch_mean)
        return self.synthesize(self._mixed_styles(z, w))

    def _mixed_styles(self, z, w):
        """Style-mixing regularisation: per image, with probability p, a second w from a fresh z
        takes over at a random block (1 or 2); otherwise one w for all layers."""
        batch = tf.shape(z)[0]
        seed, blocks = self.seed_generator, len(BLOCK_SIZES)
        # Under a strategy every draw is this replica's rows of the global batch's.
        other = self.map(replicas.normal(batch, tf.shape(z)[1:], seed))
        switch_at = replicas.rows(lambda rows: keras.random.randint(tf.reshape(rows, [1]), 1, blocks, seed=seed), batch)
        mixed = replicas.uniform(batch, (), seed) < self.config.style_mixing_probability
        return self.mix(w, other, tf.where(mixed, switch_at, blocks))

    def get_config(self):
        return {"config": dataclasses.asdict(self.config), "name": self.name}


def _leaky_relu(x):
    return tf.nn.leaky_relu(x, 0.2)


# ------------------------------------------------------------------------------ builders
def build_generator(config: StyleGANConfig | None = None) -> StyleGenerator:
    """The generator, built (its weights exist, so a checkpoint can be restored into it)."""
    generator = StyleGenerator(config or StyleGANConfig())
    generator(tf.zeros((1, generator.config.latent_dim)))
    return generator


def build_discriminator(config: StyleGANConfig) -> keras.Model:
    """image -> one logit: DCGAN's discriminator without batch norm (R1 is a per-image penalty),
    He-initialised: without batch norm, DCGAN's N(0, 0.02) weights shrink the signal layer by
    layer, and the discriminator stayed at chance for hundreds of steps."""
    return dcgan.build_discriminator(config, batch_norm=False, name="stylegan_discriminator",
                                     initializer=lambda seed: keras.initializers.HeNormal(seed=seed))


def build_gan(config: StyleGANConfig | None = None, **compile_kwargs) -> GAN:
    """The compiled StyleGAN: the non-saturating loss with R1 on real images and the paper's
    Adam (1e-3, betas 0 and 0.99) for both networks."""
    config = config or StyleGANConfig()
    return assemble(
        config, build_generator(config), build_discriminator(config),
        losses.non_saturating_generator_loss, losses.minimax_discriminator_loss, name="stylegan",
        discriminator_penalty=functools.partial(losses.r1_penalty, weight=config.r1_weight),
        model_kwargs={"penalty_interval": config.r1_interval},
        **compile_kwargs,
    )
