"""StyleGAN: its layers (equalized dense, noise injection, AdaIN), style mixing, truncation,
the R1 penalty, and training through the shared GAN and the registry."""

import dataclasses
import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from gankit import analysis, checkpoints, losses, training
from gankit.models import stylegan


@pytest.fixture
def tiny_stylegan():
    return stylegan.StyleGANConfig(latent_dim=8, style_dim=8, mapping_layers=2, filters=4,
                                   discriminator_filters=4, batch_size=16, ema_decay=0.9)


def test_scaled_dense_computes_a_he_layer_with_a_slower_effective_rate():
    layer = stylegan.ScaledDense(300, lr_multiplier=0.01, seed=1)
    inputs = np.random.default_rng(0).standard_normal((5, 200)).astype(np.float32)
    outputs = layer(inputs).numpy()
    # Stored weights are N(0, 1/lr_mul); at run time they are He-scaled weights.
    assert np.std(layer.kernel.numpy()) == pytest.approx(100.0, rel=0.05)
    assert layer.runtime_scale == pytest.approx(0.01 * math.sqrt(2 / 200))
    effective = layer.kernel.numpy() * layer.runtime_scale
    assert np.std(effective) == pytest.approx(math.sqrt(2 / 200), rel=0.05)
    np.testing.assert_allclose(outputs, inputs @ effective, rtol=1e-4, atol=1e-5)
    # The gradient with respect to a stored weight is runtime_scale times that of the effective one.
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(inputs))
    gradient = tape.gradient(loss, layer.kernel).numpy()
    np.testing.assert_allclose(gradient, layer.runtime_scale * inputs.sum(0)[:, None] * np.ones((1, 300)), rtol=1e-4)
    with pytest.raises(ValueError, match="lr_multiplier"):
        stylegan.ScaledDense(4, lr_multiplier=0.0)


def test_noise_injection_starts_silent_and_adds_scaled_noise_per_channel():
    layer = stylegan.NoiseInjection()
    features = np.random.default_rng(0).standard_normal((2, 5, 5, 3)).astype(np.float32)
    noise = np.random.default_rng(1).standard_normal((2, 5, 5, 1)).astype(np.float32)
    np.testing.assert_array_equal(layer(features, noise).numpy(), features)
    layer.scale.assign([0.0, 1.0, -2.0])
    added = layer(features, noise).numpy() - features
    np.testing.assert_allclose(added, noise * np.array([0.0, 1.0, -2.0]), atol=1e-6)


def test_adain_sets_each_channels_mean_and_std_to_the_style():
    layer = stylegan.AdaIN(3)
    features = 5.0 + 3.0 * np.random.default_rng(0).standard_normal((2, 6, 6, 3)).astype(np.float32)
    style = np.ones((2, 4), np.float32)
    layer(features, style)  # build
    layer.affine.kernel.assign(np.zeros((4, 6), np.float32))
    layer.affine.bias.assign([2.0, 0.5, 1.0, -1.0, 0.0, 3.0])  # scales, then biases
    out = layer(features, style).numpy()
    np.testing.assert_allclose(out.mean(axis=(1, 2)), [[-1.0, 0.0, 3.0]] * 2, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(1, 2)), [[2.0, 0.5, 1.0]] * 2, rtol=1e-3)
    with pytest.raises(ValueError, match="3 channels"):
        layer(np.zeros((1, 6, 6, 4), np.float32), style[:1])


def test_generator_shapes_and_deterministic_sampling(tiny_stylegan):
    generator = stylegan.build_generator(tiny_stylegan)
    z = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    images = generator(z).numpy()
    assert images.shape == (3, 28, 28, 1) and np.abs(images).max() <= 1.0
    np.testing.assert_array_equal(generator(z).numpy(), images)  # fixed inference noise
    for noise in generator.noise_layers:
        noise.scale.assign(np.ones_like(noise.scale.numpy()))
    assert not np.allclose(generator(z, noise_seed=1).numpy(), generator(z, noise_seed=2).numpy())
    assert stylegan.num_style_layers() == 6 and stylegan.block_of_layer() == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="styles must be"):
        generator.synthesize(np.zeros((2, 5, 8), np.float32))


