"""GAN losses as pairs of small pure functions, named by family and role.

Every function takes the discriminator's raw outputs (logits for the families that use a
sigmoid) and returns a scalar tensor: the mean over the batch. Keeping the sigmoid inside the
loss lets us use the numerically stable ``log(sigmoid(x))`` forms.

Families: minimax / non-saturating (GAN, DCGAN), Wasserstein (WGAN), least squares (LSGAN),
hinge (a recipe for DCGAN).
Beside them are the two ways WGAN keeps its critic Lipschitz: :func:`gradient_penalty`, a loss
term that needs the critic itself, and :func:`clip_weights`, which acts on the weights.

Notation: ``D(x)`` is the discriminator's logit on a real image, ``D(G(z))`` its logit on a
generated image, and ``sigma`` the logistic sigmoid; ``C`` is the WGAN critic.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from gankit import replicas


def _as_logits(name: str, value) -> tf.Tensor:
    value = tf.convert_to_tensor(value, dtype=tf.float32)
    if value.shape.rank is not None and value.shape.rank not in (1, 2):
        raise ValueError(f"{name} must have shape [batch] or [batch, 1], got {value.shape}")
    if value.shape.rank == 2 and value.shape[-1] not in (None, 1):
        raise ValueError(f"{name} must have one score per image, got shape {value.shape}")
    return tf.reshape(value, [-1])


def minimax_discriminator_loss(disc_real, disc_fake):
    """The discriminator's side of the original GAN game (Goodfellow et al. 2014).

    ``L_D = -E[log sigma(D(x))] - E[log(1 - sigma(D(G(z))))]``: binary cross-entropy with real
    images labelled 1 and generated images labelled 0. DCGAN (Radford et al. 2016) uses it
    unchanged.

    Args:
        disc_real: logits on real images, ``[batch]`` or ``[batch, 1]``.
        disc_fake: logits on generated images, same shape rules.

    Returns:
        A scalar: the sum of the two batch means.
    """
    disc_real = _as_logits("disc_real", disc_real)
    disc_fake = _as_logits("disc_fake", disc_fake)
    # -log sigma(x) = softplus(-x);  -log(1 - sigma(x)) = softplus(x)
    return tf.reduce_mean(tf.math.softplus(-disc_real)) + tf.reduce_mean(
        tf.math.softplus(disc_fake)
    )


def soft_label_discriminator_loss(disc_real, disc_fake, real_label=0.9, fake_label=0.0):
    """The cross-entropy discriminator loss with soft targets (Salimans et al. 2016).

    ``L_D = E[BCE(real_label, D(x))] + E[BCE(fake_label, D(G(z)))]`` with
    ``BCE(t, l) = -t log sigma(l) - (1 - t) log(1 - sigma(l))``. ``real_label=0.9`` with
    ``fake_label=0`` is one-sided label smoothing: the optimal discriminator then never becomes
    fully confident on real data, and generated images get no extra push towards the real
    ones (smoothing the fake side would, Salimans et al. argue). Targets 1 and 0 give
    :func:`minimax_discriminator_loss`.

    Args:
        disc_real, disc_fake: logits on real and generated images, ``[batch]`` or ``[batch, 1]``.
        real_label, fake_label: the targets, ``0 <= fake_label < real_label <= 1``.
    """
    if not 0.0 <= fake_label < real_label <= 1.0:
        raise ValueError(f"need 0 <= fake_label < real_label <= 1, got {fake_label} and {real_label}")
    disc_real = _as_logits("disc_real", disc_real)
    disc_fake = _as_logits("disc_fake", disc_fake)

    def cross_entropy(target, logits):  # -t log sigma(l) - (1 - t) log(1 - sigma(l))
        return tf.reduce_mean(target * tf.math.softplus(-logits) + (1.0 - target) * tf.math.softplus(logits))

    return cross_entropy(real_label, disc_real) + cross_entropy(fake_label, disc_fake)


def non_saturating_generator_loss(disc_fake):
    """The generator loss that Goodfellow et al. 2014 recommend in practice.

    ``L_G = -E[log sigma(D(G(z)))]``. It has the same fixed point as minimising
    ``E[log(1 - sigma(D(G(z))))]`` but strong gradients early in training, when the
    discriminator rejects every sample and the minimax form saturates.

    Args:
        disc_fake: logits on generated images, ``[batch]`` or ``[batch, 1]``.

    Returns:
        A scalar: the batch mean.
    """
    disc_fake = _as_logits("disc_fake", disc_fake)
    return tf.reduce_mean(tf.math.softplus(-disc_fake))


def wasserstein_critic_loss(critic_real, critic_fake):
    """The WGAN critic's loss (Arjovsky, Chintala & Bottou 2017).

    ``L_C = E[C(G(z))] - E[C(x)]``. The critic's outputs are unbounded scores, not logits. For a
    1-Lipschitz critic, ``-L_C`` at its maximum is the earth-mover (Wasserstein-1) distance
    between the real and generated distributions, so ``-L_C`` during training is the critic's
    running estimate of that distance.

    Args:
        critic_real: scores on real images, ``[batch]`` or ``[batch, 1]``.
        critic_fake: scores on generated images, same shape rules.

    Returns:
        A scalar: mean fake score minus mean real score.
    """
    critic_real = _as_logits("critic_real", critic_real)
    critic_fake = _as_logits("critic_fake", critic_fake)
    return tf.reduce_mean(critic_fake) - tf.reduce_mean(critic_real)


def wasserstein_generator_loss(critic_fake):
    """The WGAN generator's loss: ``L_G = -E[C(G(z))]``, raising the critic's score of its samples.

    Args:
        critic_fake: scores on generated images, ``[batch]`` or ``[batch, 1]``.
    """
    critic_fake = _as_logits("critic_fake", critic_fake)
    return -tf.reduce_mean(critic_fake)


def hinge_discriminator_loss(disc_real, disc_fake):
    """The hinge loss of the discriminator (Lim & Ye 2017; used by Miyato et al. 2018 with
    spectral normalisation): ``L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]``.

    Scores beyond the margin (above 1 on real images, below -1 on generated ones) cost nothing,
    so the discriminator stops pushing on images it already separates.
    """
    disc_real = _as_logits("disc_real", disc_real)
    disc_fake = _as_logits("disc_fake", disc_fake)
    return tf.reduce_mean(tf.nn.relu(1.0 - disc_real)) + tf.reduce_mean(tf.nn.relu(1.0 + disc_fake))


def hinge_generator_loss(disc_fake):
    """The generator's side of the hinge pair: ``L_G = -E[D(G(z))]``."""
    return -tf.reduce_mean(_as_logits("disc_fake", disc_fake))


