"""Saving training state, and finding and restoring saved models for sampling.

A model directory (``saved_models/dcgan``, or the ``--out`` of a training run) holds:

* ``config.json`` -- the architecture's name and its config, enough to rebuild the networks;
* ``checkpoint``, ``ckpt-N.index``, ``ckpt-N.data-*`` -- a ``tf.train.Checkpoint`` of both
  networks, the generator's moving average, both optimizers, every random state (the training
  noise's seed, and any seed generator a network holds) and the number of finished epochs (the
  step count is the generator optimizer's ``iterations``);
* ``history.json``, ``grids/``, ``training.gif``, ``losses.png`` -- written by training.

Sampling restores only the generator (or its moving average): no optimizer is built. A missing,
truncated or corrupt file raises :class:`CheckpointError` naming the file and what to do.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from gankit.data import to_pixels
from gankit.latent import truncate
from gankit.models import ARCHITECTURES, get_architecture
from gankit.storage import CheckpointError, read_json, write_json

CONFIG_FILE = "config.json"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
NETWORKS = ("generator", "discriminator", "ema_generator")  # the checkpoint's parts that are networks
DAMAGED = "delete the model directory to train afresh, or restore it from a copy"


# ---------------------------------------------------------------------------- training side
def make_checkpoint(gan, epoch: tf.Variable) -> tf.train.Checkpoint:
    """Everything training needs to resume, under names the sampler can restore one by one.

    Besides the networks' weights, a network can hold random state (a
    ``keras.random.SeedGenerator``, such as StyleGAN's noise and style-mixing draws): Keras lists
    it in ``network.variables`` but a ``tf.train.Checkpoint`` does not follow it, so it is saved
    here explicitly as ``<network>_random_states``. Any variable that would still be left out
    (a layer kept in a Python list, say) is refused with a :class:`CheckpointError`, so that a
    resumed run can never silently differ from an uninterrupted one.
    """
    parts = dict(
        generator=gan.generator,
        discriminator=gan.discriminator,
        generator_optimizer=gan.generator_optimizer,
        discriminator_optimizer=gan.discriminator_optimizer,
        noise_seed=gan.seed_generator.state,
        epoch=epoch,
    )
    if gan.ema_generator is not None:
        parts["ema_generator"] = gan.ema_generator
    for name in NETWORKS:
        states = random_states(parts[name]) if name in parts else []
        if states:
            parts[f"{name}_random_states"] = states
    checkpoint = tf.train.Checkpoint(**parts)
    for name in NETWORKS:
        missing = untracked_variables(checkpoint, parts[name]) if name in parts else []
        if missing:
            raise CheckpointError(
                f"the {name} has {len(missing)} variable(s) that a checkpoint would not save "
                f"({', '.join(missing[:4])}{', ...' if len(missing) > 4 else ''}): tf.train.Checkpoint "
                "does not follow layers kept in Python lists; keep them as attributes"
            )
    return checkpoint


def random_states(network) -> list:
    """The variables ``network`` holds besides its weights: the states of its
    ``keras.random.SeedGenerator`` objects, in Keras' (construction) order."""
    weights = {id(weight) for weight in network.weights}
    return [variable for variable in network.variables if id(variable) not in weights]


def untracked_variables(checkpoint: tf.train.Checkpoint, network) -> list[str]:
    """Paths of ``network``'s variables (weights and random states) that ``checkpoint`` cannot
    reach, so would not save.

    Keras tracks a layer's variables however its sublayers are held, but ``tf.train.Checkpoint``
    follows only attributes it knows: sublayers in a plain list, and seed generators, are
    silently left out.
    """
    reachable = {id(item) for item in tf.train.TrackableView(checkpoint).descendants()}
    return [
        variable.path for variable in network.variables
        if id(variable) not in reachable and id(getattr(variable, "value", None)) not in reachable
    ]