def test_truncation_pulls_w_towards_its_average(tiny_stylegan):
    generator = stylegan.build_generator(tiny_stylegan)
    generator.w_average.assign(np.arange(8, dtype=np.float32))
    w = np.ones((2, 8), np.float32)
    np.testing.assert_allclose(generator.truncate(w, 0.5).numpy(), 0.5 * (np.arange(8) + 1)[None].repeat(2, 0))
    z = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    at_zero = generator(z, truncation_psi=0.0, noise_seed=3).numpy()
    average = np.repeat(generator.w_average.numpy()[None], 4, 0)
    np.testing.assert_allclose(at_zero, generator.synthesize(average, noise_seed=3).numpy(), atol=1e-6)


def test_mix_switches_styles_at_the_crossover_block():
    first, second = np.zeros((3, 2), np.float32), np.ones((3, 2), np.float32)
    styles = stylegan.StyleGenerator.mix(first, second, [0, 1, 3]).numpy()
    assert styles.shape == (3, 6, 2)
    np.testing.assert_array_equal(styles[:, :, 0], [[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]])


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_style_mixing_regularisation_uses_two_ws_for_the_chosen_share(tiny_stylegan, probability):
    config = stylegan.StyleGANConfig(**{**tiny_stylegan.__dict__, "style_mixing_probability": probability})
    generator = stylegan.build_generator(config)
    z = np.random.default_rng(0).standard_normal((64, 8)).astype(np.float32)
    w = generator.map(z)
    styles = generator._mixed_styles(tf.constant(z), w).numpy()
    np.testing.assert_allclose(styles[:, 0], w.numpy(), atol=1e-6)  # block 0 always from the image's own w
    differs = np.abs(styles[:, -1] - w.numpy()).max(axis=1) > 1e-6  # the finest block
    assert differs.mean() == probability


def test_training_updates_the_running_mean_of_w(tiny_stylegan):
    generator = stylegan.build_generator(tiny_stylegan)
    z = np.random.default_rng(0).standard_normal((32, 8)).astype(np.float32)
    mean_w = generator.map(z).numpy().mean(0)
    generator(z, training=True)
    np.testing.assert_allclose(generator.w_average.numpy(), (1 - 0.995) * mean_w, rtol=1e-4, atol=1e-7)


def test_r1_penalty_golden_value_for_a_linear_discriminator():
    weights = np.random.default_rng(0).standard_normal((28 * 28,)).astype(np.float32)

    def linear(images, training=True):
        return tf.reduce_sum(tf.reshape(images, [-1, 28 * 28]) * weights, axis=1, keepdims=True)

    images = np.random.default_rng(1).uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32)
    assert float(losses.r1_penalty(linear, images, weight=10.0)) == pytest.approx(5.0 * np.sum(weights ** 2), rel=1e-5)
    with pytest.raises(ValueError, match="images must be"):
        losses.r1_penalty(linear, images[:, :, :, 0])


