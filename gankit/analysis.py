"""Reading trained models after training: the helpers behind the InfoGAN and StyleGAN figures.

They sit apart from the architectures' modules (which hold the networks and the step's hooks),
so that the models import nothing that loads checkpoints: :mod:`gankit.checkpoints` imports the
registry of models, and this module imports both.

* InfoGAN's codes: which digit each value of the categorical code draws
  (:func:`generated_code_accuracy`) and which code the Q head reads from real digits
  (:func:`real_code_accuracy`), matched one to one (:func:`match_codes`).
* StyleGAN's styles: the style-mixing grid, interpolation in Z and in W, and a table of the
  generator's layers.
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import tensorflow as tf
from scipy.optimize import linear_sum_assignment

from gankit import checkpoints, metrics
from gankit.data import to_model_range, to_pixels
from gankit.latent import interpolate
from gankit.models import infogan, stylegan


# ------------------------------------------------------------------ InfoGAN: its codes
def match_codes(codes, digits, categories: int = 10):
    """Match code values to digits one-to-one so that the most pairs agree (Hungarian matching).

    Args:
        codes: ``[N]`` categorical code values (what made, or what Q reads from, each image).
        digits: ``[N]`` digit labels of the same images (a classifier's or the true ones).

    Returns:
        ``(digit_of_code [categories], accuracy)``: the digit each code value is matched to and
        the share of images whose code's digit equals their label.
    """
    codes, digits = np.asarray(codes).astype(int), np.asarray(digits).astype(int)
    if codes.shape != digits.shape or codes.ndim != 1 or codes.size == 0:
        raise ValueError(f"codes and digits must be two equal non-empty [N] arrays, got {codes.shape}, {digits.shape}")
    counts = metrics.pair_counts(codes, digits, categories)
    rows, columns = linear_sum_assignment(counts, maximize=True)
    digit_of_code = np.empty(categories, int)
    digit_of_code[rows] = columns
    return digit_of_code, float(counts[rows, columns].sum() / codes.size)


def load_q(name_or_path, models_dir=None) -> keras.Model:
    """The trained discriminator with its Q head, restored from a saved InfoGAN's checkpoint."""
    directory, _, config, path = checkpoints.locate(name_or_path, models_dir, architecture="infogan")
    network = infogan.build_discriminator(config)
    checkpoints.restore(network, "discriminator", path, f"an infogan discriminator built from {directory}")
    return network


def q_codes(q_network, config: infogan.InfoGANConfig, images, batch_size: int = 500) -> np.ndarray:
    """The categorical code Q reads from uint8 digits ``[N, 28, 28]`` (its most likely value)."""
    inputs = to_model_range(images)
    codes = []
    for start in range(0, len(inputs), batch_size):
        _, q = q_network(inputs[start : start + batch_size], training=False)
        codes.append(np.argmax(infogan.split_q(config, q)[0].numpy(), axis=1))
    return np.concatenate(codes)


def generated_code_accuracy(model, evaluator, per_code: int = 1000, seed: int = 11):
    """How well the categorical code of ``model`` (a loaded InfoGAN generator,
    :func:`gankit.checkpoints.load_generator`) chooses the digit: ``per_code`` images per code value
    (random noise and continuous codes from ``seed``), labelled by ``evaluator``'s classifier,
    code values matched one to one to digits. Returns ``(digit_of_code, accuracy)``."""
    config = model.config
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(config.categories), per_code)
    latent = infogan.make_latent(config, rng.standard_normal((codes.size, config.noise_dim)), codes,
                         rng.uniform(-1, 1, (codes.size, config.continuous_codes)))
    images = np.concatenate([model.generate(latent[start : start + 500]) for start in range(0, codes.size, 500)])
    _, probabilities = evaluator.features_and_probabilities(to_pixels(images))
    return match_codes(codes, probabilities.argmax(1), config.categories)


def real_code_accuracy(q_network, config: infogan.InfoGANConfig, images, labels):
    """Unsupervised classification of real digits: the code Q reads from each of ``images``,
    matched one to one to the true ``labels``. Returns ``(digit_of_code, accuracy)``."""
    return match_codes(q_codes(q_network, config, images), labels, config.categories)


