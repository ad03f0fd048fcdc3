"""The step options every architecture inherits (soft labels, instance noise, gradient norms)
and the TensorBoard log."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from gankit import losses, models, training
from gankit.callbacks import load_history
from gankit.gan import GRADIENT_NORMS, StepOptions
from gankit.models import dcgan, wgan


def test_soft_labels_golden_values():
    real, fake = tf.constant([2.0, -1.0]), tf.constant([0.5, -3.0])
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    expected = np.mean(0.9 * softplus(-np.array([2.0, -1.0])) + 0.1 * softplus(np.array([2.0, -1.0]))) + np.mean(
        0.2 * softplus(-np.array([0.5, -3.0])) + 0.8 * softplus(np.array([0.5, -3.0])))
    value = losses.soft_label_discriminator_loss(real, fake, real_label=0.9, fake_label=0.2)
    assert float(value) == pytest.approx(expected, rel=1e-6)
    hard = losses.soft_label_discriminator_loss(real, fake, real_label=1.0, fake_label=0.0)
    assert float(hard) == pytest.approx(float(losses.minimax_discriminator_loss(real, fake)), rel=1e-6)
    with pytest.raises(ValueError, match="0 <= fake_label < real_label <= 1"):
        losses.soft_label_discriminator_loss(real, fake, real_label=0.5, fake_label=0.5)


def test_every_architecture_config_carries_the_step_options():
    for name, spec in models.ARCHITECTURES.items():
        assert issubclass(spec.config_class, StepOptions), name


def test_one_sided_label_smoothing_replaces_the_cross_entropy_loss(tiny_config):
    gan = dcgan.build_gan(dataclasses.replace(tiny_config, real_label=0.9))
    real, fake = tf.constant([3.0]), tf.constant([-3.0])
    assert float(gan.discriminator_loss_fn(real, fake)) == pytest.approx(
        float(losses.soft_label_discriminator_loss(real, fake, 0.9, 0.0)))
    with pytest.raises(ValueError, match="soft labels .* apply to the cross-entropy loss, not wasserstein_critic_loss"):
        wgan.build_gan(wgan.WGANConfig(latent_dim=8, filters=4, discriminator_filters=4, real_label=0.9))


def test_instance_noise_falls_linearly_to_zero(tiny_config):
    gan = dcgan.build_gan(dataclasses.replace(tiny_config, instance_noise=0.5, instance_noise_steps=100))
    images = tf.zeros((20000, 1, 1, 1))
    for step, sigma in ((0, 0.5), (50, 0.25), (100, 0.0), (150, 0.0)):
        gan.generator_optimizer.iterations.assign(step)
        assert float(tf.math.reduce_std(gan.perturb(images))) == pytest.approx(sigma, abs=0.01)
    plain = dcgan.build_gan(tiny_config)
    assert plain.perturb(images) is images  # off by default: the step is unchanged


def test_instance_noise_reaches_every_image_the_discriminator_sees(tiny_images, tiny_config):
    seen = []

    class Spy(type(dcgan.build_gan(tiny_config))):
        def discriminate(self, images, labels=None, training=True):
            seen.append(float(tf.reduce_min(images)))
            return super().discriminate(images, labels, training)

    config = dataclasses.replace(tiny_config, instance_noise=1.0)
    gan = dcgan.build_gan(config, gan_class=Spy)
    gan.compile(gan.generator_optimizer, gan.discriminator_optimizer, gan.generator_loss_fn,
                gan.discriminator_loss_fn, run_eagerly=True)
    gan.fit(tf.data.Dataset.from_tensors(tf.zeros((16, 28, 28, 1))), epochs=1, verbose=0)
    assert len(seen) == 3 and all(value < -1.5 for value in seen)  # real, fake, generated: all below tanh's -1


def test_gradient_norms_are_logged_plotted_and_sent_to_tensorboard(tmp_path, tiny_images, tiny_config):
    config = dataclasses.replace(tiny_config, log_gradient_norms=True)
    gan = training.train("dcgan", tmp_path, tiny_images, epochs=2, config=config, verbose=0, tensorboard=True)
    history = load_history(tmp_path / "history.json")
    for name in GRADIENT_NORMS:
        values = history["steps"][name]
        assert len(values) == 8 and all(np.isfinite(values)) and min(values) > 0
        assert name in history["epochs"][-1]
    assert (tmp_path / "gradient_norms.png").is_file()

    # The events read back: every logged scalar per epoch and the sample grid, at the generator step.
    scalars, images = {}, {}
    for path in (tmp_path / "logs").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                if value.metadata.plugin_data.plugin_name == "images":
                    images.setdefault(value.tag, []).append(event.step)
                else:
                    scalars.setdefault(value.tag, []).append((event.step, float(tensor)))
    for name in ("discriminator_loss", "generator_loss", *GRADIENT_NORMS):
        assert [step for step, _ in scalars[name]] == [4, 8]
        assert scalars[name][-1][1] == pytest.approx(history["epochs"][-1][name], abs=1e-5)
    assert images == {"samples": [4, 8]}
    assert int(gan.generator_optimizer.iterations.numpy()) == 8


def test_the_frechet_distance_goes_to_tensorboard_too(tmp_path, tiny_images, tiny_config):
    from gankit.evaluation import Evaluator, build_classifier, metrics

    evaluator = Evaluator(build_classifier(), reference=None)  # an untrained classifier is enough here
    features, _ = evaluator.features_and_probabilities(tiny_images)
    evaluator.reference = dict(zip(("mean", "cov"), metrics.feature_statistics(features)), features=features)
    training.train("dcgan", tmp_path, tiny_images, epochs=1, config=tiny_config, verbose=0, tensorboard=True,
                   evaluator=evaluator, evaluate_count=32)
    tags = {value.tag for path in (tmp_path / "logs").glob("events.*")
            for event in tf.compat.v1.train.summary_iterator(str(path)) for value in event.summary.value}
    assert {"frechet_distance", "frechet_distance_raw", "discriminator_loss", "samples"} <= tags
    assert not set(GRADIENT_NORMS) & tags  # not logged unless asked for
