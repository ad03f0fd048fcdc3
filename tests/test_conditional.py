"""The 2014 GAN's maxout layer, the conditional models (CGAN, CGAN maxout, AC-GAN) and sampling by label."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gankit import models, training
from gankit.__main__ import main
from gankit.checkpoints import load_generator
from gankit.models import acgan, cgan
from gankit.models.mlp_gan import Maxout

TINY_CGAN = dict(noise_dim=8, noise_units=8, label_units=8, joint_units=16, image_units=8, label_units_d=4,
                 joint_units_d=8, batch_size=16)


def test_maxout_takes_the_largest_of_each_units_pieces():
    layer = Maxout(units=3, pieces=2, seed=0)
    inputs = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    output = layer(inputs).numpy()
    kernel, bias = (w.numpy() for w in layer.linear.weights)
    pieces = (inputs @ kernel + bias).reshape(4, 3, 2)  # unit i's pieces are columns 2i, 2i + 1
    np.testing.assert_allclose(output, pieces.max(axis=-1), rtol=1e-5, atol=1e-6)
    assert output.shape == (4, 3)


def test_maxout_refuses_empty_sizes():
    with pytest.raises(ValueError, match="units >= 1 and pieces >= 1"):
        Maxout(units=0, pieces=5)


@pytest.mark.parametrize("name", sorted(models.ARCHITECTURES))
def test_the_registry_and_the_model_agree_on_conditioning(name):
    spec = models.get_architecture(name)
    assert spec.build_gan().conditional == spec.conditional
    assert set(n for n, a in models.ARCHITECTURES.items() if a.conditional) == {"cgan", "cgan_maxout", "acgan"}


def test_conditional_latents_end_in_the_one_hot_label():
    config = cgan.CGANConfig(noise_dim=8)
    latent = cgan.sample_latent(config, 12, seed=1)
    np.testing.assert_array_equal(latent[:, 8:].argmax(1), np.arange(12) % 10)  # 0..9, 0, 1 by default
    assert latent[:, 8:].sum() == 12
    threes = cgan.sample_latent(config, 5, seed=1, labels=3)
    np.testing.assert_array_equal(threes[:, 8:].argmax(1), [3] * 5)
    np.testing.assert_array_equal(threes[:, :8], latent[:5, :8])  # the same noise for the same seed
    with pytest.raises(ValueError, match="integers in 0..9"):
        cgan.sample_latent(config, 5, seed=1, labels=10)
    with pytest.raises(ValueError, match="one digit or 5 digits, got shape \\(3,\\)"):
        cgan.sample_latent(config, 5, seed=1, labels=[1, 2, 3])


def test_the_training_step_makes_fakes_for_the_real_labels():
    gan = cgan.build_gan(cgan.CGANConfig(**TINY_CGAN))
    labels = tf.constant([4, 0, 9])
    latent = gan.sample_latent(3, labels)
    np.testing.assert_array_equal(latent[:, -10:].numpy().argmax(1), [4, 0, 9])
    scores, auxiliary = gan.discriminate(tf.zeros((3, 28, 28, 1)), labels, training=False)
    assert scores.shape == (3, 1) and auxiliary is None


def test_the_cgan_discriminator_reads_the_label():
    gan = cgan.build_gan(cgan.CGANConfig(**TINY_CGAN, dropout=0.0))
    images = tf.zeros((2, 28, 28, 1))
    first, _ = gan.discriminate(images, tf.constant([1, 1]), training=False)
    second, _ = gan.discriminate(images, tf.constant([1, 7]), training=False)
    assert first[0, 0] == second[0, 0] and first[1, 0] != second[1, 0]


def test_acgan_class_loss_covers_real_digits_only_in_the_discriminators_update():
    config = acgan.ACGANConfig(noise_dim=4, filters=4, discriminator_filters=4, class_weight=0.5)
    gan = acgan.build_gan(config)
    latent = gan.sample_latent(2, tf.constant([3, 5]))
    fake_logits = tf.constant([[0.0] * 3 + [2.0] + [0.0] * 6, [1.0] * 10])
    real_logits = tf.constant([[0.0] * 10, [0.0] * 9 + [4.0]])
    fake_ce = np.mean([-np.log(np.exp(2) / (np.exp(2) + 9)), np.log(10)])  # labels 3 and 5
    real_ce = np.mean([np.log(10), -np.log(np.exp(4) / (np.exp(4) + 9))])  # labels 0 and 9
    generator_side, logs = gan.auxiliary_loss(latent, fake_logits)
    assert float(generator_side) == pytest.approx(0.5 * fake_ce, rel=1e-5)
    assert float(logs["class_loss"]) == pytest.approx(fake_ce, rel=1e-5)
    discriminator_side, _ = gan.auxiliary_loss(latent, fake_logits, tf.constant([0, 9]), real_logits)
    assert float(discriminator_side) == pytest.approx(0.5 * (fake_ce + real_ce), rel=1e-5)


def test_acgan_discriminator_does_not_see_the_label():
    gan = acgan.build_gan(acgan.ACGANConfig(noise_dim=4, filters=4, discriminator_filters=4))
    images = tf.random.stateless_uniform((2, 28, 28, 1), seed=[0, 1], minval=-1, maxval=1)
    first = gan.discriminate(images, tf.constant([1, 2]), training=False)
    second = gan.discriminate(images, tf.constant([5, 6]), training=False)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert first[1].shape == (2, 10)


def test_training_a_conditional_model_needs_labels(tmp_path, tiny_images):
    with pytest.raises(ValueError, match="cgan is conditional: pass the digits' labels"):
        training.train("cgan", tmp_path, tiny_images, epochs=1, config=cgan.CGANConfig(**TINY_CGAN), verbose=0)


@pytest.fixture
def cgan_dir(tmp_path, tiny_images):
    directory = tmp_path / "cgan"
    training.train("cgan", directory, tiny_images, epochs=1, config=cgan.CGANConfig(**TINY_CGAN), verbose=0,
                   labels=np.arange(len(tiny_images)) % 10)
    return directory


def test_a_conditional_model_samples_a_requested_digit(cgan_dir):
    generator = load_generator(cgan_dir)
    assert generator.conditional
    np.testing.assert_array_equal(generator.latent(4, seed=0, label=7)[:, -10:].argmax(1), [7] * 4)
    images = generator.sample(4, seed=0, label=7)
    assert images.shape == (4, 28, 28) and images.dtype == np.uint8
    assert not np.array_equal(images, generator.sample(4, seed=0, label=2))  # the label changes the digit
    with pytest.raises(ValueError, match="a label must be a digit 0-9"):
        generator.sample(4, label=12)


def test_sampling_by_label_from_the_command_line(cgan_dir, tmp_path, capsys):
    out = tmp_path / "threes.npz"
    assert main(["sample", str(cgan_dir), "--label", "3", "--n", "10", "--out", str(out)]) == 0
    with np.load(out) as archive:
        assert archive["images"].shape == (10, 28, 28)
    assert "of the digit 3" in capsys.readouterr().out
    assert main(["sample", str(cgan_dir), "--label", "10", "--out", str(out)]) != 0
    assert "a label must be a digit 0-9" in capsys.readouterr().err


def test_a_label_for_an_unconditional_model_is_a_clear_error(tmp_path, tiny_images, tiny_config, capsys):
    directory = tmp_path / "dcgan"
    training.train("dcgan", directory, tiny_images, epochs=1, config=tiny_config, verbose=0)
    with pytest.raises(ValueError, match="dcgan is not conditional"):
        load_generator(directory).sample(4, label=3)
    assert main(["sample", str(directory), "--label", "3", "--out", str(tmp_path / "x.png")]) != 0
    assert "dcgan is not conditional" in capsys.readouterr().err


def test_evaluate_reports_label_accuracy_and_per_label_distance_for_a_conditional_model(cgan_dir, capsys):
    assert main(["evaluate", str(cgan_dir), "--n", "300", "--seeds", "2", "--markdown"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("| model | samples × seeds | FD |") and lines[0].endswith("| label acc. |")
    assert lines[2].startswith(f"| {cgan_dir} | 300 × 2 |")
    per_label = lines[lines.index("| FD per label | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 |") + 2]
    assert per_label.startswith(f"| {cgan_dir} |") and len(per_label.split("|")) == 13


def test_the_raw_generator_loads_however_the_checkpoint_names_its_variables(tmp_path, tiny_images):
    # A variable is stored under its shortest path, which for these networks runs through the
    # optimizer (generator_optimizer/_trainable_variables/N), not through generator/.
    gan = training.train("cgan", tmp_path, tiny_images, epochs=1, config=cgan.CGANConfig(**TINY_CGAN), verbose=0,
                         labels=np.arange(len(tiny_images)) % 10)
    raw = load_generator(tmp_path, use_ema=False).network.get_weights()
    for loaded, trained in zip(raw, gan.generator.get_weights()):
        np.testing.assert_array_equal(loaded, trained)
    averaged = load_generator(tmp_path).network.get_weights()
    for loaded, trained in zip(averaged, gan.ema_generator.get_weights()):
        np.testing.assert_array_equal(loaded, trained)


class _DrawsOneImage:
    """A stand-in conditional generator that draws, whatever label it is asked for, one fixed
    image: every row of its confusion matrix puts all its weight on that image's reading."""

    conditional = True
    architecture = "stand-in"

    def __init__(self, image):
        self.image = image
        self.asked = None

    def sample(self, count, seed=0, label=None):
        self.asked = np.asarray(label)
        return np.repeat(self.image[None], count, axis=0)