def restore_training(checkpoint: tf.train.Checkpoint, path: str) -> None:
    """Restore a whole training checkpoint (to resume), or raise :class:`CheckpointError`.

    A checkpoint written before random states were saved (StyleGAN's first one) is accepted
    with a warning: its weights are restored and the networks' noise streams start afresh.
    """
    _check_files(path)
    try:
        status = checkpoint.restore(path)
        try:
            status.assert_existing_objects_matched()
        except AssertionError:
            parts = tf.train.TrackableView(checkpoint).children(checkpoint)
            absent = sorted(name for name in parts if name not in stored_parts(path))
            if not absent or not all(name.endswith("_random_states") for name in absent):
                raise
            print(f"warning: {path} predates saved random states ({', '.join(absent)}); "
                  "those noise streams restart from their seeds")
    except (AssertionError, ValueError, tf.errors.OpError) as error:
        raise CheckpointError(
            f"{path} cannot be restored into this model ({type(error).__name__}: {_first_line(error)}); {DAMAGED}"
        ) from None


def stored_parts(path: str) -> set[str]:
    """The names of the top-level parts saved in a checkpoint (``generator``, ``epoch``, ...),
    read from its object graph (a variable's key may name another path to it)."""
    from tensorflow.core.protobuf import trackable_object_graph_pb2

    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(tf.train.load_checkpoint(path).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    return {child.local_name for child in graph.nodes[0].children}


MAX_SHARD_BYTES = 20 * 2**20  # a checkpoint's data files are split into parts of at most this size


def save_options() -> tf.train.CheckpointOptions:
    """How training checkpoints are written: the data in shards of at most ``MAX_SHARD_BYTES``
    (``ckpt-N.data-0000k-of-0000n``), so that no committed file grows past the repository's
    limit (the fully connected CGAN's checkpoint is 42 MB); restoring reads any number of shards."""
    policy = tf.train.experimental.MaxShardSizePolicy(max_shard_size=MAX_SHARD_BYTES)
    return tf.train.CheckpointOptions(experimental_sharding_callback=policy)


def _first_line(error) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ""


def _check_files(path: str) -> None:
    """Refuse a checkpoint whose index or data file is missing, truncated or corrupt: every
    tensor is read once (TensorFlow checks each one's CRC), a few megabytes for these models."""
    try:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except (ValueError, IndexError, tf.errors.OpError) as error:
        raise CheckpointError(
            f"the checkpoint {path} (its .index and .data files) is missing or damaged "
            f"({_first_line(error)}); {DAMAGED}"
        ) from None


def write_config(directory, architecture: str, config, origin: dict | None = None) -> None:
    """Write ``config.json``; ``origin`` (a continued run's source: directory, epochs, config)
    is recorded beside the config as ``continued_from``."""
    payload = {"architecture": architecture, "config": dataclasses.asdict(config)}
    if origin is not None:
        payload["continued_from"] = {**origin, "config": dataclasses.asdict(origin["config"])}
    write_json(Path(directory) / CONFIG_FILE, payload, indent=2)


def read_config(directory):
    """``(architecture_name, config)`` stored in a model directory."""
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(
            f"{directory} has no {CONFIG_FILE}, so it is not a gankit model directory "
            "(train one with `python -m gankit train ...`)"
        )
    payload = read_json(path, "the model's architecture and config", DAMAGED)
    try:
        architecture = get_architecture(payload["architecture"])
        return architecture.name, architecture.make_config(payload["config"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path} does not describe a gankit model ({error}); {DAMAGED}") from None


def has_checkpoint(directory) -> bool:
    """Whether ``directory`` holds a saved checkpoint, whole or damaged.

    The state file ``checkpoint`` is written last, once a save is complete, so it is what says
    so: ``ckpt-*`` files without it are a first save that never finished, and are overwritten."""
    return (Path(directory) / "checkpoint").exists()


def latest_checkpoint(directory) -> str:
    """The path of the latest checkpoint in ``directory`` (``.../ckpt-N``)."""
    path = tf.train.latest_checkpoint(str(directory))
    if path is not None:
        return path
    state_file = Path(directory) / "checkpoint"
    if not state_file.exists():
        raise CheckpointError(f"no checkpoint (ckpt-N.index and ckpt-N.data-*) in {directory}")
    named = re.search(r'^model_checkpoint_path:\s*"([^"]+)"', state_file.read_text(errors="replace"), re.M)
    if named:
        raise CheckpointError(f"{state_file} names {Path(named.group(1)).name}, whose .index file is missing; {DAMAGED}")
    raise CheckpointError(f"{state_file} is damaged (it names no checkpoint); {DAMAGED}")


# ---------------------------------------------------------------------------- sampling side
def resolve_model_directory(name_or_path, models_dir=None) -> Path:
    """A directory for a model name (``"dcgan"``) or a path.

    A name is looked up in ``models_dir`` when given, else in ``./saved_models`` and in the
    ``saved_models`` folder next to the installed package.
    """
    path = Path(name_or_path)
    if path.is_dir():
        return path
    name = str(name_or_path)
    if name not in ARCHITECTURES:
        raise CheckpointError(
            f"unknown model {name!r}: not a directory, and not one of the architectures "
            f"{', '.join(sorted(ARCHITECTURES))}"
        )
    found = find_saved(name, models_dir)
    if found is None:
        searched = ", ".join(str(root / name) for root in saved_model_roots(models_dir))
        raise CheckpointError(f"no saved {name} model; looked in {searched}")
    return found


def saved_model_roots(models_dir=None) -> list[Path]:
    """Where saved models are looked up: ``models_dir`` when given, else ``./saved_models``
    and then the ``saved_models`` folder beside the installed package."""
    return [Path(models_dir)] if models_dir else [Path("saved_models"), PACKAGE_ROOT / "saved_models"]


def find_saved(name: str, models_dir=None) -> Path | None:
    """The first ``<root>/<name>`` folder among :func:`saved_model_roots`, or None."""
    for root in saved_model_roots(models_dir):
        if (root / name).is_dir():
            return root / name
    return None


@dataclass
class PretrainedGenerator:
    """A restored generator, ready to sample.

    Attributes:
        network: the Keras generator (weights of the moving average when the checkpoint has one).
        architecture: its architecture's name.
        config: the architecture's config dataclass.
        directory: where it was loaded from.
        epochs: how many epochs of training the checkpoint holds.
    """

    network: object
    architecture: str
    config: object
    directory: Path
    epochs: int

    @property
    def conditional(self) -> bool:
        """Whether this generator draws the digit it is asked for (CGAN, AC-GAN)."""
        return ARCHITECTURES[self.architecture].conditional

    def latent(self, count: int, seed: int = 0, label=None, truncation: float | None = None) -> np.ndarray:
        """The generator's input for ``count`` images, the same for the same seed. ``label``
        (a digit, or ``[count]`` digits) chooses what a conditional generator draws;
        ``truncation`` draws the noise z again wherever ``|z| > truncation``
        (:func:`gankit.latent.truncate`), for every model fed N(0, I) noise (the first
        ``noise_dim`` inputs of a model with codes or labels)."""
        latent = self._latent(count, seed, label)
        if truncation is not None:
            noise = getattr(self.config, "noise_dim", self.config.latent_dim)  # z comes first
            latent[:, :noise] = truncate(latent[:, :noise], truncation, seed)
        return latent

    def _latent(self, count: int, seed: int, label) -> np.ndarray:
        spec = ARCHITECTURES[self.architecture]
        if label is None:
            return spec.sample_latent(self.config, count, seed)
        if not spec.conditional:
            raise ValueError(f"{self.architecture} is not conditional: it cannot draw a requested label "
                             f"(conditional models: {', '.join(sorted(n for n, a in ARCHITECTURES.items() if a.conditional))})")
        labels = np.asarray(label)
        if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() > 9:
            raise ValueError(f"a label must be a digit 0-9, got {label!r}")
        return spec.sample_latent(self.config, count, seed, labels=labels)

    def generate(self, latent) -> np.ndarray:
        """float32 images ``[N, 28, 28, 1]`` in [-1, 1] for a latent batch ``[N, latent_dim]``."""
        latent = np.asarray(latent, np.float32)
        expected = self.latent(1).shape[1:]
        if latent.ndim != 2 or latent.shape[1:] != expected:
            raise ValueError(f"latent must have shape [N, {expected[0]}], got {latent.shape}")
        return np.asarray(self.network(latent, training=False))

    def sample(self, count: int = 64, seed: int = 0, label=None, truncation: float | None = None) -> np.ndarray:
        """``count`` uint8 digits ``[count, 28, 28]``; ``label`` and ``truncation`` as in :meth:`latent`."""
        if count < 1:
            raise ValueError(f"count must be positive, got {count}")
        return to_pixels(self.generate(self.latent(count, seed, label, truncation)))


def load_generator(name_or_path, models_dir=None, architecture: str | None = None, use_ema: bool = True,
                   truncation_psi: float | None = None):
    """Load a trained generator from ``saved_models/<name>`` or from a directory.

    Args:
        name_or_path: an architecture name (``"dcgan"``) or a model directory.
        models_dir: where to look up names (default: ``./saved_models``, then the one beside
            the package).
        architecture: the architecture the caller expects; a checkpoint of another one is an
            error. A name given as ``name_or_path`` is expected too.
        use_ema: take the moving average of the generator's weights when the checkpoint has it.
        truncation_psi: sample with the truncation trick at this psi (StyleGAN only; 1 = off).

    Returns:
        A :class:`PretrainedGenerator`.
    """
    directory, stored_name, config, checkpoint_path = locate(name_or_path, models_dir, architecture)
    stored = stored_parts(checkpoint_path)
    part = "ema_generator" if use_ema and "ema_generator" in stored else "generator"
    if part not in stored:
        raise CheckpointError(f"{checkpoint_path} holds no generator weights")
    network = ARCHITECTURES[stored_name].build_generator(config)
    if truncation_psi is not None:
        if not hasattr(network, "truncation_psi"):
            raise ValueError(f"a {stored_name} generator has no truncation trick (StyleGAN has)")
        network.truncation_psi = float(truncation_psi)
    restore(network, part, checkpoint_path, f"a {stored_name} generator built from {directory / CONFIG_FILE}")
    return PretrainedGenerator(network, stored_name, config, directory, stored_epochs(checkpoint_path))


def stored_epochs(checkpoint_path: str) -> int:
    """How many epochs of training the checkpoint at ``checkpoint_path`` holds."""
    return int(tf.train.load_checkpoint(checkpoint_path).get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE"))


def locate(name_or_path, models_dir=None, architecture: str | None = None):
    """``(directory, architecture name, config, latest checkpoint path)`` of a saved model.

    ``architecture`` is the one the caller expects (a name given as ``name_or_path`` is expected
    too); a checkpoint of another one is a :class:`CheckpointError`.
    """
    directory = resolve_model_directory(name_or_path, models_dir)
    stored_name, config = read_config(directory)
    expected = architecture or (str(name_or_path) if str(name_or_path) in ARCHITECTURES else None)
    if expected is not None and expected != stored_name:
        raise CheckpointError(
            f"{directory} holds a {stored_name} checkpoint, not {expected}"
        )
    path = latest_checkpoint(directory)
    _check_files(path)
    return directory, stored_name, config, path


def restore(network, part: str, checkpoint_path: str, description: str) -> None:
    """Restore one named part of a training checkpoint (``"generator"``, ``"discriminator"``,
    ...) into ``network``; a mismatch is a :class:`CheckpointError` naming ``description``."""
    try:
        status = tf.train.Checkpoint(**{part: network}).restore(checkpoint_path)
        status.expect_partial().assert_existing_objects_matched()
    except (ValueError, AssertionError, tf.errors.OpError) as error:
        raise CheckpointError(f"{checkpoint_path} does not fit {description}: {error}") from error
