"""InfoGAN: the information-term losses (tensorflow-probability), the latent layout, the Q head,
and what it composes into the shared GAN."""

import dataclasses
import math

import numpy as np
import pytest
import tensorflow as tf

from gankit import analysis, checkpoints, losses, training
from gankit.models import get_architecture, infogan


@pytest.fixture
def tiny_infogan():
    return infogan.InfoGANConfig(noise_dim=6, filters=4, discriminator_filters=4, q_units=8, batch_size=16,
                                 ema_decay=0.9)


def test_categorical_code_nll_golden_values():
    codes = np.eye(10, dtype=np.float32)[[3, 7]]
    # Uniform logits: every code has probability 1/10, NLL ln 10 (the information bound is 0).
    assert float(losses.categorical_code_nll(codes, np.zeros((2, 10)))) == pytest.approx(math.log(10), abs=1e-6)
    # Logits (ln 9 on the right value, 0 elsewhere): probability 9/18 = 1/2 -> NLL ln 2.
    logits = np.zeros((2, 10), np.float32)
    logits[0, 3] = logits[1, 7] = math.log(9)
    assert float(losses.categorical_code_nll(codes, logits)) == pytest.approx(math.log(2), abs=1e-6)


def test_continuous_code_nll_golden_values():
    codes = np.array([[0.0, 1.0], [0.5, -0.5]], np.float32)
    # Standard normal: 0.5 ln(2 pi) + x^2 / 2 per code, summed over codes, mean over the batch.
    expected = np.mean([2 * 0.5 * math.log(2 * math.pi) + 0.5, 2 * 0.5 * math.log(2 * math.pi) + 0.25])
    nll = losses.continuous_code_nll(codes, np.zeros_like(codes), np.ones_like(codes))
    assert float(nll) == pytest.approx(expected, abs=1e-6)
    # A narrower Gaussian centred on the codes is more certain: lower NLL (ln 0.1 per code).
    sharp = losses.continuous_code_nll(codes, codes, np.full_like(codes, 0.1))
    assert float(sharp) == pytest.approx(2 * (0.5 * math.log(2 * math.pi) + math.log(0.1)), abs=1e-5)


def test_information_losses_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="categories"):
        losses.categorical_code_nll(np.eye(10)[:2], np.zeros((2, 9)))
    with pytest.raises(ValueError, match="share one"):
        losses.continuous_code_nll(np.zeros((2, 2)), np.zeros((2, 1)), np.ones((2, 2)))


def test_latent_layout_and_priors(tiny_infogan):
    latent = infogan.sample_latent(tiny_infogan, 2000, seed=1)
    assert latent.shape == (2000, 6 + 10 + 2) == (2000, tiny_infogan.latent_dim)
    noise, categorical, continuous = (part.numpy() for part in infogan.split_latent(tiny_infogan, latent))
    np.testing.assert_array_equal(categorical.sum(axis=1), 1.0)  # one-hot
    assert set(np.unique(categorical)) == {0.0, 1.0}
    assert np.bincount(categorical.argmax(1), minlength=10).min() > 150  # every value drawn, about evenly
    assert continuous.min() >= -1 and continuous.max() <= 1 and abs(continuous.mean()) < 0.05
    assert abs(noise.std() - 1) < 0.05
    np.testing.assert_array_equal(latent, infogan.sample_latent(tiny_infogan, 2000, seed=1))
    assert not np.array_equal(latent, infogan.sample_latent(tiny_infogan, 2000, seed=2))


def test_make_latent_places_the_chosen_codes(tiny_infogan):
    latent = infogan.make_latent(tiny_infogan, np.zeros((3, 6)), [0, 4, 9], [[-2, 2], [0, 0], [1, -1]])
    np.testing.assert_array_equal(latent[:, 6:16].argmax(1), [0, 4, 9])
    np.testing.assert_array_equal(latent[:, 16:], [[-2, 2], [0, 0], [1, -1]])
    with pytest.raises(ValueError, match="categories"):
        infogan.make_latent(tiny_infogan, np.zeros((1, 6)), [10], [[0, 0]])
    with pytest.raises(ValueError, match="noise"):
        infogan.make_latent(tiny_infogan, np.zeros((1, 5)), [1], [[0, 0]])