def test_label_confusion_rows_are_the_asked_labels_and_columns_the_classifiers_reading():
    from gankit.evaluation import Evaluator, label_confusion

    evaluator = Evaluator(reference=None)
    image = np.zeros((28, 28), np.uint8)
    image[4:24, 13:15] = 255  # a vertical stroke
    read = int(evaluator.features_and_probabilities(image[None])[1].argmax())
    generator = _DrawsOneImage(image)
    matrix = label_confusion(generator, evaluator, per_label=3)
    np.testing.assert_array_equal(generator.asked, np.repeat(np.arange(10), 3))  # 3 of each label, in order
    expected = np.zeros((10, 10))
    expected[:, read] = 1
    np.testing.assert_array_equal(matrix, expected)


def test_label_confusion_needs_a_conditional_generator(cgan_dir, tmp_path, tiny_images, tiny_config):
    from gankit.evaluation import Evaluator, label_confusion

    evaluator = Evaluator(reference=None)
    matrix = label_confusion(load_generator(cgan_dir), evaluator, per_label=5)
    assert matrix.shape == (10, 10)
    np.testing.assert_allclose(matrix.sum(axis=1), 1)
    with pytest.raises(ValueError, match="per_label must be positive"):
        label_confusion(load_generator(cgan_dir), evaluator, per_label=0)
    directory = tmp_path / "dcgan"
    training.train("dcgan", directory, tiny_images, epochs=1, config=tiny_config, verbose=0)
    with pytest.raises(ValueError, match="dcgan is not conditional"):
        label_confusion(load_generator(directory), evaluator)