def test_stylegan_trains_resumes_and_samples_through_the_registry(tiny_stylegan, tiny_images, tmp_path):
    directory = tmp_path / "stylegan"
    training.train("stylegan", directory, tiny_images, epochs=1, config=tiny_stylegan, verbose=0)
    gan = training.train("stylegan", directory, tiny_images, epochs=2, config=tiny_stylegan, verbose=0)
    assert int(gan.generator_optimizer.iterations.numpy()) == 2 * len(tiny_images) // 16
    assert np.any(gan.generator.w_average.numpy() != 0)
    # The sampling copy (EMA) is a StyleGenerator too, with its own running mean of w.
    assert isinstance(gan.ema_generator, stylegan.StyleGenerator)
    loaded = checkpoints.load_generator(directory, architecture="stylegan")
    # Every weight of the sampling copy is in the checkpoint and comes back (none left at its
    # initial value: sublayers held in lists would be silently missing from a tf checkpoint).
    # w average and constant, mapping kernels and biases, 5 convolutions, 6 noise scales,
    # 6 AdaIN affine maps, the output convolution.
    expected = 2 + 2 * tiny_stylegan.mapping_layers + 2 * 5 + 6 + 2 * 6 + 2
    assert len(loaded.network.weights) == len(gan.ema_generator.weights) == expected
    stored = {name.split("/")[1] for name, _ in tf.train.list_variables(str(directory / "ckpt-2"))
              if name.startswith("ema_generator/")}
    assert {"mapping", "conv_1", "noise_5", "adain_0", "to_image", "constant", "w_average"} <= stored
    for restored, trained in zip(loaded.network.weights, gan.ema_generator.weights):
        np.testing.assert_array_equal(restored.numpy(), trained.numpy(), err_msg=trained.path)
    z = np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32)
    np.testing.assert_allclose(loaded.generate(z), gan.generate(z).numpy(), atol=1e-6)
    images = loaded.sample(5, seed=0)
    assert images.shape == (5, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(loaded.sample(5, seed=0), images)
    # At psi = 0 every latent maps to the average w: the images depend only on the noise.
    truncated = checkpoints.load_generator(directory, truncation_psi=0.0)
    z = np.random.default_rng(5).standard_normal((2, 3, 8)).astype(np.float32)
    np.testing.assert_allclose(truncated.generate(z[0]), truncated.generate(z[1]), atol=1e-6)
    assert not np.allclose(loaded.generate(z[0]), loaded.generate(z[1]))
    with pytest.raises(ValueError, match="latent must have shape"):
        loaded.generate(np.zeros((2, 9), np.float32))
    with pytest.raises(checkpoints.CheckpointError):
        checkpoints.load_generator(directory, architecture="dcgan")


def test_style_mixing_grid_puts_sources_on_the_edges(tiny_stylegan):
    generator = stylegan.build_generator(tiny_stylegan)
    rng = np.random.default_rng(0)
    row_z, column_z = rng.standard_normal((2, 8)).astype(np.float32), rng.standard_normal((3, 8)).astype(np.float32)
    grid = analysis.style_mixing_grid(generator, row_z, column_z, crossover=1)
    assert grid.shape == (3 * 4, 28, 28, 1)
    assert np.all(grid[0] == -1.0)  # the blank corner
    np.testing.assert_allclose(grid[1:4], generator.synthesize(generator.map(column_z), noise_seed=0, shared_noise=True), atol=1e-6)
    # crossover 3: every block from the row source, so each row repeats its source.
    everything_from_rows = analysis.style_mixing_grid(generator, row_z, column_z, crossover=3)
    np.testing.assert_allclose(everything_from_rows[5:8], np.repeat(everything_from_rows[4:5], 3, 0), atol=1e-5)


def test_interpolation_paths_share_their_end_points(tiny_stylegan):
    generator = stylegan.build_generator(tiny_stylegan)
    rng = np.random.default_rng(0)
    start, end = rng.standard_normal(8).astype(np.float32), rng.standard_normal(8).astype(np.float32)
    in_z = analysis.interpolation(generator, start, end, 5, "z")
    in_w = analysis.interpolation(generator, start, end, 5, "w")
    assert in_z.shape == in_w.shape == (5, 28, 28, 1)
    np.testing.assert_allclose(in_z[[0, -1]], in_w[[0, -1]], atol=1e-5)
    with pytest.raises(ValueError, match="space"):
        analysis.interpolation(generator, start, end, 5, "x")


def test_discriminator_is_dcgans_without_batch_norm_and_he_initialised():
    config = stylegan.StyleGANConfig()
    discriminator = stylegan.build_discriminator(config)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in discriminator.layers)
    first = next(layer for layer in discriminator.layers if isinstance(layer, keras.layers.Conv2D))
    fan_in = config.kernel_size ** 2 * 1
    assert np.std(first.kernel.numpy()) == pytest.approx(math.sqrt(2 / fan_in), rel=0.15)


def test_lazy_r1_trains_through_fit_and_logs_the_penalty_every_nth_step(tiny_stylegan, tiny_images, tmp_path):
    config = dataclasses.replace(tiny_stylegan, r1_interval=2)
    assert stylegan.build_gan(config).penalty_interval == 2
    training.train("stylegan", tmp_path, tiny_images, epochs=1, config=config, verbose=0)
    penalties = json.loads((tmp_path / "history.json").read_text())["steps"]["penalty"]
    assert len(penalties) == 4 and penalties[1] == penalties[3] == 0.0
    assert penalties[0] > 0 and penalties[2] > 0
