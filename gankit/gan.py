"""The one GAN model that every architecture in gankit trains with.

``GAN`` is a ``keras.Model`` whose ``train_step`` plays one round of the adversarial game:

1. update the discriminator ``num_discriminator_steps`` times on real and generated images;
2. update the generator once, through a discriminator that is not changed there (neither its
   weights nor its batch-norm statistics);
3. move the exponential moving average (EMA) of the generator's weights.

``fit()`` compiles ``train_step`` into a ``tf.function``, so training gets Keras' progress bar
and callbacks (``run_eagerly=True`` in ``compile`` is the switch for debugging).

Nothing here knows which architecture it trains. An architecture supplies its networks and its
loss pair through :func:`assemble`, the one factory every architecture's ``build_gan`` calls;
what differs in its step is composed in, not copied: a ``discriminator_penalty`` function (the
WGAN-GP gradient penalty), Keras constraints on the discriminator's weights (WGAN's clipping), or,
for structured latent codes (InfoGAN) and conditions (CGAN, AC-GAN), overrides of three small
hooks: ``sample_latent`` (what the generator is fed), ``discriminate`` (a discriminator with a
second head, or one that reads the condition too) and ``auxiliary_loss`` (a term that both sides
minimise, computed from the latent batch and that second head; in the discriminator's update it
also sees the second head's output on the real images and their labels).

A conditional model (``conditional = True``) trains on ``(images, labels)`` batches. The labels
are split across the discriminator steps with their images; every generated batch is made for
the labels of the real batch beside it (so the conditions follow the data's class frequencies),
and the discriminator, the penalty and the auxiliary term see them. An unconditional model takes
either kind of batch and ignores the labels, so its numbers do not depend on whether they come.

With several discriminator steps per generator step, every discriminator step sees fresh real
images, as in Arjovsky et al. 2017 (Algorithm 1): the data set's batches hold
``num_discriminator_steps`` discriminator batches (:meth:`GAN.images_per_step`), and the step
splits them. One epoch is therefore one pass of the discriminator over the data.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import keras
import tensorflow as tf

from gankit import losses, replicas


@dataclass
class StepOptions:
    """Options of the shared step that every architecture's config inherits: the training
    tricks and diagnostics of the seeds. The defaults change nothing."""

    real_label: float = 1.0  # the discriminator's target on real images; 0.9: one-sided label
    #                          smoothing (Salimans et al. 2016); cross-entropy losses only
    fake_label: float = 0.0  # its target on generated images (> 0: two-sided soft labels)
    instance_noise: float = 0.0  # std of Gaussian noise added to every image the discriminator
    #                              sees, real or generated (Sønderby et al. 2017) ...
    instance_noise_steps: int = 0  # ... falling linearly to 0 over this many generator steps (0: constant)
    log_gradient_norms: bool = False  # record both networks' gradient norms every step


GRADIENT_NORMS = ("discriminator_gradient_norm", "generator_gradient_norm")  # logged with log_gradient_norms


class GAN(keras.Model):
    """A generator and a discriminator trained against each other.

    Subclasses that condition on digit labels set the class attribute ``conditional = True``.

    Args:
        generator: maps ``[batch, latent_dim]`` noise to ``[batch, 28, 28, 1]`` images in [-1, 1].
        discriminator: maps images to one raw score (logit) per image, ``[batch, 1]``.
        latent_dim: size of the noise vector z.
        num_discriminator_steps: discriminator updates per generator update (1 for DCGAN,
            5 for the WGAN critic).
        ema_decay: decay of the moving average of the generator's weights used for sampling;
            ``None`` turns the average off.
        seed: seed of the noise drawn during training, so that runs repeat.
        discriminator_penalty: optional ``f(discriminator, real, fake, seed_generator) -> scalar``
            added to the discriminator loss and logged as ``penalty``
            (e.g. :func:`gankit.losses.gradient_penalty`); refused beside a discriminator with
            batch norm, since such a penalty is taken per image. A constraint on the discriminator's
            weights is a Keras constraint on them (:func:`gankit.losses.clip_weights`), which
            its optimizer applies after every update.
        options: the :class:`StepOptions` (an architecture passes its config, which inherits
            them): soft labels, instance noise, gradient-norm logging.
        penalty_interval: take the penalty only every this many discriminator steps, weighted
            by the interval so that its average pull is unchanged (lazy regularisation, Karras
            et al. 2020: R1 every 16 steps); 1 takes it every step.
    """

    conditional = False  # True: batches are (images, labels) and the labels condition both networks

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int,
        num_discriminator_steps: int = 1,
        ema_decay: float | None = 0.999,
        seed: int = 0,
        name: str = "gan",
        discriminator_penalty=None,
        options: StepOptions | None = None,
        penalty_interval: int = 1,
    ):
        super().__init__(name=name)
        if num_discriminator_steps < 1:
            raise ValueError(f"num_discriminator_steps must be >= 1, got {num_discriminator_steps}")
        if ema_decay is not None and not 0.0 < ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1) or None, got {ema_decay}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.num_discriminator_steps = int(num_discriminator_steps)
        self.ema_decay = ema_decay
        if discriminator_penalty is not None and _batch_norm_statistics(discriminator):
            raise ValueError(
                "a gradient penalty (R1, WGAN-GP) is taken per image, and batch norm makes each image's "
                f"score depend on the rest of its batch: build {discriminator.name} without batch norm "
                "(in DCGAN's and LSGAN's configs, spectral_norm=True) or train without the penalty"
            )
        self.penalty_fn = discriminator_penalty
        if penalty_interval < 1:
            raise ValueError(f"penalty_interval must be >= 1, got {penalty_interval}")
        self.penalty_interval = int(penalty_interval)
        options = options or StepOptions()
        self.real_label, self.fake_label = float(options.real_label), float(options.fake_label)
        if not 0.0 <= self.fake_label < self.real_label <= 1.0:
            raise ValueError(f"need 0 <= fake_label < real_label <= 1, got {self.fake_label} and {self.real_label}")
        if options.instance_noise < 0 or options.instance_noise_steps < 0:
            raise ValueError("instance_noise and instance_noise_steps must be >= 0")
        self.instance_noise = float(options.instance_noise)
        self.instance_noise_steps = int(options.instance_noise_steps)
        self.log_gradient_norms = bool(options.log_gradient_norms)
        self.seed_generator = keras.random.SeedGenerator(seed)
        # A copy of the generator whose weights trail the trained ones (Karras et al. 2018).
        self.ema_generator = None
        if ema_decay is not None:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.name = f"ema_{generator.name}"
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False  # moved by update_ema, never by an optimizer
        # Epoch means (shown in the progress bar) and the last step's raw values (read by
        # the history callback after every batch).
        self.loss_trackers = {
            name: keras.metrics.Mean(name=name) for name in self.tracked_names()
        }
        self.last_step_values = {
            name: keras.Variable(0.0, trainable=False, name=f"last_{name}")
            for name in self.tracked_names()
        }
        # Its networks are built: nothing for Keras to build by calling the model (which has no
        # call()), as fit() tries under a distribution strategy.
        self.built = True

    # ----------------------------------------------------------------------------- set-up
    def compile(
        self,
        generator_optimizer: keras.optimizers.Optimizer,
        discriminator_optimizer: keras.optimizers.Optimizer,
        generator_loss_fn,
        discriminator_loss_fn,
        **kwargs,
    ):
        """Attach the two optimizers and the loss pair (see :mod:`gankit.losses`).

        Both optimizers are built here, so their slots exist before a checkpoint is restored.
        Extra keyword arguments go to ``keras.Model.compile`` (``run_eagerly``, ``jit_compile``);
        Keras' own ``optimizer`` stays None (the step uses the two above, and no third one is made).
        """
        if "optimizer" in kwargs:
            raise ValueError("a GAN trains with generator_optimizer and discriminator_optimizer, not optimizer")
        super().compile(optimizer=None, **kwargs)
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self.generator_loss_fn = generator_loss_fn
        if (self.real_label, self.fake_label) != (1.0, 0.0):  # soft targets for the cross-entropy loss
            if discriminator_loss_fn is not losses.minimax_discriminator_loss:
                raise ValueError(f"soft labels (real_label, fake_label) apply to the cross-entropy loss, not "
                                 f"{getattr(discriminator_loss_fn, '__name__', discriminator_loss_fn)}")
            discriminator_loss_fn = functools.partial(losses.soft_label_discriminator_loss,
                                                      real_label=self.real_label, fake_label=self.fake_label)
        self.discriminator_loss_fn = discriminator_loss_fn
        generator_optimizer.build(self.generator.trainable_variables)
        discriminator_optimizer.build(self.discriminator.trainable_variables)

    def tracked_names(self) -> tuple[str, ...]:
        """Names of the values logged every step. Subclasses that log more extend this."""
        names = ("discriminator_loss", "generator_loss", "real_score", "fake_score")
        names += ("penalty",) if self.penalty_fn is not None else ()
        return names + (GRADIENT_NORMS if self.log_gradient_norms else ())

    def images_per_step(self, batch_size: int) -> int:
        """Real images one train step takes: a fresh batch for every discriminator step."""
        return batch_size * self.num_discriminator_steps

    @property
    def metrics(self):
        # Listed here so that Keras resets them at the start of every epoch.
        return list(self.loss_trackers.values())

    @property
    def sampling_generator(self) -> keras.Model:
        """The network to draw samples from: the EMA copy when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    # ------------------------------------------------------------------------ hooks
    def sample_latent(self, batch_size, labels=None):
        """Draw the generator's input for ``batch_size`` images: z ~ N(0, I). A conditional
        model gets the ``[batch]`` labels the images are to show and puts them in the input."""
        return replicas.normal(batch_size, (self.latent_dim,), self.seed_generator)

    def discriminate(self, images, labels=None, training=True):
        """``(scores, auxiliary)``: the discriminator's score per image (given the images'
        ``labels`` in a conditional model) and what any extra head outputs (None here;
        InfoGAN's Q head, AC-GAN's class logits)."""
        return self.discriminator(images, training=training), None

    def auxiliary_loss(self, latent, auxiliary, real_labels=None, real_auxiliary=None):
        """``(loss, logs)``: a term added to *both* the discriminator's and the generator's loss,
        from the latent batch that made the fake images and the extra head's output on them
        (InfoGAN's mutual-information term), with the values to log. In the discriminator's
        update it also gets the real images' labels and the extra head's output on them
        (AC-GAN's class loss on real digits); in the generator's those are None.
        None here: ``(0, {})``."""
        return tf.constant(0.0), {}

    def discriminator_penalty(self, real_images, fake_images, labels=None):
        """Extra term of the discriminator loss: the composed penalty, or 0. The penalty sees
        the discriminator's score as a function of the images alone (the labels held fixed).
        With a ``penalty_interval`` N > 1 it is N times the penalty on every N-th discriminator
        step (counted by its optimizer, from 0) and 0 on the others, which then skip its cost."""
        if self.penalty_fn is None:
            return tf.constant(0.0)

        def critic(images, training=True):
            return self.discriminate(images, labels, training=training)[0]

        def penalty():
            return tf.cast(self.penalty_fn(critic, real_images, fake_images, self.seed_generator), tf.float32)

        if self.penalty_interval == 1:
            return penalty()
        due = tf.equal(self.discriminator_optimizer.iterations % self.penalty_interval, 0)
        return tf.cond(due, lambda: self.penalty_interval * penalty(), lambda: tf.constant(0.0))

    def perturb(self, images):
        """What the discriminator sees of ``images``: with instance noise, ``images + sigma * n``,
        n ~ N(0, I), sigma falling linearly from ``instance_noise`` to 0 over
        ``instance_noise_steps`` generator steps (constant when that is 0)."""
        if not self.instance_noise:
            return images
        sigma = tf.constant(self.instance_noise)
        if self.instance_noise_steps:
            done = tf.cast(self.generator_optimizer.iterations, tf.float32) / self.instance_noise_steps
            sigma *= tf.maximum(0.0, 1.0 - done)
        return images + sigma * replicas.normal(tf.shape(images)[0], tf.shape(images)[1:], self.seed_generator)

    def split_batch(self, data):
        """``(images, labels)`` of a training batch; labels None for an unconditional model."""
        if isinstance(data, (tuple, list)):
            images, labels = data[0], (data[1] if len(data) > 1 else None)
        else:
            images, labels = data, None
        if not self.conditional:
            return images, None
        if labels is None:
            raise ValueError(f"{self.name} is conditional: it trains on (images, labels) batches, got images alone")
        return images, labels

    # ------------------------------------------------------------------------ the step
    def train_step(self, data):
        images, labels = self.split_batch(data)
        steps = self.num_discriminator_steps
        if images.shape[0] is not None and images.shape[0] % steps:
            raise ValueError(
                f"a batch of {images.shape[0]} images cannot feed {steps} discriminator steps; "
                f"batch the data by images_per_step(batch_size) = batch_size * {steps}"
            )
        # [steps * batch, ...] -> steps fresh batches of real images, one per discriminator step.
        real_batches = _per_step(images, steps)
        label_batches = _per_step(labels, steps) if labels is not None else None
        # Update the discriminator (the critic, in WGAN) num_discriminator_steps times ...
        for step in range(steps):
            real_labels = label_batches[step] if labels is not None else None
            values, discriminator_gradients = self.discriminator_step(real_batches[step], real_labels)
        # ... then the generator once, for the last real batch's labels; then the weight average.
        generator_values, generator_gradients = self.generator_step(tf.shape(real_batches)[1], real_labels)
        self.update_ema()

        values.update(generator_values)  # the last discriminator step's values and the generator step's
        values = dict(zip(values, replicas.mean([tf.cast(value, "float32") for value in values.values()])))
        if self.log_gradient_norms:  # the last discriminator update's and the generator update's, summed
            #                          over the replicas as the optimizers apply them
            values["discriminator_gradient_norm"] = tf.linalg.global_norm(replicas.total(discriminator_gradients))
            values["generator_gradient_norm"] = tf.linalg.global_norm(replicas.total(generator_gradients))
        return replicas.fit_logs(self.record(**values))

    def discriminator_step(self, real_images, real_labels=None):
        """One update of the discriminator on a batch of real images (with their labels, in a
        conditional model) and as many generated ones, made for the same labels; the generator's
        weights are not updated. Returns ``(values to log, the gradients applied)``."""
        latent = self.sample_latent(tf.shape(real_images)[0], real_labels)
        # The generator runs in training mode, as in its own step (its batch-norm statistics
        # follow every generated batch; both steps draw from the same distribution).
        fake_images = self.perturb(self.generator(latent, training=True))
        real_images = self.perturb(real_images)
        with tf.GradientTape() as tape:
            # Real and fake go through in separate batches, so that batch norm in the
            # discriminator normalises each kind by its own statistics.
            real_scores, real_auxiliary = self.discriminate(real_images, real_labels)
            fake_scores, fake_auxiliary = self.discriminate(fake_images, real_labels)
            discriminator_loss = self.discriminator_loss_fn(real_scores, fake_scores)
            penalty = self.discriminator_penalty(real_images, fake_images, real_labels)
            auxiliary, _ = self.auxiliary_loss(latent, fake_auxiliary, real_labels, real_auxiliary)
            # Each replica's share of the global batch's loss (the optimizer sums the shares).
            total_loss = replicas.scale(discriminator_loss + penalty + auxiliary)
        gradients = tape.gradient(total_loss, self.discriminator.trainable_variables)
        self.discriminator_optimizer.apply(gradients, self.discriminator.trainable_variables)
        values = dict(discriminator_loss=discriminator_loss, real_score=tf.reduce_mean(real_scores),
                      fake_score=tf.reduce_mean(fake_scores))
        if self.penalty_fn is not None:
            values["penalty"] = penalty
        return values, gradients

    def generator_step(self, batch_size, labels=None):
        """One update of the generator on ``batch_size`` generated images (made for ``labels``,
        in a conditional model). The discriminator scores them in training mode, as in its own
        step (batch statistics, the same function it was trained as), and is not updated: its
        weights stay, and so do its batch-norm moving statistics, which describe the real and
        generated batches of its own updates only. Its other state moves on as in any training
        call (dropout's random state, spectral norm's power iteration, which belongs to the
        weights). Returns ``(values to log, the gradients applied)``."""
        latent = self.sample_latent(batch_size, labels)
        statistics = _batch_norm_statistics(self.discriminator)
        kept = [tf.identity(variable.value) for variable in statistics]  # read before the scoring pass
        with tf.GradientTape() as tape:
            generated = self.perturb(self.generator(latent, training=True))
            generated_scores, generated_auxiliary = self.discriminate(generated, labels)
            generator_loss = self.generator_loss_fn(generated_scores)
            auxiliary, auxiliary_logs = self.auxiliary_loss(latent, generated_auxiliary)
            total_loss = replicas.scale(generator_loss + auxiliary)
        for variable, value in zip(statistics, kept):  # undo what the scoring pass wrote
            variable.assign(value)
        gradients = tape.gradient(total_loss, self.generator.trainable_variables)
        self.generator_optimizer.apply(gradients, self.generator.trainable_variables)
        return dict(generator_loss=generator_loss, **auxiliary_logs), gradients

    def update_ema(self):
        """w_ema <- decay * w_ema + (1 - decay) * w, for every generator weight (batch-norm
        moving statistics included, so the EMA copy normalises with statistics that match)."""
        if self.ema_generator is None:
            return
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            average.assign(self.ema_decay * average + (1.0 - self.ema_decay) * weight)

    def read_last_step(self) -> dict:
        """This step's logged values as Python floats, fetched in one read (the history and the
        non-finite guard call it after every step, so it is kept to a single device copy)."""
        names = list(self.last_step_values)
        values = tf.stack([self.last_step_values[name].value for name in names]).numpy()
        return {name: float(value) for name, value in zip(names, values)}

    def record(self, **values):
        """Store this step's values for the history and fold them into the epoch means."""
        for name, value in values.items():
            self.last_step_values[name].assign(tf.cast(value, "float32"))
            self.loss_trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.loss_trackers.items()}

    # ------------------------------------------------------------------------ sampling
    def generate(self, latent, use_ema: bool = True):
        """Images in [-1, 1] for the given latent batch, in inference mode."""
        network = self.sampling_generator if use_ema else self.generator
        return network(latent, training=False)