def test_the_confusion_figure_has_one_panel_per_model_and_refuses_other_shapes():
    from gankit.plotting import plot_label_confusion

    matrix = np.full((10, 10), 0.01) + np.eye(10) * 0.9  # rows sum to 1: 0.91 on the diagonal
    figure = plot_label_confusion({"a": matrix, "b": np.eye(10)})
    titles = [axis.get_title() for axis in figure.axes]
    assert titles == ["a: 91.0% on the diagonal", "b: 100.0% on the diagonal"]
    with pytest.raises(ValueError, match=r"c: a confusion matrix must be \[10, 10\]"):
        plot_label_confusion({"c": np.eye(9)})
    with pytest.raises(ValueError, match="no confusion matrix to plot"):
        plot_label_confusion({})


def test_input_dropout_adds_a_layer_only_when_set():
    # At 0 no layer is added, so the committed dense CGAN's graph (and checkpoint) is as it was.
    names = lambda config: [type(layer).__name__ for layer in cgan.build_discriminator(config).layers]  # noqa: E731
    plain = names(cgan.CGANConfig(**TINY_CGAN))
    dropped = names(cgan.CGANConfig(**TINY_CGAN, input_dropout=0.2))
    assert dropped.count("Dropout") == plain.count("Dropout") + 1
    discriminator = cgan.build_discriminator(cgan.CGANConfig(**TINY_CGAN, input_dropout=0.5))
    rates = [layer.rate for layer in discriminator.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates.count(0.5) == 4  # the pixels' and the three hidden layers' (dropout 0.5)


def test_the_maxout_cgan_label_layer_leaks_by_default_and_the_dense_one_is_the_paper_relu():
    assert cgan.CGANMaxoutConfig().label_slope == 0.2 and cgan.CGANConfig().label_slope == 0.0
    leaky = cgan.build_generator(cgan.CGANConfig(**TINY_CGAN, label_slope=0.2))
    relu = cgan.build_generator(cgan.CGANConfig(**TINY_CGAN))
    assert [layer.negative_slope for layer in leaky.layers if isinstance(layer, keras.layers.LeakyReLU)] == [0.2]
    assert not any(isinstance(layer, keras.layers.LeakyReLU) for layer in relu.layers)  # ReLU inside the Dense
    assert len(leaky.weights) == len(relu.weights)


def test_label_units_alive_counts_units_positive_for_some_label():
    generator = cgan.build_generator(cgan.CGANConfig(**TINY_CGAN, label_slope=0.0))
    label_layer = next(layer for layer in generator.layers
                       if isinstance(layer, keras.layers.Dense) and layer.kernel.shape[0] == 10)
    kernel = -np.ones((10, 8), np.float32)
    kernel[3, :2] = 1.0  # units 0 and 1 fire for the label 3 only
    kernel[:, 2] = 0.5  # unit 2 fires for every label, until the bias below
    label_layer.set_weights([kernel, np.array([0, 0, -0.6, 0, 0, 0, 0, 0], np.float32)])
    assert cgan.label_units_alive(generator) == 2 / 8
    with pytest.raises(ValueError, match="expected one dense layer fed by the 10 label values"):
        cgan.label_units_alive(keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)]))
