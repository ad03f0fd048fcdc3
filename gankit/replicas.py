"""What the shared step needs of ``tf.distribute``: the step is written once, for one replica.

Under a strategy (``MirroredStrategy`` over several devices, ``MultiWorkerMirroredStrategy``
over several machines) Keras' ``fit`` runs :meth:`gankit.gan.GAN.train_step` on every replica
with that replica's slice of the global batch, and the optimizers sum the replicas' gradients.
The step stays correct by four rules, each a function here, and each the identity on one device
(so single-device numbers do not change):

* **noise**: every random draw of the step goes through :func:`rows`: the draw is made for the
  *global* batch from the one synced seed state, and each replica keeps its own rows. The
  replicas get different noise (not N copies of one batch), and the global batch's noise is the
  single-device run's, whatever the number of replicas;
* **losses**: :func:`scale` divides each replica's mean loss by the number of replicas, so
  that the summed gradients are the gradient of the global mean;
* **logs and statistics**: :func:`mean` averages a value over the replicas (the logged losses,
  StyleGAN's running mean of w), :func:`total` sums it (a logged gradient norm), and
  :func:`batch_normalization` synchronises batch norm's statistics when there are replicas;
* **data**: :func:`distribute` deals every global batch out so that each replica holds its
  share of each discriminator step's images (a critic step on one device uses the contiguous
  ``batch_size`` images it would use on one device, split across the replicas).
"""

from __future__ import annotations

import keras
import tensorflow as tf


def count() -> int:
    """Replicas taking part in the current step (1 outside a strategy)."""
    context = tf.distribute.get_replica_context()
    return 1 if context is None else context.num_replicas_in_sync


def index():
    """This replica's place among them, 0 .. count() - 1 (0 outside a strategy)."""
    context = tf.distribute.get_replica_context()
    return 0 if context is None else context.replica_id_in_sync_group


def rows(draw, batch_size):
    """This replica's ``batch_size`` rows of ``draw(count() * batch_size)``.

    ``draw(n)`` makes ``n`` rows of noise from a shared seed state; on one device this is
    ``draw(batch_size)``. Every replica makes the same global draw (the seed state is synced)
    and keeps a different slice of it.
    """
    replicas = count()
    if replicas == 1:
        return draw(batch_size)
    start = index() * batch_size
    return draw(replicas * batch_size)[start:start + batch_size]


def normal(batch_size, shape, seed):
    """``[batch_size, *shape]`` draws of N(0, 1) from ``seed`` (a ``keras.random.SeedGenerator``):
    this replica's rows of the global batch's draw (:func:`rows`)."""
    shape = tf.cast(shape, tf.int32)
    return rows(lambda n: keras.random.normal(tf.concat([[n], shape], axis=0), seed=seed), batch_size)


def uniform(batch_size, shape, seed):
    """``[batch_size, *shape]`` draws of U[0, 1) from ``seed``, as :func:`normal`."""
    shape = tf.cast(shape, tf.int32)
    return rows(lambda n: keras.random.uniform(tf.concat([[n], shape], axis=0), seed=seed), batch_size)


def scale(loss):
    """A replica's mean loss as its share of the global mean: the optimizers sum the replicas'
    gradients, so each replica contributes ``loss / count()``."""
    replicas = count()
    return loss if replicas == 1 else loss / replicas


def mean(values):
    """The mean over the replicas of a tensor or a list of tensors (itself on one device)."""
    return _all_reduce(tf.distribute.ReduceOp.MEAN, values)


def total(values):
    """The sum over the replicas of a tensor or a list of tensors (itself on one device)."""
    return _all_reduce(tf.distribute.ReduceOp.SUM, values)


def _all_reduce(operation, values):
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return values
    return context.all_reduce(operation, values)


