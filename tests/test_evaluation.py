"""The classifier-based evaluation: the committed classifier on real data, the reference rows'
expected order, the training callback, and the table."""

from pathlib import Path

import numpy as np
import pytest

from gankit import data, metrics, training
from gankit.callbacks import load_history
from gankit.evaluation import (
    Evaluator,
    Scores,
    build_classifier,
    evaluate_real_by_label,
    format_label_table,
    format_table,
    load_classifier,
    summarise,
)

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = (ROOT / "saved_models" / "classifier" / "ckpt.index").is_file()
needs_committed = pytest.mark.skipif(not COMMITTED, reason="no committed classifier")


@pytest.fixture(scope="module")
def evaluator():
    return Evaluator()


@pytest.fixture(scope="module")
def mnist(mnist_path):
    return data.load_mnist("train", mnist_path), data.load_mnist("test", mnist_path)


@needs_committed
def test_committed_classifier_is_accurate_on_mnist_test(evaluator, mnist):
    _, (test_images, test_labels) = mnist
    _, probabilities = evaluator.features_and_probabilities(test_images)
    assert (probabilities.argmax(axis=1) == test_labels).mean() >= 0.99


@needs_committed
def test_the_test_set_against_its_own_reference_has_zero_distance(evaluator, mnist):
    _, (test_images, _) = mnist
    assert evaluator.frechet_distance(test_images) == pytest.approx(0.0, abs=1e-3)


@needs_committed
def test_held_out_real_digits_score_near_the_best(evaluator, mnist):
    (train_images, _), _ = mnist
    scores = evaluator.score(train_images[:3000])
    # Not 0: the distance of two finite samples is biased upwards (more so for fewer samples).
    assert scores.frechet_distance < 5.0
    assert scores.classifier_score > 9.5
    assert scores.min_share > 0.08 and scores.mean_confidence > 0.98
    assert scores.precision > 0.6 and scores.recall > 0.6


@needs_committed
def test_noise_and_a_single_digit_score_badly(evaluator, mnist):
    (train_images, train_labels), _ = mnist
    real = evaluator.score(train_images[:3000])
    noise = evaluator.score(np.random.default_rng(0).integers(0, 256, (3000, 28, 28), dtype=np.uint8))
    ones = evaluator.score(train_images[train_labels == 1][:3000])
    for bad in (noise, ones):
        assert bad.frechet_distance > 20 * max(real.frechet_distance, 1.0)
        assert bad.classifier_score < 2.0
        assert bad.min_share == 0.0
        assert bad.recall < 0.2
    # k-NN precision is the weakest of the numbers against noise: noise features sit near the
    # origin, inside the wide balls of a few faint real digits (the outlier sensitivity that
    # Naeem et al. 2020 point out). It is still far below the real digits' precision.
    assert noise.precision < 0.5 * real.precision
    assert ones.precision > 0.5  # real digits, just one kind: realistic but not varied


def test_fd_callback_writes_quality_into_the_history(tmp_path, tiny_images, tiny_config):
    # An untrained classifier is enough to check the wiring; the reference is its own
    # features of the tiny set.
    evaluator = Evaluator(build_classifier(), reference=None)
    features, _ = evaluator.features_and_probabilities(tiny_images)
    mean, cov = metrics.feature_statistics(features)
    evaluator.reference = {"features": features, "mean": mean, "cov": cov}
    training.train(
        "dcgan", tmp_path / "run", tiny_images, epochs=3, config=tiny_config, verbose=0,
        evaluator=evaluator, evaluate_every=2, evaluate_count=32,
    )
    epochs = load_history(tmp_path / "run" / "history.json")["epochs"]
    # After the first epoch, then every second epoch: 1 and 2, not 3.
    assert ["frechet_distance" in e for e in epochs] == [True, True, False]
    assert all(e["frechet_distance"] > 0 and e["frechet_distance_raw"] > 0 for e in epochs[:2])


def test_missing_classifier_is_a_clear_error(tmp_path):
    from gankit.checkpoints import CheckpointError

    with pytest.raises(CheckpointError, match="no classifier checkpoint"):
        load_classifier(tmp_path)


