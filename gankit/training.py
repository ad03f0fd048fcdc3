"""Train any registered architecture into a model directory, resuming where it stopped.

The trainer knows nothing of the architecture: it builds the model from the registry, restores
the latest checkpoint, wires the callbacks and calls ``fit``.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import tensorflow as tf

from gankit import checkpoints, replicas
from gankit.callbacks import (
    GRID_FOLDER,
    HISTORY_FILE,
    EpochCheckpoint,
    FrechetDistance,
    LossHistory,
    SampleGrid,
    StopOnNonFinite,
    TensorBoardLog,
    load_history,
)
from gankit.data import epoch_batches
from gankit.gan import GRADIENT_NORMS
from gankit.models import get_architecture
from gankit.storage import write_json
from gankit.plotting import make_gif, plot_losses

GRID_SEED = 2024  # seed of the fixed latent batch drawn after every epoch
GRID_SIZE = 64  # images in that batch (an 8x8 grid)
QUALITY_SEED = 4048  # seed of the latent batch scored by the Fréchet distance during training


def train(
    architecture: str,
    directory,
    images,
    epochs: int,
    config=None,
    tensorboard: bool = False,
    verbose="auto",
    callbacks=(),
    evaluator=None,
    evaluate_every: int = 1,
    evaluate_count: int = 2000,
    continue_from=None,
    labels=None,
    strategy=None,
):
    """Train ``architecture`` on ``images`` for ``epochs`` epochs in total, into ``directory``.

    A directory that already holds a checkpoint is resumed: training continues from its last
    finished epoch (and step), so ``epochs`` counts the epochs already done. Stopping at any
    moment (even SIGKILL) loses at most the epoch in progress, and the resumed run ends with
    the weights an uninterrupted one would have: the checkpoint holds every random state, and
    each epoch's data order depends on the seed and the epoch number alone.

    A step whose losses are not finite stops the run with
    :class:`gankit.callbacks.TrainingDiverged` before anything of that epoch is saved.

    Args:
        architecture: a registered name, e.g. ``"dcgan"``.
        directory: the model directory for checkpoints, ``config.json``, history and grids.
        images: uint8 training digits ``[N, 28, 28]`` (see :func:`gankit.data.load_mnist`).
        epochs: the total number of epochs the run should reach.
        config: the architecture's config; default: the stored one when resuming, else the
            architecture's defaults. Resuming with a different config is an error.
        tensorboard: also write TensorBoard logs to ``directory/logs``: every epoch's losses,
            Fréchet distance and gradient norms (those that are logged) and its sample grid.
        verbose: passed to ``fit`` (``"auto"``, 0, 1 or 2).
        callbacks: extra Keras callbacks.
        evaluator: a :class:`gankit.evaluation.Evaluator`; when given, the Fréchet distance of
            ``evaluate_count`` samples is computed every ``evaluate_every`` epochs and saved
            in the history as ``frechet_distance``.
        continue_from: another model directory of the same architecture whose last checkpoint
            starts this run (weights, optimizer state, random states, epoch and step) when
            ``directory`` holds no checkpoint yet; ``config`` may change what training does
            (learning rates, batch size, EMA decay) but not the networks. Its history is
            carried over, so the curves go on from where it stopped. For recipes that change
            late in training (a lower rate, larger batches).
        labels: the ``[N]`` digits of ``images``; a conditional architecture (CGAN, AC-GAN)
            needs them, an unconditional one does not use them.
        strategy: a ``tf.distribute.Strategy`` to train under (:func:`gankit.replicas.make_strategy`);
            the same ``fit``, each global batch dealt out to the replicas
            (:func:`gankit.replicas.distribute`), and the same files as on one device. In a
            multi-worker cluster the chief writes ``directory``, every other worker its own
            copy under ``directory/workers/K``. Default: TensorFlow's current (one device).

    Returns:
        The trained :class:`gankit.gan.GAN`.
    """
    spec = get_architecture(architecture)
    strategy = strategy or tf.distribute.get_strategy()
    directory = replicas.worker_directory(directory, strategy)
    if spec.conditional and labels is None:
        raise ValueError(f"{architecture} is conditional: pass the digits' labels (labels=...) with the images")
    if continue_from is not None and not checkpoints.has_checkpoint(directory):
        origin = _continuation_origin(spec, Path(continue_from), config)
        config = config if config is not None else origin["config"]
        checkpoints.write_config(directory, spec.name, config, origin)  # then settled like any stored one
    config = _settle_config(spec, directory, config, strategy.num_replicas_in_sync)
    with strategy.scope():  # the variables are made where the strategy keeps them
        gan = spec.build_gan(config)
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    checkpoint = checkpoints.make_checkpoint(gan, epoch)
    manager = tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=1)
    if checkpoints.has_checkpoint(directory):  # resume; a damaged checkpoint is an error, not a fresh start
        checkpoints.restore_training(checkpoint, checkpoints.latest_checkpoint(directory))
    elif continue_from is not None:
        _start_from(gan, checkpoint, Path(continue_from), directory)
    start_epoch = int(epoch.numpy())
    start_step = int(gan.generator_optimizer.iterations.numpy())
    if start_epoch >= epochs:
        print(f"{directory} already holds {start_epoch} epochs (asked for {epochs}); nothing to train.")
        return gan
    if start_epoch:
        print(f"Resuming {architecture} from epoch {start_epoch} (step {start_step}) in {directory}")

    # The batches of the remaining epochs; epoch e's order comes from (seed, e) alone.
    per_step = gan.images_per_step(config.batch_size)
    dataset = epoch_batches(images, per_step, config.seed, start_epoch, epochs,
                            labels=labels if spec.conditional else None)
    dataset = replicas.distribute(strategy, dataset, gan.num_discriminator_steps)  # as it is on one device
    latent = spec.sample_latent(config, GRID_SIZE, GRID_SEED)
    side_effects = [StopOnNonFinite(gan, start_step, epoch)]
    if evaluator is not None:  # before the history, so that the history sees its value
        quality_latent = spec.sample_latent(config, evaluate_count, QUALITY_SEED)
        side_effects.append(FrechetDistance(evaluator, gan, quality_latent, every=evaluate_every))
    side_effects += [
        LossHistory(directory / HISTORY_FILE, gan, start_step, start_epoch),
        SampleGrid(directory, gan, latent),
        EpochCheckpoint(manager, epoch),
    ]
    if tensorboard:  # after the grid and the Fréchet distance, which it logs
        side_effects.append(TensorBoardLog(directory, gan))
    gan.fit(
        dataset,
        epochs=epochs,
        initial_epoch=start_epoch,
        steps_per_epoch=len(images) // per_step,  # one iterator over all the epochs' batches
        callbacks=side_effects + list(callbacks),
        verbose=verbose,
        shuffle=False,  # the batches come in their own per-epoch order (data.epoch_batches)
    )
    write_summary_figures(directory)
    return gan


def _continuation_origin(spec, source: Path, config) -> dict:
    """What a continued run records of the run it starts from (and checks that it can)."""
    stored_name, stored = checkpoints.read_config(source)
    if stored_name != spec.name:
        raise checkpoints.CheckpointError(f"{source} holds a {stored_name} run; cannot continue it as {spec.name}")
    epochs = checkpoints.stored_epochs(checkpoints.latest_checkpoint(source))
    return {"directory": source.as_posix(), "epochs": epochs, "config": stored}


def _start_from(gan, checkpoint, source: Path, directory: Path) -> None:
    """Load ``source``'s last checkpoint into a new run, keeping this run's learning rates
    (the checkpoint holds the optimizers' rates too), and carry its history over."""
    optimizers = (gan.generator_optimizer, gan.discriminator_optimizer)
    rates = [float(optimizer.learning_rate.numpy()) for optimizer in optimizers]
    path = checkpoints.latest_checkpoint(source)
    try:
        checkpoints.restore_training(checkpoint, path)
    except checkpoints.CheckpointError as error:
        raise checkpoints.CheckpointError(
            f"cannot continue from {source}: a continued run may change how it trains, not its networks ({error})"
        ) from None
    for optimizer, rate in zip(optimizers, rates):
        optimizer.learning_rate.assign(rate)
    if (source / HISTORY_FILE).is_file():
        write_json(directory / HISTORY_FILE, load_history(source / HISTORY_FILE))
    if (source / GRID_FOLDER).is_dir():  # the training GIF goes on from the source's grids
        shutil.copytree(source / GRID_FOLDER, directory / GRID_FOLDER, dirs_exist_ok=True)


def _settle_config(spec, directory: Path, config, replica_count: int = 1):
    if (directory / checkpoints.CONFIG_FILE).is_file():
        stored_name, stored = checkpoints.read_config(directory)
        if stored_name != spec.name:
            raise checkpoints.CheckpointError(
                f"{directory} holds a {stored_name} run; cannot train {spec.name} into it"
            )
        if config is not None and dataclasses.asdict(config) != dataclasses.asdict(stored):
            raise checkpoints.CheckpointError(
                f"{directory} was trained with a different config ({stored}); "
                "resume with the same config or use a new directory"
            )
        replicas.check_split(stored.batch_size, replica_count)
        return stored
    config = config if config is not None else spec.make_config()
    replicas.check_split(config.batch_size, replica_count)  # before a config is written for a run that cannot start
    checkpoints.write_config(directory, spec.name, config)
    return config


def write_summary_figures(directory) -> None:
    """The GIF of the per-epoch grids and the loss plot (and the gradient norms' plot when the
    history has them), written into the model directory."""
    directory = Path(directory)
    frames = sorted((directory / GRID_FOLDER).glob("epoch_*.png"))
    if frames:
        make_gif(frames, directory / "training.gif")
    if (directory / HISTORY_FILE).is_file():
        history = load_history(directory / HISTORY_FILE)
        figure = plot_losses(history)
        figure.savefig(directory / "losses.png", dpi=100)
        plt.close(figure)
        if all(history["steps"].get(name) for name in GRADIENT_NORMS):  # logged with log_gradient_norms
            figure = plot_losses(history, names=GRADIENT_NORMS, ylabel="gradient norm (global L2)", log=True)
            figure.savefig(directory / "gradient_norms.png", dpi=100)
            plt.close(figure)
