import keras
import numpy as np

from gankit.models import dcgan, lsgan
from gankit.models.dcgan import DCGANConfig


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


def test_generator_maps_noise_to_tanh_images():
    config = DCGANConfig()
    generator = dcgan.build_generator(config)
    images = generator(np.random.default_rng(0).standard_normal((5, config.latent_dim)), training=False)
    assert images.shape == (5, 28, 28, 1)
    assert float(keras.ops.max(keras.ops.abs(images))) <= 1.0
    # DCGAN guidelines: transposed convolutions upsample, batch norm + ReLU, tanh at the output.
    kinds = layer_types(generator)
    assert kinds.count("Conv2DTranspose") == 3 and "MaxPooling2D" not in kinds
    assert kinds.count("BatchNormalization") == 3 and kinds.count("ReLU") == 3
    assert generator.layers[-1].get_config()["activation"] == "tanh"


def test_generator_intermediate_shapes():
    generator = dcgan.build_generator(DCGANConfig(filters=32))
    shapes = [tuple(layer.output.shape) for layer in generator.layers if "conv2d_transpose" in layer.name]
    assert shapes == [(None, 7, 7, 128), (None, 14, 14, 64), (None, 28, 28, 1)]


def test_discriminator_scores_each_image_with_one_logit():
    discriminator = dcgan.build_discriminator(DCGANConfig())
    scores = discriminator(np.zeros((3, 28, 28, 1), np.float32), training=False)
    assert scores.shape == (3, 1)
    kinds = layer_types(discriminator)
    # Strided convolutions instead of pooling, LeakyReLU, no batch norm on the input layer,
    # no sigmoid at the end (the loss works on logits).
    assert kinds.count("Conv2D") == 2 and "MaxPooling2D" not in kinds
    assert kinds[1:3] == ["Conv2D", "LeakyReLU"]
    assert tuple(discriminator.layers[3].output.shape) == (None, 7, 7, 128)
    assert discriminator.layers[-1].get_config()["activation"] == "linear"


def test_default_sizes_are_pinned():
    # These counts appear in the notebook and the model note; change them together.
    config = DCGANConfig()
    assert dcgan.build_generator(config).count_params() == 706_817
    assert dcgan.build_discriminator(config).count_params() == 138_945


def test_same_seed_same_weights():
    first = dcgan.build_generator(DCGANConfig(seed=3)).get_weights()
    second = dcgan.build_generator(DCGANConfig(seed=3)).get_weights()
    other = dcgan.build_generator(DCGANConfig(seed=4)).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not np.array_equal(first[0], other[0])


def test_paper_optimizer_settings_with_one_rate():
    gan = dcgan.build_gan(DCGANConfig(filters=4, latent_dim=8, generator_learning_rate=None))
    for optimizer in (gan.generator_optimizer, gan.discriminator_optimizer):
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert float(optimizer.learning_rate) == np.float32(2e-4)
        assert optimizer.beta_1 == 0.5


def test_default_generator_learns_faster_than_the_discriminator():
    # The committed checkpoint's setting: G at 1e-3, D at the paper's 2e-4 (see its NOTES.md).
    gan = dcgan.build_gan(DCGANConfig(filters=4, latent_dim=8))
    assert float(gan.generator_optimizer.learning_rate) == np.float32(1e-3)
    assert float(gan.discriminator_optimizer.learning_rate) == np.float32(2e-4)
    assert gan.generator_optimizer.beta_1 == gan.discriminator_optimizer.beta_1 == 0.5


def test_lsgan_takes_dcgans_two_rates_and_can_go_back_to_one():
    gan = lsgan.build_gan(lsgan.LSGANConfig(filters=4, latent_dim=8))
    assert float(gan.generator_optimizer.learning_rate) == np.float32(1e-3)
    assert float(gan.discriminator_optimizer.learning_rate) == np.float32(2e-4)
    single = lsgan.build_gan(lsgan.LSGANConfig(filters=4, latent_dim=8, generator_learning_rate=None))
    assert float(single.generator_optimizer.learning_rate) == np.float32(2e-4)