@needs_committed
def test_label_scores_reward_digits_drawn_for_their_labels(evaluator, mnist):
    (train_images, train_labels), _ = mnist
    images, labels = train_images[:5000], train_labels[:5000]
    right = evaluator.score(images, labels)
    wrong = evaluator.score(images, (labels + 1) % 10)  # every digit drawn "for" the next label
    assert right.label_accuracy > 0.99 and wrong.label_accuracy < 0.01
    assert len(right.label_frechet_distance) == 10
    assert max(right.label_frechet_distance) < 10.0  # ~500 real digits of a label against the test's
    assert min(wrong.label_frechet_distance) > 5 * max(right.label_frechet_distance)
    assert evaluator.score(images).label_accuracy is None  # no labels, no label scores
    with pytest.raises(ValueError, match="labels must be"):
        evaluator.score(images, labels[:10])


@needs_committed
def test_the_real_row_by_label_is_what_a_perfect_conditional_model_scores(evaluator, mnist):
    (train_images, train_labels), _ = mnist
    row = evaluate_real_by_label(train_images, train_labels, evaluator, count=2000, seeds=(0,))
    assert row.name == "real (MNIST train), 200 per label" and row.count == 2000
    assert row.mean["label_accuracy"] > 0.99 and row.mean["min_share"] > 0.09
    assert len(row.mean["label_frechet_distance"]) == 10


def test_table_shows_label_scores_only_for_conditional_rows():
    plain = summarise("dcgan", [Scores(10, 1.0, 9.5, 0.09, 0.02, 0.99, 0.8, 0.7)] * 2)
    per_label = tuple(float(d) for d in range(10))
    conditional = summarise("cgan", [Scores(10, 2.0, 9.6, 0.1, 0.0, 0.99, 0.8, 0.7, 0.97, per_label),
                                     Scores(10, 2.0, 9.6, 0.1, 0.0, 0.99, 0.8, 0.7, 0.99, per_label)])
    assert conditional.mean["label_accuracy"] == pytest.approx(0.98)
    assert conditional.mean["label_frechet_distance"] == list(per_label)
    table = format_table([plain, conditional]).splitlines()
    assert "label acc." in table[0] and "98.0% ± 1.4%" in table[2] and "%" not in table[1].split("0.700")[-1]
    assert format_table([plain]).count("label") == 0 and format_label_table([plain]) == ""
    labels = format_label_table([plain, conditional], markdown=True).splitlines()
    assert labels[0] == "| FD per label | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 |" and len(labels) == 3
    assert labels[2].startswith("| cgan | 0.00 | 1.00 |")


def test_table_shows_mean_and_spread():
    def scores(fd):
        return Scores(10, fd, 9.5, 0.09, 0.02, 0.99, 0.8, 0.7)

    row = summarise("toy", [scores(1.0), scores(3.0)])
    assert row.mean["frechet_distance"] == 2.0 and row.std["frechet_distance"] == pytest.approx(np.sqrt(2))
    table = format_table([row])
    assert "toy" in table and "2.00 ± 1.41" in table and "9.0% ± 0.0%" in table
    markdown = format_table([row], markdown=True)
    assert markdown.splitlines()[0].startswith("| model | samples × seeds | FD")


def test_evaluator_computes_the_reference_radii_once(monkeypatch, tiny_images):
    # An untrained classifier and its own features as the reference are enough for the wiring.
    evaluator = Evaluator(build_classifier(), reference=None)
    features, _ = evaluator.features_and_probabilities(tiny_images)
    mean, cov = metrics.feature_statistics(features)
    evaluator.reference = {"features": features, "mean": mean, "cov": cov}
    sizes = []
    original = metrics.knn_radii
    monkeypatch.setattr(metrics, "knn_radii", lambda points, *args, **kw: sizes.append(len(points)) or original(points, *args, **kw))
    first = evaluator.score(tiny_images[:40])
    second = evaluator.score(tiny_images[:40])
    # One call for the reference, then one per scored set for its own radii.
    assert sizes == [len(features), 40, 40]
    assert first == second
    expected = metrics.precision_recall(features, evaluator.features_and_probabilities(tiny_images[:40])[0])
    assert (first.precision, first.recall) == expected


def test_a_new_reference_drops_the_cached_radii(tiny_images):
    evaluator = Evaluator(build_classifier(), reference=None)
    features, _ = evaluator.features_and_probabilities(tiny_images)

    def reference_of(points):
        mean, cov = metrics.feature_statistics(points)
        return {"features": points, "mean": mean, "cov": cov}

    evaluator.reference = reference_of(features[:32])
    evaluator.score(tiny_images[32:])
    evaluator.reference = reference_of(features[32:])  # another reference: radii made anew
    scores = evaluator.score(tiny_images[:32])
    assert (scores.precision, scores.recall) == metrics.precision_recall(features[32:], features[:32])
