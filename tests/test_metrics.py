"""The metrics on constructed inputs whose right answers are known."""

import numpy as np
import pytest
from scipy import linalg

from gankit import metrics


def random_covariance(rng, dim):
    factor = rng.standard_normal((dim, dim))
    return factor @ factor.T / dim + 0.1 * np.eye(dim)


def test_frechet_distance_of_identical_statistics_is_zero():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((500, 16))
    mean, cov = metrics.feature_statistics(features)
    assert metrics.frechet_distance(mean, cov, mean, cov) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_agrees_with_a_direct_scipy_computation():
    rng = np.random.default_rng(1)
    for dim in (2, 16, 64):
        mean_a, mean_b = rng.standard_normal(dim), rng.standard_normal(dim)
        cov_a, cov_b = random_covariance(rng, dim), random_covariance(rng, dim)
        root = linalg.sqrtm(cov_a @ cov_b).real
        direct = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * root)
        assert metrics.frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(direct, rel=1e-6)


def test_frechet_distance_of_a_shift_is_its_squared_length():
    cov = np.diag([1.0, 2.0, 3.0])
    assert metrics.frechet_distance(np.zeros(3), cov, np.array([3.0, 4.0, 0.0]), cov) == pytest.approx(25.0)


def test_frechet_distance_of_scaled_gaussians():
    # For N(0, a^2 I) and N(0, b^2 I) in d dimensions: d (a - b)^2.
    assert metrics.frechet_distance(np.zeros(4), 4 * np.eye(4), np.zeros(4), np.eye(4)) == pytest.approx(4.0)


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes"):
        metrics.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def one_hot(labels, classes=10):
    return np.eye(classes)[labels]


def test_classifier_score_bounds():
    balanced_and_sure = one_hot(np.arange(1000) % 10)
    assert metrics.classifier_score(balanced_and_sure) == pytest.approx(10.0, rel=1e-6)
    one_digit = one_hot(np.full(1000, 3))
    assert metrics.classifier_score(one_digit) == pytest.approx(1.0)
    unsure = np.full((1000, 10), 0.1)
    assert metrics.classifier_score(unsure) == pytest.approx(1.0)
    five_digits = one_hot(np.arange(1000) % 5)
    assert metrics.classifier_score(five_digits) == pytest.approx(5.0, rel=1e-6)


def test_class_coverage():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 20)
    probabilities = 0.8 * one_hot(labels) + 0.02  # top class 0.82, each other 0.02
    coverage = metrics.class_coverage(probabilities)
    assert coverage["shares"][:3].tolist() == [0.5, 0.3, 0.2]
    assert coverage["min_share"] == 0.0  # digits 3..9 never appear
    assert coverage["total_variation"] == pytest.approx(0.5 * (0.4 + 0.2 + 0.1 + 7 * 0.1))
    assert coverage["mean_confidence"] == pytest.approx(0.82)


def test_probabilities_must_be_distributions():
    with pytest.raises(ValueError, match="distribution"):
        metrics.classifier_score(np.ones((4, 10)))
    with pytest.raises(ValueError, match="N, classes"):
        metrics.class_coverage(np.ones(10) / 10)


def clusters(rng, centres, count):
    centres = np.asarray(centres, np.float32)
    picks = rng.integers(0, len(centres), count)
    return centres[picks] + 0.3 * rng.standard_normal((count, centres.shape[1])).astype(np.float32)


def test_precision_and_recall_of_the_same_distribution_are_high():
    rng = np.random.default_rng(2)
    real, fake = clusters(rng, [[0, 0], [10, 0]], 2000), clusters(rng, [[0, 0], [10, 0]], 2000)
    precision, recall = metrics.precision_recall(real, fake, chunk=512)
    assert precision > 0.9 and recall > 0.9


def test_mode_collapse_keeps_precision_and_loses_recall():
    rng = np.random.default_rng(3)
    real = clusters(rng, [[0, 0], [10, 0]], 2000)
    fake = clusters(rng, [[0, 0]], 2000)  # only one of the two modes
    precision, recall = metrics.precision_recall(real, fake)
    assert precision > 0.9
    assert 0.4 < recall < 0.6


def test_samples_off_the_data_have_no_precision_or_recall():
    rng = np.random.default_rng(4)
    real, fake = clusters(rng, [[0, 0]], 500), clusters(rng, [[50, 50]], 500)
    assert metrics.precision_recall(real, fake) == (0.0, 0.0)


def test_precision_recall_rejects_bad_input():
    with pytest.raises(ValueError):
        metrics.precision_recall(np.zeros((10, 2)), np.zeros((10, 3)))
    with pytest.raises(ValueError):
        metrics.precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3)


def test_radii_computed_once_give_the_same_precision_and_recall():
    rng = np.random.default_rng(5)
    real = clusters(rng, [[0, 0], [10, 0]], 1500)
    radii = metrics.knn_radii(real, k=3)
    for centres in ([[0, 0]], [[0, 0], [10, 0]], [[5, 5]]):
        fake = clusters(rng, centres, 800)
        assert metrics.precision_recall(real, fake, real_radii=radii) == metrics.precision_recall(real, fake)


def test_precision_recall_rejects_radii_of_another_set():
    rng = np.random.default_rng(6)
    real, fake = clusters(rng, [[0, 0]], 100), clusters(rng, [[0, 0]], 100)
    with pytest.raises(ValueError, match="one radius per real point"):
        metrics.precision_recall(real, fake, real_radii=np.ones(99, np.float32))


def test_pair_counts_counts_each_row_column_pair():
    counts = metrics.pair_counts([0, 0, 2, 2, 2, 1], [0, 1, 2, 2, 0, 1], classes=3)
    np.testing.assert_array_equal(counts, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert counts.sum() == 6 and counts.dtype.kind == "i"
