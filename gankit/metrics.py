"""Sample-quality metrics on classifier outputs: pure NumPy/SciPy functions.

All of them work on what an MNIST classifier says about a set of images: its penultimate-layer
``features`` ``[N, d]`` and its class ``probabilities`` ``[N, 10]``. The classifier lives in
:mod:`gankit.evaluation`; nothing here depends on it, so each metric can be tested on
constructed inputs.
"""

from __future__ import annotations

import numpy as np


def feature_statistics(features):
    """Mean ``[d]`` and covariance ``[d, d]`` (float64) of a feature set ``[N, d]``."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"features must be [N >= 2, d], got {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mean_a, cov_a, mean_b, cov_b) -> float:
    """Fréchet distance between the Gaussians N(mean_a, cov_a) and N(mean_b, cov_b).

    ``d^2 = |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` -- the formula of the FID
    (Heusel et al. 2017), here in the feature space of our MNIST classifier.

    The trace of the matrix square root is computed as ``Tr((A^(1/2) B A^(1/2))^(1/2))``,
    the sum of square roots of the eigenvalues of a symmetric positive semi-definite matrix,
    which stays real and stable where ``sqrtm(A @ B)`` picks up imaginary round-off.
    """
    mean_a, mean_b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    cov_a, cov_b = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
    if mean_a.shape != mean_b.shape or cov_a.shape != cov_b.shape or cov_a.shape != mean_a.shape * 2:
        raise ValueError(
            f"shapes do not match: means {mean_a.shape}, {mean_b.shape}; covariances {cov_a.shape}, {cov_b.shape}"
        )
    root_a = _symmetric_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    difference = mean_a - mean_b
    value = difference @ difference + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_root
    return float(max(value, 0.0))


def _symmetric_sqrt(matrix):
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def classifier_score(probabilities) -> float:
    """``exp(E_x KL(p(y|x) || p(y)))``, the Inception Score (Salimans et al. 2016) with an MNIST
    classifier. It is 1 when every sample gets the same prediction and at most the number of
    classes (10) when each sample is classified with certainty and all classes are equally
    frequent."""
    probabilities = _check_probabilities(probabilities)
    marginal = probabilities.mean(axis=0)
    eps = 1e-12
    kl = (probabilities * (np.log(probabilities + eps) - np.log(marginal + eps))).sum(axis=1)
    return float(np.exp(kl.mean()))


def class_coverage(probabilities) -> dict:
    """How the predicted digits spread over the 10 classes, and how sure each prediction is.

    Returns:
        ``shares`` (fraction of samples predicted as each digit), ``min_share`` (the rarest
        digit's fraction; 0.1 is perfectly even), ``total_variation`` (half the L1 distance of
        ``shares`` from uniform: 0 even, 0.9 all one digit), ``mean_confidence`` (mean of the
        top class probability).
    """
    probabilities = _check_probabilities(probabilities)
    classes = probabilities.shape[1]
    shares = np.bincount(probabilities.argmax(axis=1), minlength=classes) / len(probabilities)
    return {
        "shares": shares,
        "min_share": float(shares.min()),
        "total_variation": float(0.5 * np.abs(shares - 1.0 / classes).sum()),
        "mean_confidence": float(probabilities.max(axis=1).mean()),
    }


def pair_counts(rows, columns, classes: int) -> np.ndarray:
    """``[classes, classes]`` integer counts of each ``(rows[i], columns[i])`` pair: a confusion
    matrix when ``rows`` are the labels asked for and ``columns`` the labels read, a contingency
    table of InfoGAN's code values against digits."""
    rows, columns = np.asarray(rows).astype(int), np.asarray(columns).astype(int)
    counts = np.zeros((classes, classes), int)
    np.add.at(counts, (rows, columns), 1)
    return counts


def _check_probabilities(probabilities):
    probabilities = np.asarray(probabilities, np.float64)
    if probabilities.ndim != 2 or len(probabilities) == 0:
        raise ValueError(f"probabilities must be [N, classes], got {probabilities.shape}")
    if (probabilities < 0).any() or not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("each row of probabilities must be a distribution (non-negative, sums to 1)")
    return probabilities


def precision_recall(real_features, fake_features, k: int = 3, chunk: int = 2048, real_radii=None):
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Each set's manifold is the union of balls around its points, each ball reaching the point's
    k-th nearest neighbour in the same set. Precision is the share of generated points inside
    the real manifold (are the samples realistic?); recall is the share of real points inside
    the generated manifold (is the variety of the data covered?).

    Args:
        real_radii: ``knn_radii(real_features, k)`` computed beforehand, for a caller that scores
            many generated sets against one real set (the evaluator); computed here when omitted.

    Returns:
        ``(precision, recall)``, each in [0, 1].
    """
    real = np.asarray(real_features, np.float32)
    fake = np.asarray(fake_features, np.float32)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"features must be [N, d] with one d, got {real.shape} and {fake.shape}")
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"need more than k={k} points in each set")
    if real_radii is None:
        real_radii = knn_radii(real, k, chunk)
    elif np.shape(real_radii) != (len(real),):
        raise ValueError(f"real_radii must hold one radius per real point ({len(real)}), got shape {np.shape(real_radii)}")
    fake_radii = knn_radii(fake, k, chunk)
    precision = _inside_share(fake, real, real_radii, chunk)
    recall = _inside_share(real, fake, fake_radii, chunk)
    return precision, recall


def _squared_distances(a, b):
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(squared, 0.0)


def knn_radii(points, k: int = 3, chunk: int = 2048):
    """Squared distance from each point of ``[N, d]`` to its k-th nearest other point."""
    points = np.asarray(points, np.float32)
    radii = np.empty(len(points), np.float32)
    for start in range(0, len(points), chunk):
        distances = _squared_distances(points[start : start + chunk], points)
        # Column k of the sorted row: index 0 is the point itself (distance 0).
        radii[start : start + chunk] = np.partition(distances, k, axis=1)[:, k]
    return radii


def _inside_share(queries, points, radii, chunk):
    inside = 0
    for start in range(0, len(queries), chunk):
        distances = _squared_distances(queries[start : start + chunk], points)
        inside += int((distances <= radii[None, :]).any(axis=1).sum())
    return inside / len(queries)
