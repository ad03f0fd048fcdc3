"""Pictures: sample grids, loss curves and the training GIF.

Grid helpers return arrays; plotting helpers return matplotlib figures and never call
``plt.show()``, so notebooks show them and scripts save them.
"""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as imageio
import matplotlib
import matplotlib.pyplot as plt
import numpy as np


def image_grid(images, columns: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile uint8 images ``[N, H, W]`` into one uint8 picture, ``columns`` per row.

    Cells are separated by ``padding`` black pixels; missing cells of the last row stay black.
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(f"images must have shape [N, H, W], got {images.shape}")
    count, height, width = images.shape
    columns = columns or int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    grid = np.zeros(
        (rows * (height + padding) + padding, columns * (width + padding) + padding), np.uint8
    )
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = padding + row * (height + padding), padding + column * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def save_image(picture: np.ndarray, path, scale: int = 2) -> Path:
    """Write a uint8 picture as PNG, each pixel repeated ``scale`` times for legibility."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = np.kron(picture, np.ones((scale, scale), np.uint8)) if scale > 1 else picture
    imageio.imwrite(path, picture)
    return path


def show_images(images, columns: int | None = None, title: str | None = None, size: float = 5.0):
    """A figure with the images tiled in a grid."""
    grid = image_grid(images, columns)
    figure, axis = plt.subplots(figsize=(size, size * grid.shape[0] / grid.shape[1]))
    axis.imshow(grid, cmap="gray", vmin=0, vmax=255)
    axis.set_axis_off()
    if title:
        axis.set_title(title)
    figure.tight_layout()
    return figure


def plot_losses(history: dict, names=None, smooth: int = 50, title: str | None = None, ylabel: str = "loss",
                log: bool = False):
    """Per-step losses (light) with their moving average over ``smooth`` steps (dark), and the
    epoch boundaries. ``history`` is what :func:`gankit.callbacks.load_history` returns.
    ``names`` picks other per-step series (e.g. the gradient norms, with ``ylabel`` and a
    ``log`` scale)."""
    steps = history["steps"]
    names = names or [n for n in steps if n != "step" and n.endswith("loss")]
    missing = [name for name in names if name not in steps]
    if missing:
        raise ValueError(f"the history has no per-step {missing}; it has {sorted(n for n in steps if n != 'step')}")
    figure, axis = plt.subplots(figsize=(8, 4))
    if log:
        axis.set_yscale("log")
    for name in names:
        values = np.asarray(steps[name], dtype=float)
        line = axis.plot(steps["step"], values, alpha=0.25, linewidth=0.8)[0]
        if len(values) >= smooth > 1:
            kernel = np.ones(smooth) / smooth
            averaged = np.convolve(values, kernel, mode="valid")
            axis.plot(
                steps["step"][smooth - 1 :], averaged, color=line.get_color(),
                label=f"{_words(name)} ({smooth}-step mean)",
            )
        else:
            line.set_label(_words(name))
            line.set_alpha(1.0)
    for epoch in history["epochs"]:
        axis.axvline(epoch["step"], color="grey", linewidth=0.5, alpha=0.4)
    axis.set_xlabel("training step (grey lines: ends of epochs)")
    axis.set_ylabel(ylabel)
    return _finish(figure, axis, title)


def _words(name: str) -> str:
    return name.replace("_", " ")


def _finish(figure, axis, title):
    axis.legend()
    if title:
        axis.set_title(title)
    figure.tight_layout()
    return figure


def _epochs_with_quality(history: dict, owner: str = "the history") -> list[dict]:
    """The epochs of a history that carry a Fréchet distance; a ``ValueError`` if none does."""
    epochs = [e for e in history["epochs"] if "frechet_distance" in e]
    if not epochs:
        raise ValueError(f"{owner} has no frechet_distance: train with an evaluator")
    return epochs


def _quality_axis(axis):
    """A Fréchet-distance panel against training steps: log scale, lower is better."""
    axis.set_yscale("log")
    axis.set_ylabel("Fréchet distance\n(lower is better)")
    axis.set_xlabel("training step")


def plot_losses_and_quality(history: dict, title: str | None = None, names=None, ylabel: str = "loss"):
    """Two panels sharing the step axis: epoch-mean series (top; default every logged loss) and
    the Fréchet distance recorded by :class:`gankit.callbacks.FrechetDistance` (bottom, log
    scale), so one can see whether the losses follow sample quality. ``names`` may include
    derived series such as ``"wasserstein_estimate"`` (see :mod:`gankit.study`)."""
    from gankit.study import LABELS, epoch_series

    epochs = _epochs_with_quality(history)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    steps = [e["step"] for e in history["epochs"]]
    names = names or [n for n in history["epochs"][0] if n.endswith("loss")]
    for name in names:
        label = LABELS.get(name, _words(name))
        top.plot(steps, epoch_series(history, name), marker=".", label=f"{label} (epoch mean)")
    top.set_ylabel(ylabel)
    top.legend()
    quality_steps = [e["step"] for e in epochs]
    bottom.plot(quality_steps, [e["frechet_distance"] for e in epochs], marker="o", label="moving average of G")
    if all("frechet_distance_raw" in e for e in epochs):
        raw = [e["frechet_distance_raw"] for e in epochs]
        bottom.plot(quality_steps, raw, marker="s", alpha=0.7, label="raw G weights")
    _quality_axis(bottom)
    bottom.legend()
    return _finish(figure, top, title)


def plot_runs_side_by_side(histories: dict, name: str, ylabel: str, title: str | None = None,
                           log_series: bool = False):
    """One column per run (``{label: history}``), against each run's training steps: the
    epoch-mean ``name`` on the run's own scale above (two variants' losses may differ by orders
    of magnitude; ``log_series`` for a log scale, for a positive series), the Fréchet distance
    of the moving average below, on one log scale shared by every column so that quality
    compares directly."""
    from gankit.study import epoch_series

    if not histories:
        raise ValueError("no history to plot")
    # Checked for every run before a figure is opened.
    quality = {label: _epochs_with_quality(history, f"the history of {label}") for label, history in histories.items()}
    figure, axes = plt.subplots(2, len(histories), figsize=(4.5 * len(histories), 6), squeeze=False)
    for column, (label, history) in enumerate(histories.items()):
        epochs = quality[label]
        top, bottom = axes[0, column], axes[1, column]
        if column:
            bottom.sharey(axes[1, 0])  # one quality scale for every run
        steps = [e["step"] for e in history["epochs"]]
        top.plot(steps, epoch_series(history, name), marker=".")
        if log_series:
            top.set_yscale("log")
        top.set_title(label)
        bottom.plot([e["step"] for e in epochs], [e["frechet_distance"] for e in epochs], marker=".")
        _quality_axis(bottom)
        if column:
            bottom.set_ylabel("")  # the first column's label serves the row
        for axis in (top, bottom):
            axis.grid(alpha=0.3)
    axes[0, 0].set_ylabel(ylabel)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def training_minutes(history: dict) -> list[float]:
    """Cumulative wall-clock minutes of training at the end of each epoch of a history."""
    return list(np.cumsum([entry["seconds"] for entry in history["epochs"]]) / 60.0)


def plot_time_to_quality(histories: dict, title: str | None = None, reference: float | None = None):
    """The Fréchet distance recorded after each epoch against the minutes of training so far,
    one line per run (``{name: history}``), log scale; ``reference`` draws a dashed line (say,
    real digits' own distance)."""
    figure, axis = plt.subplots(figsize=(8, 4.5))
    for name, history in histories.items():
        _epochs_with_quality(history, f"the history of {name}")
        minutes = training_minutes(history)
        points = [(m, e["frechet_distance"]) for m, e in zip(minutes, history["epochs"]) if "frechet_distance" in e]
        axis.plot(*zip(*points), marker=".", label=f"{name} ({points[-1][1]:.1f} after {points[-1][0]:.0f} min)")
    if reference is not None:
        axis.axhline(reference, color="gray", linestyle="--", label=f"real digits ({reference:.1f})")
    axis.set_yscale("log")
    axis.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())  # 20, 50, 100 rather than 2x10^1
    axis.set_xlabel("minutes of training (2-core CPU)")
    axis.set_ylabel("Fréchet distance, 2,000 samples\n(lower is better)")
    axis.grid(alpha=0.3, which="both")
    return _finish(figure, axis, title)


