"""The shared train step pinned down by hand: tiny linear networks, plain SGD, every update
computed in NumPy from the formulas (no TensorFlow in the expected values).

Swapping the real and fake arguments of the discriminator's loss, updating the discriminator in
the generator's step (or the generator in the discriminator's), feeding a discriminator step the
wrong real batch, or calling a network in the wrong batch-norm mode each fails a test here.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gankit import losses
from gankit.gan import GAN

LATENT, PIXELS, BATCH, STEPS = 2, 3, 4, 2
RATE = 0.1  # SGD, both networks
DECAY = 0.5  # the generator's weight average


class FixedLatentGAN(GAN):
    """A GAN fed given latent batches, in the order the step asks for them."""

    def __init__(self, *args, latents, **kwargs):
        super().__init__(*args, **kwargs)
        self.queued_latents = [np.asarray(latent, np.float32) for latent in latents]

    def sample_latent(self, batch_size, labels=None):
        return tf.constant(self.queued_latents.pop(0))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softplus(x):
    return np.log1p(np.exp(x))


def linear_networks(generator_kernel, discriminator_kernel, discriminator_bias):
    """G(z) = z A (no bias), D(x) = x w + b."""
    generator = keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(PIXELS, use_bias=False)])
    discriminator = keras.Sequential([keras.Input((PIXELS,)), keras.layers.Dense(1)])
    generator.set_weights([generator_kernel])
    discriminator.set_weights([discriminator_kernel, discriminator_bias])
    return generator, discriminator


def expected_step(A, w, b, reals, discriminator_latents, generator_latent):
    """The step by hand, in float64: STEPS discriminator updates on the minimax loss
    mean softplus(-D(x)) + mean softplus(D(G(z))), then one generator update on the
    non-saturating loss mean softplus(-D(G(z))) through the updated discriminator."""
    A, w, b = A.astype(np.float64), w.astype(np.float64), b.astype(np.float64)
    for real, z in zip(reals, discriminator_latents):
        fake = z @ A
        real_scores, fake_scores = real @ w + b, fake @ w + b  # [BATCH, 1]
        d_real = -sigmoid(-real_scores) / BATCH  # dL/dD(x)
        d_fake = sigmoid(fake_scores) / BATCH  # dL/dD(G(z))
        discriminator_loss = softplus(-real_scores).mean() + softplus(fake_scores).mean()
        w = w - RATE * (real.T @ d_real + fake.T @ d_fake)
        b = b - RATE * (d_real.sum(0) + d_fake.sum(0))
    scores = generator_latent @ A @ w + b
    d_scores = -sigmoid(-scores) / BATCH
    generator_loss = softplus(-scores).mean()
    A = A - RATE * generator_latent.T @ (d_scores @ w.T)
    logs = dict(discriminator_loss=discriminator_loss, generator_loss=generator_loss,
                real_score=real_scores.mean(), fake_score=fake_scores.mean())
    return A, w, b, logs


def test_one_step_equals_the_hand_computed_updates():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(LATENT, PIXELS)).astype(np.float32)
    w = rng.normal(size=(PIXELS, 1)).astype(np.float32)
    b = np.array([0.3], np.float32)
    reals = rng.uniform(-1, 1, size=(STEPS, BATCH, PIXELS)).astype(np.float32)
    latents = rng.normal(size=(STEPS + 1, BATCH, LATENT)).astype(np.float32)

    generator, discriminator = linear_networks(A, w, b)
    gan = FixedLatentGAN(generator, discriminator, LATENT, num_discriminator_steps=STEPS, ema_decay=DECAY,
                         latents=latents)
    gan.compile(keras.optimizers.SGD(RATE), keras.optimizers.SGD(RATE),
                losses.non_saturating_generator_loss, losses.minimax_discriminator_loss)
    logs = tf.function(gan.train_step)(tf.constant(reals.reshape(STEPS * BATCH, PIXELS)))

    A_new, w_new, b_new, expected_logs = expected_step(A, w, b, reals, latents[:STEPS], latents[STEPS])
    np.testing.assert_allclose(discriminator.get_weights()[0], w_new, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(discriminator.get_weights()[1], b_new, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(generator.get_weights()[0], A_new, rtol=1e-5, atol=1e-6)
    # The weight average starts at the initial weights and moves once, by its decay.
    np.testing.assert_allclose(gan.ema_generator.get_weights()[0], DECAY * A + (1 - DECAY) * A_new,
                               rtol=1e-5, atol=1e-6)
    # Logged: the last discriminator step's loss and scores, the generator step's loss.
    for name, value in expected_logs.items():
        assert float(logs[name]) == pytest.approx(value, rel=1e-5), name
    assert int(gan.discriminator_optimizer.iterations.numpy()) == STEPS
    assert int(gan.generator_optimizer.iterations.numpy()) == 1


class ModeLog(keras.layers.Layer):
    """Passes its input on and notes the ``training`` flag of each call (at trace time)."""

    def __init__(self, log, **kwargs):
        super().__init__(**kwargs)
        self.note = log.append  # a bound method: Keras would copy a list attribute into a tracked one

    def call(self, inputs, training=None):
        self.note(bool(training))
        return inputs


def batch_norm_networks(generator_log=None, discriminator_log=None):
    generator_layers = [keras.Input((LATENT,)), keras.layers.Dense(PIXELS), keras.layers.BatchNormalization()]
    discriminator_layers = [keras.Input((PIXELS,)), keras.layers.Dense(5), keras.layers.BatchNormalization(),
                            keras.layers.Dense(1)]
    if generator_log is not None:
        generator_layers.insert(1, ModeLog(generator_log))
        discriminator_layers.insert(1, ModeLog(discriminator_log))
    return keras.Sequential(generator_layers), keras.Sequential(discriminator_layers)


def compiled(generator, discriminator, **kwargs):
    gan = GAN(generator, discriminator, LATENT, **kwargs)
    gan.compile(keras.optimizers.SGD(RATE), keras.optimizers.SGD(RATE),
                losses.non_saturating_generator_loss, losses.minimax_discriminator_loss)
    return gan


def values(variables):
    return [np.array(variable.numpy()) for variable in variables]


def test_each_network_runs_in_training_mode_in_every_call_of_the_step():
    generator_log, discriminator_log = [], []
    gan = compiled(*batch_norm_networks(generator_log, discriminator_log), num_discriminator_steps=2,
                   ema_decay=None)
    generator_log.clear(), discriminator_log.clear()  # the symbolic calls that built the networks
    tf.function(gan.train_step)(tf.zeros((2 * BATCH, PIXELS)))
    # Per discriminator step: G makes the fakes, D scores the real batch and the fake one; then G
    # makes the generator step's batch and D scores it. Batch statistics everywhere.
    assert generator_log == [True, True, True]
    assert discriminator_log == [True, True, True, True, True]


def test_the_generator_step_leaves_the_discriminator_and_its_statistics_as_they_were():
    generator, _ = batch_norm_networks()
    discriminator = keras.Sequential([keras.Input((PIXELS,)), keras.layers.Dense(5), keras.layers.Dropout(0.5, seed=1),
                                      keras.layers.BatchNormalization(), keras.layers.Dense(1)])
    gan = compiled(generator, discriminator, ema_decay=None)
    gan.discriminator_step(tf.random.stateless_normal((BATCH, PIXELS), seed=(0, 1)))  # moving statistics move
    batch_norm = discriminator.layers[2]
    statistics = [batch_norm.moving_mean, batch_norm.moving_variance]
    kept_before = values(discriminator.trainable_variables + statistics)
    dropout_state = values([discriminator.layers[1].seed_generator.state])
    generator_before = values(gan.generator.trainable_variables)
    tf.function(gan.generator_step)(BATCH)
    for before, after in zip(kept_before, values(discriminator.trainable_variables + statistics)):
        np.testing.assert_array_equal(before, after)  # weights and batch-norm moving statistics
    # Dropout's random state moves on, as in any training call: the next step draws new masks.
    assert not np.array_equal(dropout_state[0], values([discriminator.layers[1].seed_generator.state])[0])
    assert all(not np.array_equal(before, after)
               for before, after in zip(generator_before, values(gan.generator.trainable_variables)))


def test_the_discriminator_step_leaves_the_generator_weights_as_they_were():
    gan = compiled(*batch_norm_networks(), ema_decay=None)
    generator_before = values(gan.generator.trainable_variables)
    discriminator_before = values(gan.discriminator.trainable_variables)
    moving_before = values(gan.discriminator.non_trainable_variables)
    tf.function(gan.discriminator_step)(tf.random.stateless_normal((BATCH, PIXELS), seed=(0, 1)))
    for before, after in zip(generator_before, values(gan.generator.trainable_variables)):
        np.testing.assert_array_equal(before, after)
    assert all(not np.array_equal(before, after)
               for before, after in zip(discriminator_before, values(gan.discriminator.trainable_variables)))
    # The discriminator's moving statistics follow its own step's batches.
    assert all(not np.array_equal(before, after)
               for before, after in zip(moving_before, values(gan.discriminator.non_trainable_variables)))


def test_a_gradient_penalty_beside_batch_norm_is_refused():
    generator, discriminator = batch_norm_networks()
    with pytest.raises(ValueError, match="per image, and batch norm"):
        GAN(generator, discriminator, LATENT, discriminator_penalty=losses.r1_penalty)


def r1(weight):
    """The R1 penalty, weight / 2 * E ||grad D(x)||^2 on the real batch, for [batch, pixels] images
    (:func:`gankit.losses.r1_penalty` takes [batch, height, width, channels])."""
    def penalty(critic, real_images, fake_images, seed):
        with tf.GradientTape() as tape:
            tape.watch(real_images)
            scores = critic(real_images)
        return 0.5 * weight * tf.reduce_mean(tf.reduce_sum(tape.gradient(scores, real_images) ** 2, axis=1))
    return penalty


def test_the_step_takes_r1_on_the_real_batch():
    # D(x) = sum(u * x^2): its input gradient 2 u x differs between real and generated images.
    rng = np.random.default_rng(3)
    u = rng.normal(size=(PIXELS, 1)).astype(np.float32)
    real = rng.uniform(-1, 1, size=(BATCH, PIXELS)).astype(np.float32)
    generator = keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(PIXELS)])
    discriminator = keras.Sequential([keras.Input((PIXELS,)), keras.layers.Lambda(lambda x: x ** 2),
                                      keras.layers.Dense(1, use_bias=False)])
    discriminator.set_weights([u])

    gan = compiled(generator, discriminator, ema_decay=None, discriminator_penalty=r1(1.0))
    logged, _ = gan.discriminator_step(tf.constant(real))
    assert float(logged["penalty"]) == pytest.approx(0.5 * np.mean(np.sum((2 * u[:, 0] * real) ** 2, axis=1)),
                                                     rel=1e-5)


def test_a_lazy_penalty_is_taken_every_nth_step_weighted_by_n():
    # StyleGAN2's lazy regularisation: the penalty on discriminator steps 0, 3, 6, ... weighted
    # by 3, and no penalty (nor its cost) on the others.
    calls = []

    def constant_penalty(critic, real_images, fake_images, seed):
        calls.append(1)  # at trace time: the branch that takes the penalty is traced once
        return tf.constant(0.5)

    generator, discriminator = linear_networks(np.ones((LATENT, PIXELS)), np.ones((PIXELS, 1)), np.zeros(1))
    gan = compiled(generator, discriminator, ema_decay=None, discriminator_penalty=constant_penalty,
                   penalty_interval=3)
    step = tf.function(gan.discriminator_step)
    logged = [float(step(tf.ones((BATCH, PIXELS)))[0]["penalty"]) for _ in range(7)]
    assert logged == [1.5, 0.0, 0.0, 1.5, 0.0, 0.0, 1.5]
    with pytest.raises(ValueError, match="penalty_interval must be >= 1"):
        compiled(generator, discriminator, discriminator_penalty=constant_penalty, penalty_interval=0)


def test_a_lazy_r1_step_moves_the_discriminator_as_the_weighted_penalty_does():
    # On a step where it is due, the lazy R1 (interval 4) changes the discriminator as a penalty
    # 4 times as heavy taken every step would.
    rng = np.random.default_rng(5)
    real = tf.constant(rng.uniform(-1, 1, size=(BATCH, PIXELS)).astype(np.float32))
    u = rng.normal(size=(PIXELS, 1)).astype(np.float32)

    def discriminator_after_one_step(penalty, interval):
        keras.utils.set_random_seed(0)
        generator = keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(PIXELS)])
        discriminator = keras.Sequential([keras.Input((PIXELS,)), keras.layers.Lambda(lambda x: x ** 2),
                                          keras.layers.Dense(1, use_bias=False)])
        discriminator.set_weights([u])
        gan = compiled(generator, discriminator, ema_decay=None, discriminator_penalty=penalty,
                       penalty_interval=interval)
        tf.function(gan.discriminator_step)(real)
        return discriminator.get_weights()[0]

    np.testing.assert_allclose(discriminator_after_one_step(r1(1.0), 4), discriminator_after_one_step(r1(4.0), 1),
                               rtol=1e-5, atol=1e-7)
    assert not np.allclose(discriminator_after_one_step(r1(1.0), 4), discriminator_after_one_step(r1(1.0), 1),
                           rtol=1e-3)
