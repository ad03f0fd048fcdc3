"""Saving training state, and finding and restoring saved models for sampling.

A model directory (``saved_models/dcgan``, or the ``--out`` of a training run) holds:

* ``config.json`` -- the architecture's name and its config, enough to rebuild the networks;
* ``checkpoint``, ``ckpt-N.index``, ``ckpt-N.data-*`` -- a ``tf.train.Checkpoint`` of both
  networks, the generator's moving average, both optimizers, the noise seed state and the
  number of finished epochs (the step count is the generator optimizer's ``iterations``);
* ``history.json``, ``grids/``, ``training.gif``, ``losses.png`` -- written by training.

Sampling restores only the generator (or its moving average): no optimizer is built.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from gankit.data import to_pixels
from gankit.models import ARCHITECTURES, get_architecture

CONFIG_FILE = "config.json"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class CheckpointError(RuntimeError):
    """A model directory is missing, incomplete, or holds another architecture."""


# ---------------------------------------------------------------------------- training side
def make_checkpoint(gan, epoch: tf.Variable) -> tf.train.Checkpoint:
    """Everything training needs to resume, under names the sampler can restore one by one."""
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
    checkpoint = tf.train.Checkpoint(**parts)
    for name in ("generator", "discriminator", "ema_generator"):
        missing = untracked_weights(checkpoint, parts[name]) if name in parts else []
        if missing:
            raise CheckpointError(
                f"the {name} has {len(missing)} weight(s) that a checkpoint would not save "
                f"({', '.join(missing[:4])}{', ...' if len(missing) > 4 else ''}): tf.train.Checkpoint "
                "does not follow layers kept in Python lists; keep them as attributes"
            )
    return checkpoint


def untracked_weights(checkpoint: tf.train.Checkpoint, network) -> list[str]:
    """Paths of ``network``'s weights that ``checkpoint`` cannot reach, so would not save.

    Keras tracks a layer's weights however its sublayers are held, but ``tf.train.Checkpoint``
    follows only attributes it knows: sublayers in a plain list are silently left out.
    """
    reachable = {id(item) for item in tf.train.TrackableView(checkpoint).descendants()}
    return [
        weight.path for weight in network.weights
        if id(weight) not in reachable and id(getattr(weight, "value", None)) not in reachable
    ]


def write_config(directory, architecture: str, config) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    payload = {"architecture": architecture, "config": dataclasses.asdict(config)}
    (directory / CONFIG_FILE).write_text(json.dumps(payload, indent=2) + "\n")


def read_config(directory):
    """``(architecture_name, config)`` stored in a model directory."""
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(
            f"{directory} has no {CONFIG_FILE}, so it is not a gankit model directory "
            "(train one with `python -m gankit train ...`)"
        )
    payload = json.loads(path.read_text())
    architecture = get_architecture(payload["architecture"])
    return architecture.name, architecture.make_config(payload["config"])


def latest_checkpoint(directory) -> str:
    path = tf.train.latest_checkpoint(str(directory))
    if path is None:
        raise CheckpointError(f"no checkpoint (ckpt-N.index and ckpt-N.data-*) in {directory}")
    return path


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

    def latent(self, count: int, seed: int = 0) -> np.ndarray:
        """The generator's input for ``count`` images, the same for the same seed."""
        return ARCHITECTURES[self.architecture].sample_latent(self.config, count, seed)

    def generate(self, latent) -> np.ndarray:
        """float32 images ``[N, 28, 28, 1]`` in [-1, 1] for a latent batch ``[N, latent_dim]``."""
        latent = np.asarray(latent, np.float32)
        expected = self.latent(1).shape[1:]
        if latent.ndim != 2 or latent.shape[1:] != expected:
            raise ValueError(f"latent must have shape [N, {expected[0]}], got {latent.shape}")
        return np.asarray(self.network(latent, training=False))

    def sample(self, count: int = 64, seed: int = 0) -> np.ndarray:
        """``count`` uint8 digits ``[count, 28, 28]``."""
        if count < 1:
            raise ValueError(f"count must be positive, got {count}")
        return to_pixels(self.generate(self.latent(count, seed)))


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
    stored = {name for name, _ in tf.train.list_variables(checkpoint_path)}
    part = "ema_generator" if use_ema and any(n.startswith("ema_generator/") for n in stored) else "generator"
    if not any(name.startswith(f"{part}/") for name in stored):
        raise CheckpointError(f"{checkpoint_path} holds no generator weights")
    network = ARCHITECTURES[stored_name].build_generator(config)
    if truncation_psi is not None:
        if not hasattr(network, "truncation_psi"):
            raise ValueError(f"a {stored_name} generator has no truncation trick (StyleGAN has)")
        network.truncation_psi = float(truncation_psi)
    restore(network, part, checkpoint_path, f"a {stored_name} generator built from {directory / CONFIG_FILE}")
    epochs = int(tf.train.load_checkpoint(checkpoint_path).get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE"))
    return PretrainedGenerator(network, stored_name, config, directory, epochs)


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
    return directory, stored_name, config, latest_checkpoint(directory)


def restore(network, part: str, checkpoint_path: str, description: str) -> None:
    """Restore one named part of a training checkpoint (``"generator"``, ``"discriminator"``,
    ...) into ``network``; a mismatch is a :class:`CheckpointError` naming ``description``."""
    try:
        status = tf.train.Checkpoint(**{part: network}).restore(checkpoint_path)
        status.expect_partial().assert_existing_objects_matched()
    except (ValueError, AssertionError, tf.errors.OpError) as error:
        raise CheckpointError(f"{checkpoint_path} does not fit {description}: {error}") from error
