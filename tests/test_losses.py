"""Golden values for every loss pair, on one shared set of discriminator outputs.

The expected numbers were computed by hand from the formulas in the docstrings
(softplus(x) = log(1 + e^x)), independently of TensorFlow.
"""

import keras
import numpy as np
import pytest

from gankit import losses

DISC_REAL = [1.0, -2.0, 0.5]
DISC_FAKE = [-1.0, 3.0, 0.0]


def test_minimax_discriminator_loss_golden_value():
    value = losses.minimax_discriminator_loss(DISC_REAL, DISC_FAKE)
    assert float(value) == pytest.approx(2.3230876341, rel=1e-6)


def test_non_saturating_generator_loss_golden_value():
    value = losses.non_saturating_generator_loss(DISC_FAKE)
    assert float(value) == pytest.approx(0.6849987399, rel=1e-6)


def test_minimax_discriminator_loss_is_binary_cross_entropy():
    # Reference check: real labelled 1, fake labelled 0, Keras' own cross-entropy on logits.
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    real, fake = np.array(DISC_REAL)[:, None], np.array(DISC_FAKE)[:, None]
    expected = float(bce(np.ones_like(real), real)) + float(bce(np.zeros_like(fake), fake))
    assert float(losses.minimax_discriminator_loss(real, fake)) == pytest.approx(expected, rel=1e-5)


def test_losses_are_stable_for_extreme_logits():
    # log(sigmoid(x)) computed naively gives -inf at x = -200; the softplus form does not.
    value = losses.non_saturating_generator_loss([-200.0])
    assert float(value) == pytest.approx(200.0)
    assert np.isfinite(float(losses.minimax_discriminator_loss([-200.0], [200.0])))


@pytest.mark.parametrize("bad", [np.zeros((3, 2)), np.zeros((3, 1, 1))])
def test_losses_reject_more_than_one_score_per_image(bad):
    with pytest.raises(ValueError, match="disc_fake"):
        losses.non_saturating_generator_loss(bad)
    with pytest.raises(ValueError, match="disc_real"):
        losses.minimax_discriminator_loss(bad, DISC_FAKE)


# Wasserstein: mean(fake) = 2/3, mean(real) = -1/6.
def test_wasserstein_critic_loss_golden_value():
    assert float(losses.wasserstein_critic_loss(DISC_REAL, DISC_FAKE)) == pytest.approx(5 / 6, rel=1e-6)


def test_wasserstein_generator_loss_golden_value():
    assert float(losses.wasserstein_generator_loss(DISC_FAKE)) == pytest.approx(-2 / 3, rel=1e-6)


# Least squares, 0-1-1 coding: (real - 1)^2 = 0, 9, 0.25; fake^2 = 1, 9, 0; (fake - 1)^2 = 4, 4, 1.
def test_least_squares_discriminator_loss_golden_value():
    value = losses.least_squares_discriminator_loss(DISC_REAL, DISC_FAKE)
    assert float(value) == pytest.approx(0.5 * 9.25 / 3 + 0.5 * 10 / 3, rel=1e-6)


def test_least_squares_generator_loss_golden_value():
    assert float(losses.least_squares_generator_loss(DISC_FAKE)) == pytest.approx(1.5, rel=1e-6)


def test_least_squares_other_coding():
    # a = -1, b = 1, c = 0: (fake + 1)^2 = 0, 16, 1; fake^2 = 1, 9, 0.
    value = losses.least_squares_discriminator_loss(DISC_REAL, DISC_FAKE, real_target=1.0, fake_target=-1.0)
    assert float(value) == pytest.approx(0.5 * 9.25 / 3 + 0.5 * 17 / 3, rel=1e-6)
    assert float(losses.least_squares_generator_loss(DISC_FAKE, target=0.0)) == pytest.approx(5 / 3, rel=1e-6)


def test_least_squares_generator_gradient_does_not_saturate():
    # A sample scored 10 (far on the real side) still gets pulled back towards c = 1 by least
    # squares, while the non-saturating loss has (almost) no gradient left there.
    import tensorflow as tf

    score = tf.Variable([10.0])
    with tf.GradientTape(persistent=True) as tape:
        least_squares = losses.least_squares_generator_loss(score)
        cross_entropy = losses.non_saturating_generator_loss(score)
    assert float(tape.gradient(least_squares, score)[0]) == pytest.approx(9.0)
    assert abs(float(tape.gradient(cross_entropy, score)[0])) < 1e-4


def _linear_critic(value):
    critic = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(1, use_bias=False)])
    critic.layers[-1].kernel.assign(np.full((4, 1), value, np.float32))
    return critic


def test_gradient_penalty_golden_value_and_its_gradient():
    # A linear critic C(x) = sum(w * x) has gradient w everywhere, so wherever the interpolates
    # land the penalty is 10 (||w|| - 1)^2; with w = 0.1 in 4 places ||w|| = 0.2: 10 * 0.64 = 6.4.
    # Its gradient with respect to w (double backprop) is 20 (||w|| - 1) w / ||w|| = -8 each.
    import tensorflow as tf

    critic = _linear_critic(0.1)
    real = np.random.default_rng(0).uniform(-1, 1, (5, 2, 2, 1)).astype(np.float32)
    fake = np.random.default_rng(1).uniform(-1, 1, (5, 2, 2, 1)).astype(np.float32)
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(critic, real, fake, seed=3)
    assert float(penalty) == pytest.approx(6.4, rel=1e-5)
    gradient = tape.gradient(penalty, critic.trainable_variables)[0].numpy()
    np.testing.assert_allclose(gradient, np.full((4, 1), -8.0), rtol=1e-4)


