"""The truncation trick for every model fed N(0, I) noise, and the quality-against-T figure."""

import numpy as np
import pytest

from gankit import training
from gankit.__main__ import main
from gankit.checkpoints import load_generator
from gankit.evaluation import Evaluator, Row, build_classifier, metrics, truncation_sweep
from gankit.latent import truncate
from gankit.models import infogan
from gankit.plotting import plot_truncation


def test_truncate_redraws_only_the_values_beyond_the_threshold():
    noise = np.random.default_rng(0).standard_normal((2000, 8)).astype(np.float32)
    cut = truncate(noise, 1.0, seed=3)
    assert np.abs(cut).max() <= 1.0
    inside = np.abs(noise) <= 1.0
    np.testing.assert_array_equal(cut[inside], noise[inside])
    assert 0.5 < cut[~inside].std() < 0.6  # N(0, 1) cut to [-1, 1] has std 0.54
    np.testing.assert_array_equal(cut, truncate(noise, 1.0, seed=3))  # seeded
    with pytest.raises(ValueError, match="must be positive"):
        truncate(noise, 0.0)


@pytest.fixture
def dcgan_dir(tmp_path, tiny_images, tiny_config):
    training.train("dcgan", tmp_path / "dcgan", tiny_images, epochs=1, config=tiny_config, verbose=0)
    return tmp_path / "dcgan"


def test_a_truncated_latent_changes_only_the_noise(tmp_path, tiny_images, dcgan_dir):
    generator = load_generator(dcgan_dir)
    full, cut = generator.latent(500, seed=1), generator.latent(500, seed=1, truncation=0.5)
    assert np.abs(cut).max() <= 0.5 and np.abs(full).max() > 2
    config = infogan.InfoGANConfig(noise_dim=6, filters=4, discriminator_filters=4, q_units=8, batch_size=16)
    training.train("infogan", tmp_path / "infogan", tiny_images, epochs=1, config=config, verbose=0)
    coded = load_generator(tmp_path / "infogan")
    full, cut = coded.latent(200, seed=2), coded.latent(200, seed=2, truncation=0.5)
    assert np.abs(cut[:, :6]).max() <= 0.5
    np.testing.assert_array_equal(cut[:, 6:], full[:, 6:])  # the codes are not noise: kept


def test_sampling_with_truncation_from_the_command_line(dcgan_dir, tmp_path):
    out = tmp_path / "cut.npz"
    assert main(["sample", str(dcgan_dir), "--n", "8", "--truncation", "0.7", "--out", str(out)]) == 0
    with np.load(out) as archive:
        np.testing.assert_array_equal(archive["images"], load_generator(dcgan_dir).sample(8, truncation=0.7))


def test_truncation_sweep_and_its_figure(dcgan_dir, tiny_images):
    evaluator = Evaluator(build_classifier(), reference=None)
    features, _ = evaluator.features_and_probabilities(tiny_images)
    evaluator.reference = dict(zip(("mean", "cov"), metrics.feature_statistics(features)), features=features)
    generator, calls = load_generator(dcgan_dir), []
    sample = generator.sample
    generator.sample = lambda count, seed, label, truncation: calls.append((seed, truncation)) or sample(
        count, seed, label, truncation)
    results = truncation_sweep(generator, [0.5, 1.0, None], evaluator, count=40, seeds=(0, 1))
    assert list(results) == [0.5, 1.0, None] and all(isinstance(row, Row) for row in results.values())
    assert calls == [(1000, 0.5), (1001, 0.5), (1000, 1.0), (1001, 1.0), (1000, None), (1001, None)]
    figure = plot_truncation(results, title="tiny")
    labels = [tick.get_text() for tick in figure.axes[0].get_xticklabels()]
    assert labels == ["0.5", "1", "none"]
    with pytest.raises(ValueError, match="no finite truncation threshold"):
        plot_truncation({None: results[None]})


def test_the_truncation_command_prints_a_row_per_threshold_and_draws_the_figure(dcgan_dir, tmp_path, capsys):
    out = tmp_path / "truncation.png"
    assert main(["truncation", str(dcgan_dir), "--thresholds", "1", "0.5", "--n", "300", "--seeds", "1",
                 "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("  ")[0] for line in lines[1:4]] == ["dcgan, T = 0.5", "dcgan, T = 1", "dcgan, no truncation"]
    assert out.is_file() and lines[-1] == f"-> {out}"
