"""The shared train step, on a tiny DCGAN and tiny random data."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gankit import losses
from gankit.data import make_dataset
from gankit.gan import GAN
from gankit.models import ARCHITECTURES, dcgan


def weights_of(model):
    return [w.copy() for w in model.get_weights()]


def test_a_few_steps_of_fit_update_both_players(tiny_images, tiny_config):
    gan = dcgan.build_gan(tiny_config)
    generator_before = weights_of(gan.generator)
    discriminator_before = weights_of(gan.discriminator)
    history = gan.fit(make_dataset(tiny_images, batch_size=16), epochs=2, verbose=0)

    assert gan.generator_optimizer.iterations.numpy() == 8  # 4 batches x 2 epochs
    assert gan.discriminator_optimizer.iterations.numpy() == 8
    for name in ("discriminator_loss", "generator_loss", "real_score", "fake_score"):
        assert len(history.history[name]) == 2 and np.isfinite(history.history[name]).all()
    assert any(not np.array_equal(a, b) for a, b in zip(generator_before, gan.generator.get_weights()))
    assert any(not np.array_equal(a, b) for a, b in zip(discriminator_before, gan.discriminator.get_weights()))


def test_ema_follows_the_generator_by_its_decay(tiny_images, tiny_config):
    gan = dcgan.build_gan(tiny_config)
    start = weights_of(gan.generator)
    gan.fit(make_dataset(tiny_images[:16], batch_size=16), epochs=1, verbose=0)  # one step
    decay = tiny_config.ema_decay
    for average, trained, initial in zip(gan.ema_generator.get_weights(), gan.generator.get_weights(), start):
        np.testing.assert_allclose(average, decay * initial + (1 - decay) * trained, rtol=1e-5, atol=1e-6)


def test_last_step_values_match_the_epoch_mean_of_a_one_step_epoch(tiny_images, tiny_config):
    gan = dcgan.build_gan(tiny_config)
    history = gan.fit(make_dataset(tiny_images[:16], batch_size=16), epochs=1, verbose=0)
    for name, variable in gan.last_step_values.items():
        assert float(variable.numpy()) == pytest.approx(history.history[name][0], rel=1e-6)


def test_training_noise_is_seeded(tiny_images, tiny_config):
    def run():
        gan = dcgan.build_gan(tiny_config)
        gan.fit(make_dataset(tiny_images, batch_size=16, shuffle=False), epochs=1, verbose=0)
        return gan.generator.get_weights()

    for a, b in zip(run(), run()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _gan_with_critic_steps(config, steps, **kwargs):
    # A penalty is per image: its discriminator has no batch norm (GAN refuses the two together).
    batch_norm = "discriminator_penalty" not in kwargs
    generator, discriminator = dcgan.build_generator(config), dcgan.build_discriminator(config, batch_norm)
    gan = GAN(generator, discriminator, config.latent_dim, num_discriminator_steps=steps, ema_decay=None, **kwargs)
    return gan


def test_several_discriminator_steps_per_generator_step(tiny_images, tiny_config):
    gan = _gan_with_critic_steps(tiny_config, 2)
    gan.compile(
        keras.optimizers.Adam(), keras.optimizers.Adam(),
        losses.non_saturating_generator_loss, losses.minimax_discriminator_loss,
    )
    assert gan.images_per_step(16) == 32
    gan.fit(make_dataset(tiny_images, batch_size=gan.images_per_step(16)), epochs=1, verbose=0)
    assert gan.generator_optimizer.iterations.numpy() == 2  # 64 images = 2 steps of 2 x 16
    assert gan.discriminator_optimizer.iterations.numpy() == 4
    assert gan.sampling_generator is gan.generator


def test_every_discriminator_step_sees_fresh_real_images(tiny_images, tiny_config):
    seen, shapes = [], []

    def spy_penalty(critic, real, fake, seed_generator):  # runs eagerly, records what it is given
        seen.append(real.numpy())
        shapes.append(fake.shape)
        return 0.0

    gan = _gan_with_critic_steps(tiny_config, 3, discriminator_penalty=spy_penalty)
    gan.compile(
        keras.optimizers.Adam(), keras.optimizers.Adam(),
        losses.non_saturating_generator_loss, losses.minimax_discriminator_loss, run_eagerly=True,
    )
    history = gan.fit(make_dataset(tiny_images[:48], batch_size=48, shuffle=False), epochs=1, verbose=0)
    assert len(seen) == 3 and all(shape == (16, 28, 28, 1) for shape in shapes)
    expected = tiny_images[:48].astype(np.float32)[..., None] / 127.5 - 1.0
    np.testing.assert_allclose(np.concatenate(seen), expected, atol=1e-6)  # three distinct thirds
    assert history.history["penalty"] == [0.0]


def test_a_batch_that_does_not_split_into_critic_steps_is_a_clear_error(tiny_images, tiny_config):
    gan = _gan_with_critic_steps(tiny_config, 3)
    gan.compile(
        keras.optimizers.Adam(), keras.optimizers.Adam(),
        losses.non_saturating_generator_loss, losses.minimax_discriminator_loss,
    )
    with pytest.raises(ValueError, match="cannot feed 3 discriminator steps"):
        gan.fit(make_dataset(tiny_images, batch_size=16), epochs=1, verbose=0)


def test_constraint_runs_after_every_discriminator_update(tiny_images, tiny_config):
    gan = _gan_with_critic_steps(tiny_config, 2)
    losses.clip_weights(gan.discriminator, limit=0.003)
    gan.compile(
        keras.optimizers.Adam(0.1), keras.optimizers.Adam(0.1),
        losses.wasserstein_generator_loss, losses.wasserstein_critic_loss,
    )
    gan.fit(make_dataset(tiny_images, batch_size=32), epochs=1, verbose=0)
    assert all(np.abs(w.numpy()).max() <= 0.003 + 1e-9 for w in gan.discriminator.trainable_variables)
    assert any(np.abs(w.numpy()).max() > 0.003 for w in gan.generator.trainable_variables)


@pytest.mark.parametrize("kwargs", [{"num_discriminator_steps": 0}, {"ema_decay": 1.5}])
def test_bad_settings_are_rejected(tiny_config, kwargs):
    with pytest.raises(ValueError):
        GAN(dcgan.build_generator(tiny_config), dcgan.build_discriminator(tiny_config), 8, **kwargs)


# ------------------------------------------------------------------ conditions (labels)
class SpyConditionalGAN(GAN):
    """A conditional GAN on DCGAN's networks that records, eagerly, what each hook is given."""

    conditional = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def sample_latent(self, batch_size, labels=None):
        self.calls.append(("latent", labels.numpy()))
        return super().sample_latent(batch_size)

    def discriminate(self, images, labels=None, training=True):
        self.calls.append(("discriminate", images.numpy(), labels.numpy()))
        return self.discriminator(images, training=training), tf.fill([tf.shape(images)[0], 1], 1.0)

    def auxiliary_loss(self, latent, auxiliary, real_labels=None, real_auxiliary=None):
        self.calls.append(("auxiliary", real_labels is not None, real_auxiliary is not None))
        return tf.constant(0.0), {}