def _quadratic_critic(v, seen=None):
    """C(x) = sum(v * x^2) per image, whose input gradient 2 v x differs from image to image;
    ``seen`` collects the images it is called on."""
    import tensorflow as tf

    def critic(images, training=True):
        if seen is not None:
            seen.append(np.array(images))
        return tf.reduce_sum(v * images ** 2, axis=[1, 2, 3])[:, None]

    return critic


def test_gradient_penalty_on_a_non_linear_critic_with_one_weight_per_image():
    rng = np.random.default_rng(2)
    v = rng.normal(size=(2, 2, 1)).astype(np.float32)
    real = rng.uniform(-1, 1, (6, 2, 2, 1)).astype(np.float32)
    fake = rng.uniform(-1, 1, (6, 2, 2, 1)).astype(np.float32)
    seen = []
    penalty = float(losses.gradient_penalty(_quadratic_critic(v, seen), real, fake, seed=3))
    between = seen[0].astype(np.float64)
    # Each point lies on the segment from its real image to its fake one, at one weight per image.
    weights = (between - real) / (fake - real)
    np.testing.assert_allclose(weights, np.broadcast_to(weights[:, :1, :1], weights.shape), rtol=1e-4, atol=1e-5)
    per_image = weights[:, 0, 0, 0]
    assert np.all((per_image >= 0) & (per_image < 1)) and np.ptp(per_image) > 0.1
    # The penalty from the critic's gradient 2 v x at those points, by NumPy.
    norms = np.sqrt(np.sum((2 * v * between) ** 2, axis=(1, 2, 3)) + 1e-12)
    assert penalty == pytest.approx(10 * np.mean((norms - 1) ** 2), rel=1e-5)


def test_r1_penalty_is_taken_on_the_real_images():
    rng = np.random.default_rng(4)
    v = rng.normal(size=(2, 2, 1))
    real = rng.uniform(-1, 1, (5, 2, 2, 1)).astype(np.float32)
    fake = rng.uniform(-1, 1, (5, 2, 2, 1)).astype(np.float32)
    seen = []
    penalty = float(losses.r1_penalty(_quadratic_critic(v.astype(np.float32), seen), real, fake, weight=3.0))
    np.testing.assert_array_equal(seen[0], real)
    expected = 1.5 * np.mean(np.sum((2 * v * real) ** 2, axis=(1, 2, 3)))  # gamma / 2 E ||2 v x||^2
    assert penalty == pytest.approx(expected, rel=1e-5)
    assert penalty != pytest.approx(1.5 * np.mean(np.sum((2 * v * fake) ** 2, axis=(1, 2, 3))), rel=1e-2)


def test_gradient_penalty_is_finite_where_the_critic_is_flat():
    # Zero weights: zero input gradient. Without epsilon the norm's gradient would be 0/0.
    import tensorflow as tf

    critic = _linear_critic(0.0)
    images = np.zeros((3, 2, 2, 1), np.float32)
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(critic, images, images + 1.0, seed=0, weight=2.0)
    assert float(penalty) == pytest.approx(2.0, rel=1e-5)  # 2 * (1e-6 - 1)^2
    assert np.isfinite(tape.gradient(penalty, critic.trainable_variables)[0].numpy()).all()


def test_gradient_penalty_rejects_flat_images():
    with pytest.raises(ValueError, match="images must be"):
        losses.gradient_penalty(_linear_critic(0.1), np.zeros((3, 4)), np.zeros((3, 4)))


def test_clip_weights_bounds_every_trainable_weight_after_an_update():
    critic = _linear_critic(0.5)
    kernel = critic.layers[-1].kernel
    kernel.assign(np.array([[0.5], [-0.5], [0.004], [-0.02]], np.float32))
    assert losses.clip_weights(critic, limit=0.01) is critic
    assert all(isinstance(v.constraint, losses.ClipWeights) for v in critic.trainable_variables)
    optimizer = keras.optimizers.SGD(1.0)  # the optimizer applies the constraint after its update
    optimizer.apply([np.full((4, 1), 0.001, np.float32)], [kernel])
    np.testing.assert_allclose(kernel.numpy().ravel(), [0.01, -0.01, 0.003, -0.01], atol=1e-7)
    assert losses.ClipWeights(0.2).get_config() == {"limit": 0.2}


def test_hinge_pair_golden_values():
    # relu(1 - [1, -2, 0.5]) = [0, 3, 0.5]; relu(1 + [-1, 3, 0]) = [0, 4, 1]
    assert float(losses.hinge_discriminator_loss(DISC_REAL, DISC_FAKE)) == pytest.approx(3.5 / 3 + 5 / 3, rel=1e-6)
    assert float(losses.hinge_generator_loss(DISC_FAKE)) == pytest.approx(-2 / 3, rel=1e-6)