def _batch_norm_statistics(network: keras.Model) -> list:
    """The moving means and variances of every batch-norm layer in ``network``, nested ones
    included (Keras' ``_flatten_layers``: ``layers`` lists only the top level)."""
    return [variable for layer in network._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)
            for variable in (layer.moving_mean, layer.moving_variance)]


def _per_step(batch, steps: int):
    """``[steps * batch, ...]`` -> ``[steps, batch, ...]``: one slice per discriminator step."""
    return tf.reshape(batch, tf.concat([[steps, -1], tf.shape(batch)[1:]], axis=0))


class ConditionalGAN(GAN):
    """A GAN that makes the digit it is asked for (Mirza & Osindero 2014).

    The generator's input is ``[z | one_hot(label)]`` (``latent_dim`` values in all, the last
    ``categories`` of them the label), so a conditional generator samples like any other; the
    discriminator takes ``[images, one_hot(labels)]`` and scores whether each image is a real
    instance of its label. A subclass whose discriminator classifies instead of reading the
    label (AC-GAN) overrides ``discriminate``.
    """

    conditional = True

    def __init__(self, generator, discriminator, latent_dim: int, categories: int = 10, **kwargs):
        if not 0 < categories < latent_dim:
            raise ValueError(f"need 0 < categories < latent_dim, got {categories} and {latent_dim}")
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.categories = int(categories)

    def sample_latent(self, batch_size, labels=None):
        noise = replicas.normal(batch_size, (self.latent_dim - self.categories,), self.seed_generator)
        return tf.concat([noise, tf.one_hot(labels, self.categories)], axis=-1)

    def discriminate(self, images, labels=None, training=True):
        return self.discriminator([images, tf.one_hot(labels, self.categories)], training=training), None


