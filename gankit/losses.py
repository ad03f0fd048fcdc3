"""GAN losses as pairs of small pure functions, named by family and role.

Every function takes the discriminator's raw outputs (logits for the families that use a
sigmoid) and returns a scalar tensor: the mean over the batch. Keeping the sigmoid inside the
loss lets us use the numerically stable ``log(sigmoid(x))`` forms.

Notation: ``D(x)`` is the discriminator's logit on a real image, ``D(G(z))`` its logit on a
generated image, and ``sigma`` the logistic sigmoid.
"""

from __future__ import annotations

import tensorflow as tf


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