def least_squares_discriminator_loss(disc_real, disc_fake, real_target=1.0, fake_target=0.0):
    """The LSGAN discriminator loss (Mao et al. 2017), with the paper's a-b-c coding.

    ``L_D = 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]`` where ``b = real_target`` and
    ``a = fake_target``; the default is the 0-1-1 coding (a = 0, b = 1, c = 1). ``D`` is the
    raw (linear) output, with no sigmoid.

    Args:
        disc_real: outputs on real images, ``[batch]`` or ``[batch, 1]``.
        disc_fake: outputs on generated images, same shape rules.
        real_target: b, the value the discriminator should give real images.
        fake_target: a, the value it should give generated images.
    """
    disc_real = _as_logits("disc_real", disc_real)
    disc_fake = _as_logits("disc_fake", disc_fake)
    return 0.5 * tf.reduce_mean(tf.square(disc_real - real_target)) + 0.5 * tf.reduce_mean(
        tf.square(disc_fake - fake_target)
    )


def least_squares_generator_loss(disc_fake, target=1.0):
    """The LSGAN generator loss: ``L_G = 1/2 E[(D(G(z)) - c)^2]`` with ``c = target`` (1 in 0-1-1).

    A sample the discriminator already scores beyond the decision boundary but far from ``c``
    still gets a gradient proportional to its distance, where the sigmoid cross-entropy has
    saturated; that is the paper's argument for least squares.

    Args:
        disc_fake: outputs on generated images, ``[batch]`` or ``[batch, 1]``.
        target: c, the value the generator wants the discriminator to believe.
    """
    disc_fake = _as_logits("disc_fake", disc_fake)
    return 0.5 * tf.reduce_mean(tf.square(disc_fake - target))


def gradient_penalty(critic, real_images, fake_images, seed=None, weight=10.0, epsilon=1e-12):
    """The WGAN-GP penalty (Gulrajani et al. 2017): ``weight * E[(||grad C(x_hat)||_2 - 1)^2]``.

    ``x_hat = x + u (G(z) - x)`` with ``u ~ U[0, 1]`` drawn once per image (shape
    ``[batch, 1, 1, 1]``), so every ``x_hat`` lies on the segment between a real and a generated
    image, where the optimal critic has gradient norm 1. ``epsilon`` sits inside the square
    root, so the norm's own gradient stays finite where the critic's gradient is zero.

    Call it inside the tape that differentiates the critic's loss: the penalty's gradient with
    respect to the critic's weights then goes through the inner gradient (double backprop).

    Args:
        critic: a callable ``images -> [batch, 1]`` scores (called with ``training=True``).
        real_images, fake_images: two batches of the same shape ``[batch, H, W, C]``.
        seed: an int or a ``keras.random.SeedGenerator`` for the interpolation weights.
        weight: lambda, 10 in the paper.
        epsilon: added to the squared norm before the square root.
    """
    real_images = tf.convert_to_tensor(real_images, tf.float32)
    fake_images = tf.convert_to_tensor(fake_images, tf.float32)
    if real_images.shape.rank != 4:
        raise ValueError(f"images must be [batch, height, width, channels], got {real_images.shape}")
    # Under a distribution strategy each replica keeps its rows of the global batch's draw.
    mix = replicas.uniform(tf.shape(real_images)[0], (1, 1, 1), seed)
    between = real_images + mix * (fake_images - real_images)
    with tf.GradientTape() as tape:
        tape.watch(between)
        scores = critic(between, training=True)
    gradients = tape.gradient(scores, between, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=[1, 2, 3]) + epsilon)
    return weight * tf.reduce_mean(tf.square(norms - 1.0))