def adam_pair(config):
    """Adam for the generator and for the discriminator with a config's settings: the generator
    at ``generator_learning_rate`` when the config sets one, else at ``learning_rate``; the
    discriminator at ``learning_rate``; ``beta_1`` (and ``beta_2`` where the config has one,
    else Adam's 0.999) for both."""
    beta_2 = getattr(config, "beta_2", 0.999)
    generator_rate = getattr(config, "generator_learning_rate", None) or config.learning_rate
    return (keras.optimizers.Adam(generator_rate, beta_1=config.beta_1, beta_2=beta_2),
            keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1, beta_2=beta_2))


def assemble(
    config,
    generator: keras.Model,
    discriminator: keras.Model,
    generator_loss_fn,
    discriminator_loss_fn,
    name: str,
    optimizers=None,
    gan_class: type = GAN,
    num_discriminator_steps: int = 1,
    discriminator_penalty=None,
    model_kwargs: dict | None = None,
    **compile_kwargs,
) -> GAN:
    """The one way to build a GAN: every architecture's ``build_gan`` calls this.

    ``gan_class`` (:class:`GAN`, or a subclass with its own hooks) is made from the two networks
    and what ``config`` says of the step (``latent_dim``, ``ema_decay``, ``seed`` and the
    :class:`StepOptions`), with the keyword arguments it takes beyond the base class's as
    ``model_kwargs``, and compiled with the loss pair and ``optimizers``, a
    ``(generator, discriminator)`` pair (default: :func:`adam_pair`). Extra keyword arguments go
    to ``compile`` (``run_eagerly``, ``jit_compile``).
    """
    gan = gan_class(
        generator,
        discriminator,
        latent_dim=config.latent_dim,
        num_discriminator_steps=num_discriminator_steps,
        ema_decay=config.ema_decay,
        seed=config.seed,
        name=name,
        discriminator_penalty=discriminator_penalty,
        options=config,
        **(model_kwargs or {}),
    )
    generator_optimizer, discriminator_optimizer = optimizers or adam_pair(config)
    gan.compile(
        generator_optimizer=generator_optimizer,
        discriminator_optimizer=discriminator_optimizer,
        generator_loss_fn=generator_loss_fn,
        discriminator_loss_fn=discriminator_loss_fn,
        **compile_kwargs,
    )
    return gan
