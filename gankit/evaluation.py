"""Judging samples by numbers: the MNIST classifier, its reference statistics, the scores.

Inception-V3 neither fits 28x28 digits nor can be downloaded here, so, as is usual on MNIST,
the feature space is that of a small classifier trained by this project. Its penultimate layer
(128 ReLU units) gives the features for the Fréchet distance and precision/recall; its softmax
gives the classifier score and the class coverage.

``saved_models/classifier/`` holds the classifier's checkpoint and ``reference.npz``: the
features of the 10,000 MNIST test digits with their mean and covariance, so scoring a generator
needs neither the data set nor training.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from gankit import metrics
from gankit.checkpoints import CheckpointError, find_saved
from gankit.storage import write_json
from gankit.data import check_images, make_dataset, to_model_range

CLASSIFIER_DIR = "classifier"
REFERENCE_FILE = "reference.npz"
FEATURE_LAYER = "features"


# ----------------------------------------------------------------------------- the classifier
def build_classifier(seed: int = 0) -> keras.Model:
    """image [batch, 28, 28, 1] in [-1, 1] -> digit logits [batch, 10]; the 128-unit layer
    named ``features`` is the feature space of the metrics."""
    init = lambda offset: keras.initializers.GlorotUniform(seed=seed + offset)  # noqa: E731
    image = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(32, 3, padding="same", activation="relu", kernel_initializer=init(0))(image)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", kernel_initializer=init(1))(x)
    x = layers.MaxPooling2D()(x)  # [batch, 14, 14, 32]
    x = layers.Conv2D(64, 3, padding="same", activation="relu", kernel_initializer=init(2))(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", kernel_initializer=init(3))(x)
    x = layers.MaxPooling2D()(x)  # [batch, 7, 7, 64]
    x = layers.Flatten()(x)
    features = layers.Dense(128, activation="relu", kernel_initializer=init(4), name=FEATURE_LAYER)(x)
    x = layers.Dropout(0.3, seed=seed)(features)
    logits = layers.Dense(10, kernel_initializer=init(5), name="logits")(x)
    return keras.Model(image, logits, name="mnist_classifier")


def train_classifier(directory, train_images, train_labels, test_images, test_labels,
                     epochs: int = 4, batch_size: int = 128, seed: int = 0, verbose="auto") -> dict:
    """Train the classifier, save its checkpoint and the test-set reference statistics.

    Returns a summary: test accuracy, epochs, seconds.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    model = build_classifier(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    started = time.perf_counter()
    history = model.fit(
        make_dataset(train_images, train_labels, batch_size=batch_size, seed=seed),
        epochs=epochs, verbose=verbose, shuffle=False,
    )
    seconds = time.perf_counter() - started
    save_classifier(model, directory)
    features, probabilities = Evaluator(model, reference=None).features_and_probabilities(test_images)
    accuracy = float((probabilities.argmax(axis=1) == test_labels).mean())
    mean, cov = metrics.feature_statistics(features)
    np.savez_compressed(directory / REFERENCE_FILE, features=features.astype(np.float16), mean=mean, cov=cov,
                        labels=np.asarray(test_labels, np.uint8))
    summary = {
        "test_accuracy": accuracy,
        "epochs": epochs,
        "seconds": round(seconds, 1),
        "train_accuracy_per_epoch": [round(a, 5) for a in history.history["accuracy"]],
        "loss_per_epoch": [round(a, 5) for a in history.history["loss"]],
    }
    write_json(directory / "summary.json", summary, indent=2)
    return summary


def save_classifier(model, directory) -> None:
    """Write the classifier's weights only (a fresh copy of the network, so no optimizer state)."""
    weights_only = build_classifier()
    weights_only.set_weights(model.get_weights())
    tf.train.Checkpoint(classifier=weights_only).write(str(Path(directory) / "ckpt"))


def load_classifier(directory=None) -> keras.Model:
    directory = Path(directory) if directory else _default_classifier_dir()
    model = build_classifier()
    path = directory / "ckpt"
    if not Path(f"{path}.index").is_file():
        raise CheckpointError(
            f"no classifier checkpoint in {directory}; train one with `python -m gankit classifier`"
        )
    tf.train.Checkpoint(classifier=model).read(str(path)).expect_partial().assert_existing_objects_matched()
    return model


def _default_classifier_dir() -> Path:
    return find_saved(CLASSIFIER_DIR) or Path("saved_models") / CLASSIFIER_DIR


# ----------------------------------------------------------------------------- scoring
@dataclass
class Scores:
    """The numbers for one set of images (see :mod:`gankit.metrics` for each)."""

    count: int
    frechet_distance: float
    classifier_score: float
    min_share: float
    total_variation: float
    mean_confidence: float
    precision: float
    recall: float
    # Conditional models only (None otherwise): the share of samples that the classifier assigns
    # to the label they were drawn for, and the Fréchet distance of each label's samples to the
    # test digits of that label (digits 0..9).
    label_accuracy: float | None = None
    label_frechet_distance: tuple | None = None


class Evaluator:
    """Scores uint8 digits against MNIST test in the classifier's feature space.

    Args:
        classifier: the Keras classifier (default: the committed one).
        reference: ``reference.npz`` contents (default: the committed file); ``None`` for an
            evaluator that only extracts features.
        progress: show a progress bar (``keras.utils.Progbar``, on stdout) while a whole row is
            drawn and scored (:func:`evaluate_draws` and the functions built on it).
    """

    def __init__(self, classifier=None, reference="default", batch_size: int = 500, progress: bool = False):
        self.progress = progress
        self.classifier = classifier if classifier is not None else load_classifier()
        self.feature_model = keras.Model(
            self.classifier.input,
            [self.classifier.get_layer(FEATURE_LAYER).output, self.classifier.output],
        )
        self.batch_size = batch_size
        if reference == "default":
            reference = load_reference()
        self.reference = reference

    @property
    def reference(self):
        """The reference statistics: ``{"features", "mean", "cov"}`` (``None``: features only)."""
        return self._reference

    @reference.setter
    def reference(self, reference):
        self._reference = reference
        self._reference_radii = None  # k-NN radii of its features, made on first use
        self._label_statistics = None  # per-digit mean and covariance, made on first use

    def features_and_probabilities(self, images):
        """``(features [N, 128], probabilities [N, 10])`` for uint8 digits ``[N, 28, 28]``."""
        check_images(images)
        inputs = to_model_range(images)
        features, probabilities = [], []
        for start in range(0, len(inputs), self.batch_size):
            feature, logit = self.feature_model(inputs[start : start + self.batch_size], training=False)
            features.append(np.asarray(feature))
            probabilities.append(np.asarray(tf.nn.softmax(logit)))
        return np.concatenate(features), np.concatenate(probabilities).astype(np.float64)

    def frechet_distance(self, images) -> float:
        """Only the Fréchet distance: cheap enough to run during training."""
        features, _ = self.features_and_probabilities(images)
        return self._distance_to_reference(features)

    def _distance_to_reference(self, features) -> float:
        mean, cov = metrics.feature_statistics(features)
        return metrics.frechet_distance(mean, cov, self.reference["mean"], self.reference["cov"])

    def score(self, images, labels=None) -> Scores:
        """Every metric for a set of uint8 digits ``[N, 28, 28]``; with the ``[N]`` labels the
        digits were drawn for (a conditional model), the label metrics too."""
        features, probabilities = self.features_and_probabilities(images)
        coverage = metrics.class_coverage(probabilities)
        if self._reference_radii is None:
            # The same for every scored set: computed once, one of precision/recall's four k-NN passes.
            self._reference_radii = metrics.knn_radii(self.reference["features"])
        precision, recall = metrics.precision_recall(
            self.reference["features"], features, real_radii=self._reference_radii
        )
        return Scores(
            count=len(images),
            frechet_distance=self._distance_to_reference(features),
            classifier_score=metrics.classifier_score(probabilities),
            min_share=coverage["min_share"],
            total_variation=coverage["total_variation"],
            mean_confidence=coverage["mean_confidence"],
            precision=precision,
            recall=recall,
            **(self._label_scores(features, probabilities, labels) if labels is not None else {}),
        )

    def _label_scores(self, features, probabilities, labels) -> dict:
        labels = np.asarray(labels)
        if labels.shape != (len(features),):
            raise ValueError(f"labels must be [N] = [{len(features)}], got {labels.shape}")
        if self.reference.get("labels") is None:
            raise CheckpointError("the reference statistics hold no test labels; retrain the classifier "
                                  "with `python -m gankit classifier`")
        if self._label_statistics is None:
            real = self.reference["labels"]
            self._label_statistics = [metrics.feature_statistics(self.reference["features"][real == digit])
                                      for digit in range(10)]
        distances = []
        for digit, (mean, cov) in enumerate(self._label_statistics):
            drawn = features[labels == digit]
            if len(drawn) < 2:
                raise ValueError(f"per-label scores need at least 2 samples of each digit; {digit} has {len(drawn)}")
            distances.append(metrics.frechet_distance(*metrics.feature_statistics(drawn), mean, cov))
        return {"label_accuracy": float((probabilities.argmax(axis=1) == labels).mean()),
                "label_frechet_distance": tuple(distances)}


def load_reference(directory=None) -> dict:
    directory = Path(directory) if directory else _default_classifier_dir()
    path = directory / REFERENCE_FILE
    if not path.is_file():
        raise CheckpointError(f"no reference statistics {path}; train the classifier with `python -m gankit classifier`")
    with np.load(path) as archive:
        return {
            "features": archive["features"].astype(np.float32),
            "mean": archive["mean"],
            "cov": archive["cov"],
            "labels": archive["labels"] if "labels" in archive.files else None,  # the test digits' labels
        }


# ----------------------------------------------------------------------------- the table
@dataclass
class Row:
    """One line of the results table: the mean and spread of :class:`Scores` over seeds."""

    name: str
    count: int
    seeds: int
    mean: dict
    std: dict


def summarise(name: str, runs: list[Scores]) -> Row:
    """Mean and spread over the runs of every score they have (a per-label score: per label)."""
    first = asdict(runs[0])
    values = {key: np.array([asdict(run)[key] for run in runs], float)
              for key in first if key != "count" and first[key] is not None}
    spread = lambda v: v.std(axis=0, ddof=1) if len(v) > 1 else np.zeros_like(v[0])  # noqa: E731
    return Row(
        name=name,
        count=runs[0].count,
        seeds=len(runs),
        mean={key: v.mean(axis=0).tolist() for key, v in values.items()},
        std={key: spread(v).tolist() for key, v in values.items()},
    )


COLUMNS = [
    ("frechet_distance", "FD", "{:.2f}"),
    ("classifier_score", "CS", "{:.2f}"),
    ("min_share", "min digit", "{:.1%}"),
    ("mean_confidence", "confidence", "{:.3f}"),
    ("precision", "precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
]
LABEL_COLUMN = ("label_accuracy", "label acc.", "{:.1%}")  # shown when a row has it


def format_table(rows: list[Row], markdown: bool = False) -> str:
    """The rows as a text (or Markdown) table: each cell is mean ± std over the seeds."""
    columns = COLUMNS + ([LABEL_COLUMN] if any(LABEL_COLUMN[0] in row.mean for row in rows) else [])
    header = ["model", "samples × seeds"] + [title for _, title, _ in columns]
    lines = []
    for row in rows:
        cells = [row.name, f"{row.count:,} × {row.seeds}"]
        for key, _, fmt in columns:
            if key not in row.mean:
                cells.append("")
                continue
            cell = fmt.format(row.mean[key])
            if row.seeds > 1:
                cell += " ± " + fmt.format(row.std[key]).rstrip("%") + ("%" if "%" in fmt else "")
            cells.append(cell)
        lines.append(cells)
    return _render(header, lines, markdown)


def format_label_table(rows: list[Row], markdown: bool = False) -> str:
    """The Fréchet distance of each label's samples (mean over the seeds), one row per
    conditional model; empty when no row has per-label scores."""
    rows = [row for row in rows if "label_frechet_distance" in row.mean]
    if not rows:
        return ""
    header = ["FD per label"] + [str(digit) for digit in range(10)]
    lines = [[row.name] + [f"{value:.2f}" for value in row.mean["label_frechet_distance"]] for row in rows]
    return _render(header, lines, markdown)


def _render(header: list, lines: list[list], markdown: bool) -> str:
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [max(len(str(c)) for c in column) for column in zip(header, *lines)]
    render = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([render(header)] + [render(cells) for cells in lines])


# ----------------------------------------------------------------------------- whole rows
def evaluate_draws(name: str, draw, evaluator: Evaluator | None = None, seeds=(0, 1, 2), labels=None) -> Row:
    """A table row: ``draw(seed)`` gives uint8 digits for each seed; each set is scored (with
    the ``labels`` they were drawn for, if any), then the scores are summarised (mean and
    spread over the seeds)."""
    evaluator = evaluator or Evaluator()
    bar = keras.utils.Progbar(2 * len(seeds), unit_name="step") if evaluator.progress else None
    if bar is not None:
        print(f"{name}: drawing and scoring {len(seeds)} seed{'s' * (len(seeds) > 1)}")
        bar.update(0)
    runs = []
    for index, seed in enumerate(seeds):
        images = draw(seed)
        if bar is not None:
            bar.update(2 * index + 1, [("samples", len(images))])
        runs.append(evaluator.score(images, labels))
        if bar is not None:
            bar.update(2 * index + 2)
    return summarise(name, runs)


def evaluate_generator(generator, evaluator: Evaluator | None = None, count: int = 10_000, seeds=(0, 1, 2), name=None,
                       truncation: float | None = None) -> Row:
    """The row of a :class:`gankit.checkpoints.PretrainedGenerator`: ``count`` samples per seed
    (z truncated at ``truncation`` when given); a conditional generator draws each digit equally
    often (0, 1, ..., 9, 0, ...) and is scored on its labels too."""
    labels = np.arange(count) % 10 if generator.conditional else None
    draw = lambda seed: generator.sample(count, seed=1000 + seed, label=labels, truncation=truncation)  # noqa: E731
    return evaluate_draws(name or generator.architecture, draw, evaluator, seeds, labels)


def evaluate_real(train_images, evaluator: Evaluator | None = None, count: int = 10_000, seeds=(0, 1, 2)) -> Row:
    """The reference row: ``count`` digits of the training split (a different draw per seed)
    scored against the test split -- what a perfect generator would get."""

    def draw(seed):
        return train_images[np.random.default_rng(seed).choice(len(train_images), size=count, replace=False)]

    return evaluate_draws("real (MNIST train)", draw, evaluator, seeds)


def evaluate_real_by_label(train_images, train_labels, evaluator: Evaluator | None = None, count: int = 10_000,
                           seeds=(0, 1, 2)) -> Row:
    """The reference row for conditional models: real training digits drawn as a conditional
    model is scored (an equal share of each label, ``count // 10`` each), scored on their own
    labels too -- the label accuracy and per-label distances of a perfect conditional generator."""
    per_label = count // 10
    labels = np.repeat(np.arange(10), per_label)

    def draw(seed):
        rng = np.random.default_rng(seed)
        return train_images[np.concatenate([rng.choice(np.flatnonzero(train_labels == digit), per_label, replace=False)
                                            for digit in range(10)])]

    return evaluate_draws(f"real (MNIST train), {per_label:,} per label", draw, evaluator, seeds, labels)


def label_confusion(generator, evaluator: Evaluator | None = None, per_label: int = 1000, seed: int = 0) -> np.ndarray:
    """How a conditional generator's requested digits are read: ``[10, 10]``, row = the label
    asked for, column = the digit the evaluation classifier sees, each row summing to 1
    (``per_label`` samples of each label). Its diagonal is the per-label label accuracy."""
    if not generator.conditional:
        raise ValueError(f"{generator.architecture} is not conditional: it has no requested label to compare")
    if per_label < 1:
        raise ValueError(f"per_label must be positive, got {per_label}")
    evaluator = evaluator or Evaluator(reference=None)
    labels = np.repeat(np.arange(10), per_label)
    _, probabilities = evaluator.features_and_probabilities(generator.sample(len(labels), seed=seed, label=labels))
    return metrics.pair_counts(labels, probabilities.argmax(axis=1), 10) / per_label


def evaluate_noise(evaluator: Evaluator | None = None, count: int = 10_000, seeds=(0, 1, 2)) -> Row:
    """The floor: uniformly random pixels."""
    draw = lambda seed: np.random.default_rng(seed).integers(0, 256, (count, 28, 28), dtype=np.uint8)  # noqa: E731
    return evaluate_draws("noise (uniform pixels)", draw, evaluator, seeds)


def truncation_sweep(generator, thresholds, evaluator: Evaluator | None = None, count: int = 10_000,
                     seeds=(0, 1, 2)) -> dict:
    """``{threshold: Row}`` for each truncation threshold (``None``: no truncation), the same
    seeds at every threshold: how quality trades against variety as z is cut closer to 0."""
    evaluator = evaluator or Evaluator()
    def name(threshold):
        return f"{generator.architecture}, " + ("no truncation" if threshold is None else f"T = {threshold:g}")

    return {threshold: evaluate_generator(generator, evaluator, count, seeds, truncation=threshold, name=name(threshold))
            for threshold in thresholds}