def test_q_head_shares_the_body_and_predicts_a_positive_stddev(tiny_infogan):
    config = dataclasses.replace(tiny_infogan, learn_stddev=True)  # the default is a fixed std
    discriminator = infogan.build_discriminator(config)
    score, q = discriminator(tf.random.normal((5, 28, 28, 1)) * 10, training=False)
    assert score.shape == (5, 1) and q.shape == (5, 10 + 2 + 2)
    logits, mean, stddev = infogan.split_q(config, q)
    assert np.all(stddev.numpy() > 0)
    # One body: the score and Q read the same convolutions (no second copy of their weights).
    conv_layers = [layer for layer in discriminator.layers if "Conv2D" in type(layer).__name__]
    assert len(conv_layers) == 2


def test_training_logs_the_information_term_and_updates_q(tiny_infogan, tiny_images, tmp_path):
    gan = training.train("infogan", tmp_path / "run", tiny_images, epochs=1, config=tiny_infogan, verbose=0)
    before = gan.discriminator.get_layer("q_logits").kernel.numpy().copy()
    history = training.load_history(tmp_path / "run" / "history.json")
    steps = history["steps"]
    assert len(steps["information_loss"]) == 4  # 64 images / 16 per step
    for value in steps["categorical_information"]:
        assert value <= math.log(10) + 1e-5  # ln 10 - NLL never exceeds ln 10
    expected = np.array(steps["categorical_information"]) * -1 + math.log(10) + 0.1 * np.array(steps["continuous_nll"])
    np.testing.assert_allclose(steps["information_loss"], expected, rtol=1e-4, atol=1e-5)
    # Q's head is trained by the discriminator's optimizer, through the information term.
    gan.fit(tf.data.Dataset.from_tensor_slices(np.zeros((16, 28, 28, 1), np.float32)).batch(16), verbose=0)
    assert not np.allclose(before, gan.discriminator.get_layer("q_logits").kernel.numpy())


def test_checkpoint_samples_through_the_registry(tiny_infogan, tiny_images, tmp_path):
    training.train("infogan", tmp_path / "run", tiny_images, epochs=1, config=tiny_infogan, verbose=0)
    model = checkpoints.load_generator(tmp_path / "run", architecture="infogan")
    assert model.latent(4, seed=0).shape == (4, 18)
    assert model.sample(4, seed=0).shape == (4, 28, 28)
    assert get_architecture("infogan").make_config({"noise_dim": 6}).latent_dim == 18


def test_match_codes_finds_the_one_to_one_assignment():
    # Code c mostly means digit (c + 3) % 10; two images disagree.
    digits = np.repeat(np.arange(10), 5)
    codes = (digits - 3) % 10
    digits_seen = digits.copy()
    digits_seen[[0, 7]] = [9, 2]
    digit_of_code, accuracy = analysis.match_codes(codes, digits_seen)
    np.testing.assert_array_equal(digit_of_code, (np.arange(10) + 3) % 10)
    assert accuracy == pytest.approx(48 / 50)
    with pytest.raises(ValueError, match="equal"):
        analysis.match_codes([1, 2], [1])


def test_q_is_restored_from_the_checkpoint(tiny_infogan, tiny_images, tmp_path):
    gan = training.train("infogan", tmp_path / "run", tiny_images, epochs=1, config=tiny_infogan, verbose=0)
    q_network = analysis.load_q(tmp_path / "run")
    np.testing.assert_array_equal(q_network.get_layer("q_logits").kernel.numpy(),
                                  gan.discriminator.get_layer("q_logits").kernel.numpy())
    codes = analysis.q_codes(q_network, tiny_infogan, tiny_images[:7], batch_size=3)
    assert codes.shape == (7,) and codes.min() >= 0 and codes.max() < 10
    training.train("dcgan", tmp_path / "other", tiny_images, epochs=1, verbose=0,
                   config=get_architecture("dcgan").make_config({"latent_dim": 8, "filters": 4,
                                                                 "discriminator_filters": 4, "batch_size": 16}))
    with pytest.raises(checkpoints.CheckpointError, match="not infogan"):
        analysis.load_q(tmp_path / "other")