def make_gif(frames, path, seconds_per_frame: float = 0.4, hold_last: float = 5.0) -> Path:
    """Write the PNG files (or uint8 arrays) in ``frames`` as an endlessly looping GIF.

    The last frame stays ``hold_last`` times longer than the others, so the result stays in view.
    """
    pictures = [imageio.imread(f) if isinstance(f, (str, Path)) else np.asarray(f) for f in frames]
    if not pictures:
        raise ValueError("no frames to make a GIF of")
    durations = [round(seconds_per_frame * 1000)] * len(pictures)  # milliseconds
    durations[-1] = round(durations[-1] * (1 + hold_last))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A one-frame GIF takes one duration, not a list (Pillow's rule).
    duration = durations if len(pictures) > 1 else durations[0]
    imageio.imwrite(path, np.stack(pictures), duration=duration, loop=0)
    return path


def show_epoch_grids(frames, count: int = 4, size: float = 4.0):
    """A figure of ``count`` of the per-epoch grid PNGs (``grids/epoch_NNN.png``), evenly spread
    from the first to the last, each titled with its epoch."""
    frames = sorted(Path(frame) for frame in frames)
    if not frames:
        raise ValueError("no grid images to show")
    chosen = [frames[i] for i in np.unique(np.linspace(0, len(frames) - 1, count).astype(int))]
    figure, axes = plt.subplots(1, len(chosen), figsize=(size * len(chosen), size + 0.3), squeeze=False)
    for axis, path in zip(axes[0], chosen):
        axis.imshow(imageio.imread(path), cmap="gray")
        axis.set_title(f"after epoch {int(path.stem.split('_')[-1])}")
        axis.set_axis_off()
    figure.tight_layout()
    return figure


def plot_truncation(results: dict, title: str | None = None):
    """Quality against the truncation threshold T, from
    :func:`gankit.evaluation.truncation_sweep` results ``{T: Row}`` (``None``: no truncation,
    drawn at the right end): the Fréchet distance (left, log scale), and precision and recall
    with the classifier score on a second axis (right): what truncation buys (precision) and
    what it costs (variety: recall, and the classes the classifier still finds)."""
    finite = sorted(t for t in results if t is not None)
    if not finite:
        raise ValueError("no finite truncation threshold to plot")
    untruncated = max(finite) * 1.5 if None in results else None
    thresholds = finite + ([None] if untruncated else [])
    x = [untruncated if t is None else t for t in thresholds]

    def series(key):
        return [results[t].mean[key] for t in thresholds], [results[t].std[key] for t in thresholds]

    figure, (left, middle) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.errorbar(x, *series("frechet_distance"), marker="o", capsize=3)
    left.set_yscale("log")
    left.set_ylabel("Fréchet distance")
    for key, marker in (("precision", "^"), ("recall", "o")):
        middle.errorbar(x, *series(key), marker=marker, capsize=3, label=key)
    middle.set_ylabel("precision, recall")
    middle.set_ylim(0, 1)
    right = middle.twinx()
    right.plot(x, series("classifier_score")[0], marker="s", color="tab:red", label="classifier score")
    right.set_ylabel("classifier score", color="tab:red")
    lines = middle.get_legend_handles_labels()
    extra = right.get_legend_handles_labels()
    middle.legend(lines[0] + extra[0], lines[1] + extra[1], loc="lower right")
    for axis in (left, middle):
        axis.set_xlabel("truncation threshold T")
        if untruncated:
            axis.set_xticks(x, [f"{t:g}" for t in finite] + ["none"])
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_label_confusion(matrices: dict, title: str | None = None):
    """One heat map per conditional model, ``{name: [10, 10] matrix}`` from
    :func:`gankit.evaluation.label_confusion` (row: the digit asked for; column: the digit the
    classifier reads): the diagonal is each label's accuracy, anything off it a digit drawn
    as another. Off-diagonal shares of 2 % or more are written in their cells."""
    matrices = {name: np.asarray(matrix) for name, matrix in matrices.items()}
    if not matrices:
        raise ValueError("no confusion matrix to plot")
    for name, matrix in matrices.items():  # checked before a figure is opened
        if matrix.shape != (10, 10):
            raise ValueError(f"{name}: a confusion matrix must be [10, 10], got {matrix.shape}")
    figure, axes = plt.subplots(1, len(matrices), figsize=(3.6 * len(matrices), 3.8), squeeze=False)
    for axis, (name, matrix) in zip(axes[0], matrices.items()):
        axis.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
        for asked, read in zip(*np.nonzero((matrix >= 0.02) & ~np.eye(10, dtype=bool))):
            axis.text(read, asked, f"{matrix[asked, read]:.0%}".replace("%", ""), ha="center", va="center",
                      fontsize=7, color="tab:red")
        axis.set_xticks(range(10))
        axis.set_yticks(range(10))
        axis.set_xlabel("digit read by the classifier")
        axis.set_ylabel("digit asked for")
        axis.set_title(f"{name}: {np.trace(matrix) / 10:.1%} on the diagonal", fontsize=10)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure
