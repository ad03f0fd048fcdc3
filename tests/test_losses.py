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