def test_the_paper_networks_and_a_fixed_stddev(tiny_infogan):
    config = dataclasses.replace(tiny_infogan, hidden_units=16, learn_stddev=False)
    discriminator = infogan.build_discriminator(config)
    score, q = discriminator(tf.random.normal((5, 28, 28, 1)), training=False)
    assert score.shape == (5, 1) and q.shape == (5, 10 + 2)  # no std column
    logits, mean, stddev = infogan.split_q(config, q)
    np.testing.assert_array_equal(stddev.numpy(), np.ones((5, 2)))
    # Q and the score both read the fully connected layer of the paper's discriminator
    dense = [layer for layer in discriminator.layers if type(layer).__name__ == "Dense"]
    assert [layer.units for layer in dense][:1] == [16]
    generator = infogan.build_generator(config)
    assert [layer.units for layer in generator.layers if type(layer).__name__ == "Dense"] == [16, 7 * 7 * 16]
    assert sum("Conv2DTranspose" in type(layer).__name__ for layer in generator.layers) == 2  # no 3x3 at 7x7
    # the squared-error continuous term: NLL under N(mean, 1)
    latent = infogan.sample_latent(config, 5, seed=0)
    gan = infogan.build_gan(config)
    loss, logs = gan.auxiliary_loss(latent, q)
    continuous = latent[:, -2:]
    expected = np.mean(np.sum(0.5 * np.log(2 * np.pi) + 0.5 * (continuous - mean.numpy()) ** 2, axis=1))
    np.testing.assert_allclose(float(logs["continuous_nll"]), expected, rtol=1e-5)


class _CodeAsImage:
    """A stand-in generator whose images carry the categorical code as their brightness."""

    def __init__(self, config):
        self.config = config

    def generate(self, latent):
        _, categorical, _ = infogan.split_latent(self.config, latent)
        level = np.argmax(categorical.numpy(), axis=1).astype(np.float32) / 10.0  # in [0, 0.9]
        return np.broadcast_to(level[:, None, None, None] * 2 - 1, (len(level), 28, 28, 1)).copy()


class _BrightnessReader:
    """A stand-in evaluator: labels an image (code k) as digit (k + 3) mod 10."""

    def features_and_probabilities(self, pixels):
        codes = np.rint(pixels.reshape(len(pixels), -1).mean(axis=1) / 255.0 * 10).astype(int)
        return None, np.eye(10)[(codes + 3) % 10]


def test_generated_code_accuracy_matches_codes_to_the_digits_they_draw(tiny_infogan):
    digit_of_code, accuracy = analysis.generated_code_accuracy(
        _CodeAsImage(tiny_infogan), _BrightnessReader(), per_code=7)
    assert accuracy == 1.0
    np.testing.assert_array_equal(digit_of_code, (np.arange(10) + 3) % 10)


def test_real_code_accuracy_is_q_codes_matched_to_labels(tiny_infogan, tiny_images, tmp_path):
    training.train("infogan", tmp_path / "run", tiny_images, epochs=1, config=tiny_infogan, verbose=0)
    q_network = analysis.load_q(tmp_path / "run")
    labels = np.arange(len(tiny_images)) % 10
    expected = analysis.match_codes(analysis.q_codes(q_network, tiny_infogan, tiny_images), labels)
    digit_of_code, accuracy = analysis.real_code_accuracy(q_network, tiny_infogan, tiny_images, labels)
    np.testing.assert_array_equal(digit_of_code, expected[0])
    assert accuracy == expected[1] and 0.0 <= accuracy <= 1.0
