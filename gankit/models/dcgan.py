"""DCGAN (Radford, Metz & Chintala 2016) sized for 28x28 digits on a laptop CPU.

The paper's guidelines, and where each one is in the code below:

* no pooling: the discriminator downsamples with strided convolutions, the generator upsamples
  with fractional-strided (transposed) convolutions;
* batch norm in both networks, except the generator's output and the discriminator's input;
* no fully connected hidden layers: one dense projection of z starts the generator, one dense
  score ends the discriminator;
* ReLU in the generator with tanh at the output; LeakyReLU (slope 0.2) in the discriminator;
* Adam with learning rate 2e-4 and beta_1 = 0.5; weights initialised from N(0, 0.02).

One departure: by default the generator's Adam runs at 1e-3, five times the discriminator's
2e-4 (the InfoGAN paper's MNIST setting). On real MNIST it reached the single-rate run's
Fréchet distance in about half the epochs; ``generator_learning_rate=None`` restores the
paper's single rate (``saved_models/dcgan/NOTES.md`` has the comparison).

The loss is the non-saturating pair from :mod:`gankit.losses`. Later recipes are config fields,
off by default: ``loss="hinge"``, ``spectral_norm`` (a spectrally normalised discriminator
without batch norm, :mod:`gankit.models.spectral_norm`) and ``r1_weight`` (the R1 penalty).

Sizes: the generator is 7x7x128 -> (3x3, stride 1) 7x7x128 -> 14x14x64 -> 28x28x1 and the
discriminator 28x28x1 -> 14x14x64 -> 7x7x128 -> one logit. A first version with a single
layer at 7x7 and a 32/64-channel discriminator ran 2.7x faster per image but stalled at a
classifier score of about 7 (see ``saved_models/dcgan/NOTES.md``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import keras
from keras import layers

from gankit import losses, replicas
from gankit.gan import GAN, StepOptions, assemble
from gankit.models.spectral_norm import SpectralNormalization


@dataclass
class DCGANConfig(StepOptions):
    latent_dim: int = 64  # size of the noise vector z
    filters: int = 32  # generator: channels at 14x14; the 7x7 layer has 4x this
    discriminator_filters: int = 64  # discriminator: channels at 14x14; the 7x7 layer has 2x this
    kernel_size: int = 4  # 4x4 kernels with stride 2 tile the output evenly (no checkerboard)
    learning_rate: float = 2e-4  # Adam: the discriminator's rate (the paper's setting)
    generator_learning_rate: float | None = 1e-3  # the generator's own rate; None: learning_rate
    beta_1: float = 0.5  # Adam's first-moment decay (the paper's setting; 0.9 oscillates)
    ema_decay: float = 0.999  # generator weight average used for sampling; None turns it off
    batch_size: int = 64  # images per step
    seed: int = 0  # seeds the weights, the training noise and the data order
    # Recipes from later papers, off by default (the committed checkpoints were trained without):
    loss: str = "non_saturating"  # or "hinge" (Lim & Ye 2017; Miyato et al. 2018)
    spectral_norm: bool = False  # spectrally normalised discriminator, without its batch norm
    r1_weight: float = 0.0  # R1 penalty on real images (Mescheder et al. 2018); 0: off


LOSS_PAIRS = {  # the config's loss name -> (generator loss, discriminator loss)
    "non_saturating": (losses.non_saturating_generator_loss, losses.minimax_discriminator_loss),
    "hinge": (losses.hinge_generator_loss, losses.hinge_discriminator_loss),
}


def normal_init(seed):
    # The paper initialises every weight from a zero-centred normal with std 0.02.
    return keras.initializers.RandomNormal(stddev=0.02, seed=seed)


def build_generator(config: DCGANConfig, hidden_units: int = 0, refine_7x7: bool = True) -> keras.Model:
    """z [batch, latent_dim] -> image [batch, 28, 28, 1] in [-1, 1].

    ``hidden_units > 0`` puts a fully connected layer of that width (batch norm, ReLU) between z
    and the 7x7 projection, and ``refine_7x7=False`` drops the 3x3 layer at 7x7: with 1024 and
    False this is the InfoGAN paper's MNIST generator (Chen et al. 2016, appendix C.1).
    """
    width = 4 * config.filters
    latent = keras.Input((config.latent_dim,), name="z")
    x = latent
    if hidden_units:
        x = layers.Dense(hidden_units, use_bias=False, kernel_initializer=normal_init(config.seed + 11))(x)
        x = replicas.batch_normalization()(x)
        x = layers.ReLU()(x)
    x = layers.Dense(7 * 7 * width, use_bias=False, kernel_initializer=normal_init(config.seed))(x)
    x = replicas.batch_normalization()(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((7, 7, width))(x)  # [batch, 7, 7, 4f]
    if refine_7x7:
        x = layers.Conv2DTranspose(
            width, 3, strides=1, padding="same", use_bias=False, kernel_initializer=normal_init(config.seed + 6),
        )(x)  # [batch, 7, 7, 4f]: one more layer of spatial structure before upsampling
        x = replicas.batch_normalization()(x)
        x = layers.ReLU()(x)
    x = layers.Conv2DTranspose(
        2 * config.filters, config.kernel_size, strides=2, padding="same", use_bias=False,
        kernel_initializer=normal_init(config.seed + 1),
    )(x)  # [batch, 14, 14, 2f]
    x = replicas.batch_normalization()(x)
    x = layers.ReLU()(x)
    x = layers.Conv2DTranspose(
        1, config.kernel_size, strides=2, padding="same", kernel_initializer=normal_init(config.seed + 2),
    )(x)  # [batch, 28, 28, 1]
    image = layers.Activation("tanh", name="image")(x)
    return keras.Model(latent, image, name="dcgan_generator")


def build_discriminator(config: DCGANConfig, batch_norm: bool | None = None, name: str = "dcgan_discriminator",
                        initializer=None, hidden_units: int = 0) -> keras.Model:
    """image [batch, 28, 28, 1] -> one raw score [batch, 1] (no sigmoid; the loss applies it).

    ``batch_norm`` defaults to on unless the config asks for spectral normalisation
    (``spectral_norm``), which wraps every convolution and dense layer instead.

    ``hidden_units > 0`` adds a fully connected layer of that width (LeakyReLU) before the
    score: the InfoGAN paper's MNIST discriminator with 1024, except that the layer has a bias
    instead of the paper's batch norm. Real and generated images go through in separate
    batches (:class:`gankit.gan.GAN`), and batch norm over a batch of features with no spatial
    extent erases each batch's mean: measured, the scores of both kinds stayed at 0 (L_D at
    ln 4) for the first 300 steps. The score's input layer is the network's features
    (``get_layer("logit").input``).

    ``batch_norm=False`` drops the batch norm of the 7x7 layer (and gives that layer a bias):
    the WGAN-GP critic needs it, because the gradient penalty is per image and batch norm
    makes each image's score depend on the rest of its batch. ``initializer(seed)`` replaces
    the paper's N(0, 0.02) weights.
    """
    init = initializer or normal_init
    spectral = getattr(config, "spectral_norm", False)
    batch_norm = not spectral if batch_norm is None else batch_norm

    def layer(inner, offset, name=None):  # spectrally normalised when the config asks
        return SpectralNormalization(inner, seed=config.seed + 20 + offset, name=name) if spectral else inner

    image = keras.Input((28, 28, 1), name="image")
    width = config.discriminator_filters
    x = layer(layers.Conv2D(
        width, config.kernel_size, strides=2, padding="same", kernel_initializer=init(config.seed + 3),
    ), 0)(image)  # [batch, 14, 14, d]; no batch norm on the input layer
    x = layers.LeakyReLU(0.2)(x)
    x = layer(layers.Conv2D(
        2 * width, config.kernel_size, strides=2, padding="same", use_bias=not batch_norm,
        kernel_initializer=init(config.seed + 4),
    ), 1)(x)  # [batch, 7, 7, 2d]
    if batch_norm:
        x = replicas.batch_normalization()(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Flatten()(x)
    if hidden_units:
        x = layer(layers.Dense(hidden_units, kernel_initializer=init(config.seed + 12)), 2)(x)
        x = layers.LeakyReLU(0.2)(x)
    logit = layer(layers.Dense(1, kernel_initializer=init(config.seed + 5), name="logit"), 3, name="logit")(x)
    return keras.Model(image, logit, name=name)


def build_gan(
    config: DCGANConfig | None = None,
    generator_loss_fn=None,
    discriminator_loss_fn=None,
    name: str = "dcgan",
    generator: keras.Model | None = None,
    discriminator: keras.Model | None = None,
    discriminator_penalty=None,
    **kwargs,
) -> GAN:
    """The compiled DCGAN (through :func:`gankit.gan.assemble`): its two networks, Adam
    (beta_1 0.5) for each, the config's loss pair (non-saturating by default) and, with
    ``r1_weight``, the R1 penalty.

    What is given replaces DCGAN's part: another loss pair on the same networks
    (``generator_loss_fn``, ``discriminator_loss_fn``), other networks (``generator``,
    ``discriminator``), a ``discriminator_penalty``; further keyword arguments go to
    :func:`gankit.gan.assemble` (``gan_class``, ``optimizers``, ``compile`` options).
    """
    config = config or DCGANConfig()
    if generator_loss_fn is None or discriminator_loss_fn is None:  # the config's pair fills what is not given
        if config.loss not in LOSS_PAIRS:
            raise ValueError(f"loss must be one of {sorted(LOSS_PAIRS)}, got {config.loss!r}")
        generator_loss_fn = generator_loss_fn or LOSS_PAIRS[config.loss][0]
        discriminator_loss_fn = discriminator_loss_fn or LOSS_PAIRS[config.loss][1]
    if discriminator_penalty is None and config.r1_weight:
        discriminator_penalty = functools.partial(losses.r1_penalty, weight=config.r1_weight)
    return assemble(
        config,
        generator if generator is not None else build_generator(config),
        discriminator if discriminator is not None else build_discriminator(config),
        generator_loss_fn,
        discriminator_loss_fn,
        name=name,
        discriminator_penalty=discriminator_penalty,
        **kwargs,
    )
