"""WGAN (both variants) and LSGAN: what each one composes into the shared GAN."""

import dataclasses

import numpy as np
import pytest

from gankit import checkpoints, training
from gankit.models import get_architecture, lsgan, wgan


@pytest.fixture
def tiny_wgan():
    return wgan.WGANConfig(latent_dim=8, filters=4, discriminator_filters=4, batch_size=16, ema_decay=0.9, critic_steps=2)


def layer_kinds(model):
    return {type(layer).__name__ for layer in model.layers}


def test_gradient_penalty_variant_has_no_batch_norm_in_the_critic(tiny_wgan):
    gan = wgan.build_gan(tiny_wgan)
    assert "BatchNormalization" not in layer_kinds(gan.discriminator)
    assert "BatchNormalization" in layer_kinds(gan.generator)
    assert gan.penalty_fn is not None and not any(v.constraint for v in gan.discriminator.trainable_variables)
    assert gan.num_discriminator_steps == 2
    assert type(gan.discriminator_optimizer).__name__ == "Adam"
    assert float(gan.discriminator_optimizer.learning_rate) == pytest.approx(1e-4)
    assert float(gan.discriminator_optimizer.beta_1) == 0.5 and float(gan.discriminator_optimizer.beta_2) == 0.9


def test_clipping_variant_follows_the_wgan_paper(tiny_wgan):
    gan = wgan.build_gan(dataclasses.replace(tiny_wgan, variant="clip"))
    assert "BatchNormalization" in layer_kinds(gan.discriminator)
    assert gan.penalty_fn is None and all(v.constraint for v in gan.discriminator.trainable_variables)
    assert type(gan.discriminator_optimizer).__name__ == "RMSprop"
    assert float(gan.discriminator_optimizer.learning_rate) == pytest.approx(5e-5)


def test_default_wgan_settings_are_the_papers():
    config = wgan.WGANConfig()
    assert (config.variant, config.critic_steps, config.clip_value, config.penalty_weight) == ("gp", 5, 0.01, 10.0)


def test_unknown_variant_is_rejected():
    with pytest.raises(ValueError, match="variant"):
        wgan.WGANConfig(variant="spectral")


@pytest.mark.parametrize("variant", ["gp", "clip"])
def test_wgan_trains_and_logs_its_terms(tiny_images, tiny_wgan, variant):
    gan = wgan.build_gan(dataclasses.replace(tiny_wgan, variant=variant))
    from gankit.data import make_dataset

    history = gan.fit(make_dataset(tiny_images, batch_size=gan.images_per_step(16)), epochs=1, verbose=0)
    assert gan.generator_optimizer.iterations.numpy() == 2 and gan.discriminator_optimizer.iterations.numpy() == 4
    if variant == "clip":
        assert all(np.abs(w.numpy()).max() <= 0.01 + 1e-9 for w in gan.discriminator.trainable_variables)
        assert "penalty" not in history.history
    else:
        assert history.history["penalty"][0] > 0 and np.isfinite(history.history["penalty"][0])
    # The critic loss is E[C(fake)] - E[C(real)], so minus it is the logged real-fake score gap.
    assert np.isfinite(history.history["discriminator_loss"][0])


def test_lsgan_is_dcgan_networks_with_least_squares_losses(tiny_config):
    config = lsgan.LSGANConfig(**dataclasses.asdict(tiny_config))
    gan = lsgan.build_gan(config)
    assert gan.name == "lsgan"
    assert (config.fake_target, config.real_target, config.generator_target) == (0.0, 1.0, 1.0)
    scores = np.array([[2.0], [0.0]], np.float32)
    assert float(gan.generator_loss_fn(scores)) == pytest.approx(0.5 * (1 + 1) / 2)  # c = 1
    assert float(gan.discriminator_loss_fn(scores, scores)) == pytest.approx(0.5 * 1 + 0.5 * 2)


@pytest.mark.parametrize("name", ["wgan", "lsgan"])
def test_registered_architectures_train_resume_and_load(tmp_path, tiny_images, tiny_config, tiny_wgan, name):
    spec = get_architecture(name)
    config = tiny_wgan if name == "wgan" else lsgan.LSGANConfig(**dataclasses.asdict(tiny_config))
    directory = tmp_path / name
    training.train(name, directory, tiny_images, epochs=1, config=config, verbose=0)
    gan = training.train(name, directory, tiny_images, epochs=2, config=config, verbose=0)
    assert int(gan.generator_optimizer.iterations.numpy()) == 2 * len(tiny_images) // gan.images_per_step(16)
    assert checkpoints.read_config(directory) == (name, config)
    generator = checkpoints.load_generator(directory, architecture=name)
    images = generator.sample(5, seed=0)
    assert images.shape == (5, 28, 28) and images.dtype == np.uint8
    assert spec.config_class is type(config)
    with pytest.raises(checkpoints.CheckpointError):
        checkpoints.load_generator(directory, architecture="dcgan")
