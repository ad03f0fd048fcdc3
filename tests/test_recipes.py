"""The recipe fields of DCGAN's config (also LSGAN's): hinge loss, spectral normalisation, R1."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from gankit import losses, training
from gankit.models import dcgan, lsgan
from gankit.models.spectral_norm import SpectralNormalization


def test_a_spectrally_normalised_kernel_has_spectral_norm_one():
    layer = SpectralNormalization(layers.Dense(7, kernel_initializer="glorot_uniform"), seed=3)
    inputs = tf.random.stateless_normal((4, 12), seed=(1, 2))
    layer(inputs)  # builds
    for _ in range(200):  # the power iteration converges over training calls
        layer(inputs, training=True)
    kernel, _ = layer.normalized_kernel()
    assert np.linalg.svd(kernel.numpy(), compute_uv=False)[0] == pytest.approx(1.0, rel=1e-3)
    outputs = layer(inputs, training=False)
    np.testing.assert_allclose(outputs.numpy(), inputs.numpy() @ kernel.numpy() + layer.layer.bias.numpy(),
                               rtol=1e-5, atol=1e-6)


def test_the_gradient_through_the_spectral_norm_is_the_gradient_through_sigma():
    # Once the power iteration has converged, d/dW of a loss through W / sigma(W) must equal
    # autodiff through the exact sigma of tf.linalg.svd: it carries the term of d sigma / dW
    # (u v^T), which a sigma treated as a constant (stop-gradiented) would drop.
    layer = SpectralNormalization(layers.Conv2D(3, 3, padding="same"), seed=0)
    images = tf.random.stateless_normal((2, 6, 6, 2), seed=(0, 1))
    layer(images)
    for _ in range(300):
        layer(images, training=True)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(images) ** 2)
    gradient = tape.gradient(loss, layer.layer.kernel).numpy()

    kernel = tf.convert_to_tensor(layer.layer.kernel.numpy())
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(kernel)
        sigma = tf.linalg.svd(tf.reshape(kernel, (-1, 3)), compute_uv=False)[0]
        exact = tf.reduce_sum((tf.nn.conv2d(images, kernel / sigma, 1, "SAME") + layer.layer.bias) ** 2)
        constant = tf.reduce_sum((tf.nn.conv2d(images, kernel / tf.stop_gradient(sigma), 1, "SAME")
                                  + layer.layer.bias) ** 2)
    np.testing.assert_allclose(gradient, tape.gradient(exact, kernel).numpy(), rtol=1e-3, atol=1e-4)
    assert not np.allclose(gradient, tape.gradient(constant, kernel).numpy(), rtol=1e-2, atol=1e-3)


def test_the_power_iteration_starts_from_the_seed():
    first, second = (SpectralNormalization(layers.Dense(4), seed=5) for _ in range(2))
    for layer in (first, second):
        layer.build((None, 3))
    np.testing.assert_array_equal(first.u.numpy(), second.u.numpy())
    with pytest.raises(ValueError, match="without activation"):
        SpectralNormalization(layers.Dense(4, activation="relu"), seed=0)


def test_spectral_norm_replaces_batch_norm_in_the_discriminator(tiny_config):
    config = dataclasses.replace(tiny_config, spectral_norm=True)
    kinds = [type(layer).__name__ for layer in dcgan.build_discriminator(config).layers]
    assert kinds.count("SpectralNormalization") == 3 and "BatchNormalization" not in kinds
    plain = [type(layer).__name__ for layer in dcgan.build_discriminator(tiny_config).layers]
    assert "SpectralNormalization" not in plain and "BatchNormalization" in plain


def test_the_config_chooses_the_loss_and_the_penalty(tiny_config):
    gan = dcgan.build_gan(dataclasses.replace(tiny_config, loss="hinge", spectral_norm=True, r1_weight=5.0))
    assert gan.generator_loss_fn is losses.hinge_generator_loss
    assert gan.discriminator_loss_fn is losses.hinge_discriminator_loss
    assert gan.penalty_fn.func is losses.r1_penalty and gan.penalty_fn.keywords == {"weight": 5.0}
    with pytest.raises(ValueError, match="per image, and batch norm"):  # R1 beside batch norm is refused
        dcgan.build_gan(dataclasses.replace(tiny_config, r1_weight=5.0))
    with pytest.raises(ValueError, match="loss must be one of"):
        dcgan.build_gan(dataclasses.replace(tiny_config, loss="wasserstein"))
    with pytest.raises(ValueError, match="least-squares"):
        lsgan.build_gan(lsgan.LSGANConfig(loss="hinge"))


def test_a_dcgan_with_every_recipe_trains_and_resumes(tmp_path, tiny_images, tiny_config):
    config = dataclasses.replace(tiny_config, loss="hinge", spectral_norm=True, r1_weight=1.0)
    gan = training.train("dcgan", tmp_path, tiny_images, epochs=1, config=config, verbose=0)
    u_after_training = [w.numpy() for w in gan.discriminator.weights if w.name == "u"]
    assert len(u_after_training) == 3
    resumed = training.train("dcgan", tmp_path, tiny_images, epochs=1, config=config, verbose=0)
    for before, after in zip(u_after_training, [w.numpy() for w in resumed.discriminator.weights if w.name == "u"]):
        np.testing.assert_array_equal(before, after)  # the power iteration's state is checkpointed