def r1_penalty(discriminator, real_images, fake_images=None, seed=None, weight=10.0):
    """The R1 penalty (Mescheder et al. 2018), used by StyleGAN: ``weight / 2 * E ||grad D(x)||^2``
    on *real* images only.

    It pushes the discriminator's gradient to zero on the data, so that near the equilibrium the
    generator is not pushed off it; Mescheder et al. show it makes the non-saturating GAN converge
    locally where the unregularised one may circle. Like :func:`gradient_penalty`, call it inside
    the tape of the discriminator's loss (double backprop). ``fake_images`` and ``seed`` are
    unused; they are there so that both penalties fit ``GAN``'s ``discriminator_penalty`` slot.

    Args:
        discriminator: a callable ``images -> [batch, 1]`` logits (called with ``training=True``).
        real_images: ``[batch, H, W, C]``.
        weight: gamma, 10 in Karras et al. 2019 for FFHQ.
    """
    real_images = tf.convert_to_tensor(real_images, tf.float32)
    if real_images.shape.rank != 4:
        raise ValueError(f"images must be [batch, height, width, channels], got {real_images.shape}")
    with tf.GradientTape() as tape:
        tape.watch(real_images)
        scores = discriminator(real_images, training=True)
    gradients = tape.gradient(scores, real_images, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return 0.5 * weight * tf.reduce_mean(tf.reduce_sum(tf.square(gradients), axis=[1, 2, 3]))


class ClipWeights(keras.constraints.Constraint):
    """WGAN's crude Lipschitz constraint as a Keras constraint: a weight clipped to
    ``[-limit, limit]``. Keras' optimizers apply a variable's constraint after every update."""

    def __init__(self, limit=0.01):
        self.limit = float(limit)

    def __call__(self, weight):
        return tf.clip_by_value(weight, -self.limit, self.limit)

    def get_config(self):
        return {"limit": self.limit}


def clip_weights(model, limit=0.01):
    """Put :class:`ClipWeights` on every trainable weight of ``model`` (the critic): from then on
    its optimizer clips them after each update. Returns the model."""
    for variable in model.trainable_variables:
        variable.constraint = ClipWeights(limit)
    return model


# ------------------------------------------------------------------ InfoGAN's information term
# Chen et al. 2016 maximise a lower bound on the mutual information I(c; G(z, c)):
#     L_I = E[log Q(c | G(z, c))] + H(c) <= I(c; G(z, c)),
# so the loss is the negative log-likelihood of the codes that made an image under the
# auxiliary distribution Q that the discriminator's extra head predicts from the image.


def categorical_code_nll(codes, logits):
    """Mean negative log-likelihood of one-hot ``codes`` ``[batch, k]`` under the categorical
    distribution with ``logits`` ``[batch, k]`` (tensorflow-probability). ``ln k`` minus this is
    the categorical part of InfoGAN's lower bound on the mutual information."""
    import tensorflow_probability as tfp

    codes = tf.convert_to_tensor(codes, tf.float32)
    logits = tf.convert_to_tensor(logits, tf.float32)
    if codes.shape.rank != 2 or codes.shape != logits.shape:
        raise ValueError(f"codes and logits must both be [batch, categories], got {codes.shape} and {logits.shape}")
    return -tf.reduce_mean(tfp.distributions.OneHotCategorical(logits=logits).log_prob(codes))


def continuous_code_nll(codes, mean, stddev):
    """Mean (over the batch) negative log-likelihood of ``codes`` ``[batch, n]`` under independent
    Gaussians ``N(mean, stddev^2)`` (tensorflow-probability), summed over the n codes."""
    import tensorflow_probability as tfp

    codes, mean, stddev = (tf.convert_to_tensor(v, tf.float32) for v in (codes, mean, stddev))
    if codes.shape.rank != 2 or codes.shape != mean.shape or codes.shape != stddev.shape:
        raise ValueError(f"codes, mean and stddev must share one [batch, codes] shape, "
                         f"got {codes.shape}, {mean.shape}, {stddev.shape}")
    log_prob = tfp.distributions.Normal(mean, stddev).log_prob(codes)
    return -tf.reduce_mean(tf.reduce_sum(log_prob, axis=-1))
