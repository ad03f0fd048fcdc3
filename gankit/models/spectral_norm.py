"""Spectral normalisation of a discriminator's layers (Miyato et al. 2018).

Each wrapped kernel ``W`` is used as ``W / sigma(W)``, its largest singular value estimated by
one step of power iteration per training call from a persistent vector ``u``. The division is
inside the forward pass, so gradients flow through ``sigma`` as in the paper. (Keras' own
``SpectralNormalization`` instead writes the normalised kernel back into the variable and
differentiates as if the kernel were constant, and draws ``u`` without a seed.)

Every layer of the discriminator then has a spectral norm of at most about 1, which bounds the
network's Lipschitz constant; the paper trains it without batch norm.
"""

from __future__ import annotations

import keras
from keras import layers, ops


class SpectralNormalization(layers.Layer):
    """Wraps a ``Conv2D`` or ``Dense`` (no activation) and normalises its kernel by its
    largest singular value. ``seed`` seeds the power iteration's starting vector."""

    def __init__(self, layer, seed: int, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, (layers.Conv2D, layers.Dense)) or layer.activation is not keras.activations.linear:
            raise ValueError(f"spectral normalisation wraps a Conv2D or Dense without activation, got {layer!r}")
        self.layer = layer
        self.seed = seed

    def build(self, input_shape):
        self.layer.build(input_shape)
        self.u = self.add_weight(
            shape=(1, self.layer.kernel.shape[-1]), trainable=False, name="u",
            initializer=keras.initializers.RandomNormal(seed=self.seed),
        )

    def normalized_kernel(self):
        """``(W / sigma, u)``: the kernel divided by its estimated spectral norm, and the power
        iteration's next vector (stored when training)."""
        kernel = self.layer.kernel
        matrix = ops.reshape(kernel, (-1, kernel.shape[-1]))  # [fan_in, units]
        u = self.u
        v = _unit(ops.matmul(u, ops.transpose(matrix)))  # [1, fan_in]
        u = _unit(ops.matmul(v, matrix))  # [1, units]
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        sigma = ops.sum(ops.matmul(v, matrix) * u)
        return kernel / sigma, u

    def call(self, inputs, training=False):
        kernel, u = self.normalized_kernel()
        if training:
            self.u.assign(u)
        layer = self.layer
        if isinstance(layer, layers.Conv2D):
            outputs = ops.conv(inputs, kernel, strides=layer.strides, padding=layer.padding,
                               data_format=layer.data_format, dilation_rate=layer.dilation_rate)
        else:
            outputs = ops.matmul(inputs, kernel)
        if layer.use_bias:
            outputs = outputs + layer.bias
        return outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)


def _unit(vector, epsilon: float = 1e-12):
    return vector / (ops.sqrt(ops.sum(ops.square(vector))) + epsilon)