# ------------------------------------------------------------------ StyleGAN: its styles
def style_mixing_grid(generator: stylegan.StyleGenerator, row_z, column_z, crossover: int, noise_seed: int = 0):
    """Images for the style-mixing figure, ``[(rows + 1) * (columns + 1), 28, 28, 1]`` in [-1, 1].

    Row 0 holds the column sources, column 0 the row sources (the corner is blank, -1); cell
    (i, j) takes the styles of the blocks before ``crossover`` (the coarse ones) from row source
    i and the rest (the fine ones) from column source j. Every image gets the same noise.
    """
    row_w, column_w = generator.map(row_z), generator.map(column_z)
    rows, columns = int(row_w.shape[0]), int(column_w.shape[0])
    first = tf.repeat(row_w, columns, axis=0)  # [rows * columns, style_dim], row-major
    second = tf.tile(column_w, [rows, 1])
    draw = functools.partial(generator.synthesize, noise_seed=noise_seed, shared_noise=True)
    mixed = draw(generator.mix(first, second, crossover)).numpy()
    sources_top, sources_left = draw(column_w).numpy(), draw(row_w).numpy()
    blank = -np.ones_like(sources_top[:1])
    lines = [np.concatenate([blank, sources_top])]
    for row in range(rows):
        lines.append(np.concatenate([sources_left[row:row + 1], mixed[row * columns:(row + 1) * columns]]))
    return np.concatenate(lines)


def interpolation(generator: stylegan.StyleGenerator, z_start, z_end, steps: int, space: str, noise_seed: int = 0):
    """Images along a path between two latents ``[steps, 28, 28, 1]``: spherical in Z (``space
    = "z"``, each point mapped to w) or a straight line between the two w's (``space = "w"``).
    Both paths share their end points (and the noise), so they differ only in between."""
    if space == "z":
        points = interpolate(np.asarray(z_start), np.asarray(z_end), steps, spherical=True)
        w = generator.map(points)
    elif space == "w":
        ends = generator.map(np.stack([z_start, z_end]).astype(np.float32))
        weights = tf.linspace(0.0, 1.0, steps)[:, None]
        w = (1.0 - weights) * ends[0] + weights * ends[1]
    else:
        raise ValueError(f"space must be 'z' or 'w', got {space!r}")
    return generator.synthesize(w, noise_seed=noise_seed, shared_noise=True).numpy()


def describe(generator: stylegan.StyleGenerator) -> str:
    """A table of the generator: the mapping network, then one line per synthesis layer (its
    feature-map shape, and the parameters of its convolution, noise scale and AdaIN affine map)."""
    config = generator.config
    mapping = generator.mapping.count_params()
    rows = [("part", "output", "params"),
            (f"mapping: {config.mapping_layers} dense", f"w ({config.style_dim},)", f"{mapping:,}"),
            ("running mean of w (not trained)", f"({config.style_dim},)", f"{config.style_dim:,}"),
            ("constant", str(tuple(generator.constant.shape[1:])), f"{int(tf.size(generator.constant)):,}")]
    for layer, block in enumerate(stylegan.block_of_layer()):
        size, width = stylegan.BLOCK_SIZES[block], generator.adain_layers[layer].channels
        parts = [generator.convolutions[layer], generator.noise_layers[layer], generator.adain_layers[layer]]
        params = sum(part.count_params() for part in parts if part is not None)
        upsample = "upsample, " if layer > 0 and layer % stylegan.LAYERS_PER_BLOCK == 0 else ""
        convolution = "conv 3x3, " if layer > 0 else ""
        rows.append((f"layer {layer}: {upsample}{convolution}noise, AdaIN", str((size, size, width)), f"{params:,}"))
    rows.append(("to_image: conv 1x1, tanh", "(28, 28, 1)", f"{generator.to_image.count_params():,}"))
    rows.append(("total", "", f"{generator.count_params():,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows)
