"""Does a GAN's loss tell how good its samples are? The loss-against-quality study.

Each training history (``history.json``) holds, per epoch, the mean of every logged loss and the
Fréchet distance (FD) of 2,000 samples, for the moving average of the generator and for its raw
weights. The losses are computed with the raw weights, so they are compared with the raw FD.

The answer per loss is Spearman's rank correlation over epochs: +1 means that whenever the loss
falls, so does the FD (the loss is a faithful progress signal); near 0 means it says nothing.
Ranks rather than values, because what we want from a training curve is "is it still getting
better?", not a particular scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

QUALITY = "frechet_distance_raw"  # FD of the raw weights, which the losses were computed with

# The series each family reports; the critic's Wasserstein estimate is minus its loss.
DERIVED = {"wasserstein_estimate": lambda epoch: -epoch["discriminator_loss"]}
LABELS = {
    "discriminator_loss": "discriminator loss",
    "generator_loss": "generator loss",
    "wasserstein_estimate": "critic's W estimate",
}


def epoch_series(history: dict, name: str) -> np.ndarray:
    """Per-epoch values of a logged name (or a derived one such as ``wasserstein_estimate``)."""
    epochs = history["epochs"]
    if not epochs:
        raise ValueError("the history has no finished epoch")
    if name in DERIVED:
        return np.array([DERIVED[name](epoch) for epoch in epochs], float)
    missing = [epoch["epoch"] for epoch in epochs if name not in epoch]
    if missing:
        known = sorted(set(epochs[0]) | set(DERIVED))
        raise ValueError(f"{name!r} is missing from epoch(s) {missing[:5]}; known: {known}")
    return np.array([epoch[name] for epoch in epochs], float)


def second_half_start(history: dict) -> int:
    """The first epoch of a history's second half (of 20 epochs: 11; of 19: 10), the
    ``first_epoch`` that asks whether a series still follows the FD once training has settled."""
    count = len(history["epochs"])
    if not count:
        raise ValueError("the history has no finished epoch")
    return count // 2 + 1


@dataclass(frozen=True)
class Correlation:
    model: str
    series: str
    epochs: int  # how many epochs entered the correlation
    spearman: float  # rank correlation between the series and the FD over epochs
    p_value: float
    first_epoch: int = 1  # the first of those epochs (the last is the history's last)


def rank_correlation(history: dict, series: str, model: str = "", quality: str = QUALITY,
                     first_epoch: int = 1) -> Correlation:
    """Spearman's rank correlation, over epochs, between ``series`` and ``quality`` (FD).

    ``first_epoch`` > 1 leaves out the early epochs, where everything changes at once, to ask
    whether the series still follows the FD once training has settled.
    """
    numbers = epoch_series(history, "epoch")
    keep = numbers >= first_epoch
    values, fd = epoch_series(history, series)[keep], epoch_series(history, quality)[keep]
    if len(values) < 3:
        raise ValueError(f"need at least 3 epochs for a rank correlation, got {len(values)}"
                         + (f" from epoch {first_epoch} on" if first_epoch > 1 else ""))
    result = stats.spearmanr(values, fd)
    return Correlation(model, series, len(values), float(result.statistic), float(result.pvalue),
                       int(numbers[keep][0]))


def format_correlations(rows) -> str:
    lines = [f"{'model':<8} {'series':<22} {'epochs':>7} {'Spearman':>9} {'p':>8}"]
    for row in rows:
        span = f"{row.first_epoch}-{row.first_epoch + row.epochs - 1}"
        lines.append(f"{row.model:<8} {LABELS.get(row.series, row.series):<22} {span:>7} "
                     f"{row.spearman:>+9.2f} {row.p_value:>8.1e}")
    return "\n".join(lines)


def plot_loss_against_quality(studies, quality: str = QUALITY, title: str | None = None):
    """One panel per model: each series (x) against the FD (y, log scale), one dot per epoch,
    coloured from early (light) to late (dark), with Spearman's rho in the legend.

    Args:
        studies: ``[(model name, history, [series names]), ...]``.
    """
    figure, axes = plt.subplots(1, len(studies), figsize=(4.2 * len(studies), 4.4), squeeze=False)
    for axis, (model, history, names) in zip(axes[0], studies):
        fd = epoch_series(history, quality)
        order = np.linspace(0.25, 1.0, len(fd))
        for name, colormap, marker in zip(names, ("Blues", "Oranges", "Greens"), ("o", "s", "^")):
            rho = rank_correlation(history, name, model, quality).spearman
            axis.scatter(epoch_series(history, name), fd, c=order, cmap=colormap, vmin=0, vmax=1, marker=marker,
                         edgecolors="k", linewidths=0.3, label=f"{LABELS.get(name, name)}: ρ = {rho:+.2f}")
        axis.set_yscale("log")
        axis.set_title(model)
        axis.set_xlabel("epoch-mean value")
        # below the panel: inside, it would hide the first epochs' dots, which sit in the corners
        axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17))
    axes[0][0].set_ylabel("Fréchet distance (raw weights)")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure
