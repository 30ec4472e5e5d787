"""Residual blocks of the three PixelRNN networks (paper, section 3.3 and figure 5)."""

import keras
import tensorflow as tf

from pixelrnn_keras.layers.diagonal_bilstm import DiagonalBiLSTM
from pixelrnn_keras.layers.incremental import read_at
from pixelrnn_keras.layers.masked_conv import MaskedConv2D
from pixelrnn_keras.layers.row_lstm import RowLSTM

ARCHS = ("pixelcnn", "row_lstm", "diagonal_bilstm")


def check_arch(arch):
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    return arch


@keras.saving.register_keras_serializable(package="pixelrnn_keras")
class ResidualBlock(keras.layers.Layer):
    """2h features in, h inside, a 1x1 mask-B convolution back to 2h, input added.

    The inside is, by `arch`:
      - "pixelcnn": ReLU, 1x1 (2h -> h), ReLU, 3x3 mask-B convolution, ReLU;
      - "row_lstm": a `RowLSTM` of h units (k x 1 kernels);
      - "diagonal_bilstm": a `DiagonalBiLSTM` of h units, given `row_context`.

    With `condition_features` > 0 the block is conditional (multi-scale PixelRNN, paper
    section 3.4): a 1x1 unmasked convolution of the `condition` map is added to the
    input-to-state pre-activations of its core: the LSTM gates (4h; both directions' 8h for
    the Diagonal BiLSTM) or the output of PixelCNN's 3x3 mask-B convolution (h).

    Call arguments:
        inputs: (batch, height, width, 2 * hidden).
        row_context: only for "diagonal_bilstm"; see `DiagonalBiLSTM`.
        condition: (batch, height, width, condition_features), only when conditional; a map
            that does not depend on the image being modelled.

    Output shape: (batch, height, width, 2 * hidden).
    """

    def __init__(self, arch, hidden, color_groups=3, kernel_size=3, condition_features=0, **kwargs):
        super().__init__(**kwargs)
        self.arch = check_arch(arch)
        self.hidden = int(hidden)
        self.color_groups = int(color_groups)
        self.kernel_size = int(kernel_size)
        self.condition_features = int(condition_features)
        groups = self.color_groups
        if arch == "pixelcnn":
            self.reduce = MaskedConv2D(self.hidden, 1, "B", groups, name="reduce", dtype=self.dtype_policy)
            self.core = MaskedConv2D(self.hidden, self.kernel_size, "B", groups, name="conv", dtype=self.dtype_policy)
        elif arch == "row_lstm":
            self.core = RowLSTM(self.hidden, self.kernel_size, groups, name="row_lstm", dtype=self.dtype_policy)
        else:
            self.core = DiagonalBiLSTM(self.hidden, groups, name="diagonal_bilstm", dtype=self.dtype_policy)
        self.expand = MaskedConv2D(2 * self.hidden, 1, "B", groups, name="expand", dtype=self.dtype_policy)
        biased = {"pixelcnn": 1, "row_lstm": 4, "diagonal_bilstm": 8}[arch] * self.hidden
        self.condition_bias = (
            keras.layers.Dense(biased, name="condition_bias", dtype=self.dtype_policy)
            if self.condition_features
            else None
        )

    def build(self, inputs_shape, row_context_shape=None):
        inner_shape = (*inputs_shape[:-1], self.hidden)
        if self.arch == "pixelcnn":
            self.reduce.build(inputs_shape)
            self.core.build(inner_shape)
        elif self.arch == "row_lstm":
            self.core.build(inputs_shape)
        else:
            self.core.build(inputs_shape, row_context_shape)
        self.expand.build(inner_shape)
        if self.condition_bias is not None:
            self.condition_bias.build((*inputs_shape[:-1], self.condition_features))

    def _bias(self, condition):
        """The core's bias from the condition map, or None for an unconditional block."""
        if (condition is None) != (self.condition_bias is None):
            raise ValueError(
                f"condition must be a (batch, height, width, {self.condition_features}) map for a block "
                f"built with condition_features={self.condition_features}, and None otherwise"
            )
        return None if condition is None else self.condition_bias(condition)

    def call(self, inputs, row_context=None, condition=None):
        bias = self._bias(condition)
        if self.arch == "pixelcnn":
            inner = self.core(tf.nn.relu(self.reduce(tf.nn.relu(inputs))))
            inner = tf.nn.relu(inner if bias is None else inner + bias)
        elif self.arch == "row_lstm":
            inner = self.core(inputs, gate_bias=bias)
        else:
            inner = self.core(inputs, row_context, gate_bias=bias)
        return inputs + self.expand(inner)

    def compute_output_shape(self, inputs_shape, row_context_shape=None, condition_shape=None):
        return inputs_shape

    # One pixel at a time (see layers/incremental.py).

    def init_cache(self, batch, height, width, dtype, condition=None):
        """One cache per inner layer, in the order reduce (pixelcnn only), core, expand.

        A conditional block computes its bias map from `condition` here, once: the LSTM cores
        keep it in their caches, PixelCNN's block after its expand cache.
        """
        bias = self._bias(condition)
        bias = None if bias is None else tf.cast(bias, dtype)
        if self.arch == "pixelcnn":
            caches = tuple(layer.init_cache(batch, height, width, dtype) for layer in (self.reduce, self.core, self.expand))
            return caches if bias is None else (*caches, bias)
        return self.core.init_cache(batch, height, width, dtype, gate_bias=bias), self.expand.init_cache(
            batch, height, width, dtype
        )

    def step(self, cache, inputs, i, j):
        """Outputs at pixel (i, j), (batch, 2 * hidden), from its inputs (batch, 2 * hidden)."""
        if self.arch == "pixelcnn":
            reduce_cache, core_cache, expand_cache, *bias = cache
            inner, reduce_cache = self.reduce.step(reduce_cache, tf.nn.relu(inputs), i, j)
            inner, core_cache = self.core.step(core_cache, tf.nn.relu(inner), i, j)
            inner = tf.nn.relu(inner + read_at(bias[0], i, j) if bias else inner)
            outputs, expand_cache = self.expand.step(expand_cache, inner, i, j)
            return inputs + outputs, (reduce_cache, core_cache, expand_cache, *bias)
        core_cache, expand_cache = cache
        inner, core_cache = self.core.step(core_cache, inputs, i, j)
        outputs, expand_cache = self.expand.step(expand_cache, inner, i, j)
        return inputs + outputs, (core_cache, expand_cache)

    def end_row(self, cache, i, row_context=None):
        """Row i is complete; `row_context` (batch, width, context_features) only for "diagonal_bilstm"."""
        if self.arch == "pixelcnn":
            return cache
        core_cache, expand_cache = cache
        if self.arch == "row_lstm":
            return self.core.end_row(core_cache, i), expand_cache
        return self.core.end_row(core_cache, i, row_context), expand_cache

    def get_config(self):
        config = super().get_config()
        config.update(
            arch=self.arch,
            hidden=self.hidden,
            color_groups=self.color_groups,
            kernel_size=self.kernel_size,
            condition_features=self.condition_features,
        )
        return config