def batch_normalization(**kwargs) -> keras.layers.BatchNormalization:
    """A batch-norm layer that, built under a strategy with several replicas, computes its
    statistics over the global batch (as the single-device network does); otherwise Keras'
    plain layer. Only the layer's config differs: its weights, and so the checkpoints, are the same."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return keras.layers.BatchNormalization(synchronized=replicas > 1, **kwargs)


def check_split(batch_size: int, replicas: int) -> None:
    """A clear error when a discriminator batch cannot be shared equally by the replicas."""
    if replicas < 1:
        raise ValueError(f"need at least one replica, got {replicas}")
    if batch_size % replicas:
        raise ValueError(
            f"batch_size {batch_size} cannot be split across {replicas} replicas; "
            f"use a multiple of {replicas} (--batch-size or the config's batch_size)"
        )


def layout(batch, steps: int, replicas: int):
    """``[steps * b, ...]`` (step k's images at rows ``k * b`` .. ``(k + 1) * b``) ->
    ``[replicas, steps * b / replicas, ...]``: replica r's part holds rows
    ``r * b / replicas`` .. ``(r + 1) * b / replicas`` of every step, step after step, which
    is what :meth:`gankit.gan.GAN.train_step` splits into its discriminator steps."""
    tail = tf.shape(batch)[1:]
    parts = tf.reshape(batch, tf.concat([[steps, replicas, -1], tail], axis=0))
    parts = tf.transpose(parts, tf.concat([[1, 0], tf.range(2, tf.rank(parts))], axis=0))
    return tf.reshape(parts, tf.concat([[replicas, -1], tail], axis=0))


def distribute(strategy: tf.distribute.Strategy, dataset: tf.data.Dataset, steps: int):
    """``dataset``'s global batches (images, or ``(images, labels)``, of ``steps`` discriminator
    batches each) dealt out to ``strategy``'s replicas by :func:`layout`: each input pipeline
    (one per worker) keeps its own replicas' parts. Under no strategy (TensorFlow's default,
    outside any scope) the dataset is returned as it is."""
    if strategy is tf.distribute.get_strategy() and not tf.distribute.has_strategy():
        return dataset

    def replica_batches(context: tf.distribute.InputContext) -> tf.data.Dataset:
        replicas = context.num_replicas_in_sync
        local = replicas // context.num_input_pipelines
        first = context.input_pipeline_id * local

        def deal(*parts):
            dealt = tuple(layout(part, steps, replicas)[first:first + local] for part in parts)
            return dealt if len(dealt) > 1 else dealt[0]

        return dataset.map(deal).unbatch()

    return strategy.distribute_datasets_from_function(replica_batches)


STRATEGIES = ("mirrored", "multiworker")


def make_strategy(kind: str, replica_count: int | None = None) -> tf.distribute.Strategy:
    """The strategy ``--distribute`` names.

    ``"mirrored"``: ``MirroredStrategy`` over the local GPUs (the first ``replica_count`` of
    them), or, on a machine without GPUs, over ``replica_count`` logical CPU devices (for
    testing: they share the same cores). Logical devices can only be made before TensorFlow
    starts its devices, so call this first. ``"multiworker"``: ``MultiWorkerMirroredStrategy``,
    the cluster read from the ``TF_CONFIG`` environment variable.
    """
    import json
    import os

    if kind not in STRATEGIES:
        raise ValueError(f"unknown strategy {kind!r}; known: {', '.join(STRATEGIES)}")
    if replica_count is not None and replica_count < 1:
        raise ValueError(f"need at least one replica, got {replica_count}")
    if kind == "multiworker":
        if replica_count is not None:
            raise ValueError("--replicas is for mirrored; a multi-worker cluster is given by TF_CONFIG")
        if "TF_CONFIG" not in os.environ:
            raise ValueError("multiworker needs the cluster in TF_CONFIG, e.g. "
                             + json.dumps({"cluster": {"worker": ["host1:port", "host2:port"]},
                                           "task": {"type": "worker", "index": 0}}))
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        if replica_count is not None and replica_count > len(gpus):
            raise ValueError(f"{replica_count} replicas asked for, {len(gpus)} GPU(s) here")
        devices = [f"/gpu:{number}" for number in range(replica_count or len(gpus))]
    else:
        count = replica_count or 1
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
        except RuntimeError:  # already started: fine if it has the devices asked for
            pass
        devices = [device.name for device in tf.config.list_logical_devices("CPU")]
        if len(devices) != count:
            raise RuntimeError(f"TensorFlow started with {len(devices)} CPU device(s), {count} asked for: "
                               "make the strategy before anything else runs")
    return tf.distribute.MirroredStrategy(devices)


def worker_directory(directory, strategy: tf.distribute.Strategy):
    """Where this process writes: ``directory`` for the chief, ``directory/workers/K`` for the
    other workers of a cluster, which keep their own copy (the same weights, every file
    written by one process only, even on a shared disk)."""
    from pathlib import Path

    directory = Path(directory)
    if strategy.extended.should_checkpoint:  # the chief (worker 0 without one), or a single process
        return directory
    return directory / "workers" / str(strategy.cluster_resolver.task_id)


def multi_worker() -> bool:
    """Whether the current strategy spans several worker processes."""
    strategy = tf.distribute.get_strategy()
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()


def fit_logs(logs: dict) -> dict:
    """What ``train_step`` returns to ``fit``: ``logs`` as they are, but in a multi-worker cluster
    each value as a ``[1]`` tensor.

    Keras 3.15's ``fit`` reduces a step's logs over the replicas with
    ``strategy.reduce("MEAN", value, axis=0)`` when several workers train, which fails on a scalar
    ("Invalid reduction dimension 0 for input with 0 dimensions"); it ignores
    ``distribute_reduction_method``. Over a ``[1]`` value that reduction is the scalar mean. (The
    logged values already agree across the replicas: :func:`mean`.)
    """
    if not multi_worker():
        return logs
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}