def labelled_digits(count=48):
    """Images whose every pixel encodes their label (label * 20), so a pair can be checked."""
    labels = np.arange(count) % 10
    images = np.broadcast_to((labels * 20).astype(np.uint8)[:, None, None], (count, 28, 28)).copy()
    return images, labels


def test_labels_travel_with_their_images_through_every_critic_step(tiny_config):
    images, labels = labelled_digits()
    penalty_labels = []

    def spy_penalty(critic, real, fake, seed_generator):  # the critic takes images alone
        penalty_labels.append(critic(real).shape)
        return 0.0

    gan = SpyConditionalGAN(dcgan.build_generator(tiny_config), dcgan.build_discriminator(tiny_config, False),
                            tiny_config.latent_dim, num_discriminator_steps=3, ema_decay=None,
                            discriminator_penalty=spy_penalty)
    gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), losses.non_saturating_generator_loss,
                losses.minimax_discriminator_loss, run_eagerly=True)
    gan.fit(make_dataset(images, labels, batch_size=48, shuffle=False), epochs=1, verbose=0)

    latent_labels = [call[1] for call in gan.calls if call[0] == "latent"]
    # three critic steps, each for its own third of the labels, then the generator's step
    assert [list(batch) for batch in latent_labels] == [list(labels[:16]), list(labels[16:32]),
                                                        list(labels[32:]), list(labels[32:])]
    discriminated = [call for call in gan.calls if call[0] == "discriminate"]
    assert len(discriminated) == 3 * 3 + 1  # per critic step: real, fake, the penalty; then G
    real = discriminated[0:9:3]
    for third, (_, seen_images, seen_labels) in enumerate(real):
        np.testing.assert_array_equal(seen_labels, labels[16 * third : 16 * (third + 1)])
        pixel = (seen_images[:, 0, 0, 0] + 1.0) * 127.5
        np.testing.assert_allclose(pixel, seen_labels * 20, atol=1e-3)  # each image with its own label
    assert len(penalty_labels) == 3
    auxiliary = [call[1:] for call in gan.calls if call[0] == "auxiliary"]
    assert auxiliary == [(True, True)] * 3 + [(False, False)]  # real side in the critic's steps only


def test_a_conditional_model_without_labels_is_a_clear_error(tiny_config):
    images, _ = labelled_digits(16)
    gan = SpyConditionalGAN(dcgan.build_generator(tiny_config), dcgan.build_discriminator(tiny_config, False),
                            tiny_config.latent_dim, ema_decay=None)
    gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), losses.non_saturating_generator_loss,
                losses.minimax_discriminator_loss, run_eagerly=True)
    with pytest.raises(ValueError, match="conditional: it trains on \\(images, labels\\)"):
        gan.fit(make_dataset(images, batch_size=16), epochs=1, verbose=0)


def test_an_unconditional_model_ignores_labels_in_its_batches(tiny_images, tiny_config):
    labels = np.arange(len(tiny_images)) % 10

    def run(with_labels):
        gan = dcgan.build_gan(tiny_config)
        data = make_dataset(tiny_images, labels if with_labels else None, batch_size=16, shuffle=False)
        gan.fit(data, epochs=1, verbose=0)
        return gan.generator.get_weights() + gan.discriminator.get_weights()

    for a, b in zip(run(False), run(True)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_architecture_is_assembled_the_one_way(name):
    spec = ARCHITECTURES[name]
    gan = spec.build_gan(spec.make_config())
    assert isinstance(gan, GAN) and gan.built
    assert gan.optimizer is None  # no third optimizer beside the two the step uses
    assert gan.generator_optimizer is not gan.discriminator_optimizer
    assert gan.ema_generator.trainable_weights == []  # moved by update_ema alone
    assert len(gan.ema_generator.weights) == len(gan.generator.weights)


def test_compile_refuses_keras_single_optimizer(tiny_config):
    gan = dcgan.build_gan(tiny_config)
    with pytest.raises(ValueError, match="generator_optimizer and discriminator_optimizer"):
        gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), losses.non_saturating_generator_loss,
                    losses.minimax_discriminator_loss, optimizer="adam")
