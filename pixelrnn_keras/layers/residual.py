"""Residual blocks of the three PixelRNN networks (paper, section 3.3 and figure 5)."""

import keras
import tensorflow as tf

from pixelrnn_keras.layers.diagonal_bilstm import DiagonalBiLSTM
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

    Call arguments:
        inputs: (batch, height, width, 2 * hidden).
        row_context: only for "diagonal_bilstm"; see `DiagonalBiLSTM`.

    Output shape: (batch, height, width, 2 * hidden).
    """

    def __init__(self, arch, hidden, color_groups=3, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.arch = check_arch(arch)
        self.hidden = int(hidden)
        self.color_groups = int(color_groups)
        self.kernel_size = int(kernel_size)
        groups = self.color_groups
        if arch == "pixelcnn":
            self.reduce = MaskedConv2D(self.hidden, 1, "B", groups, name="reduce", dtype=self.dtype_policy)
            self.core = MaskedConv2D(self.hidden, self.kernel_size, "B", groups, name="conv", dtype=self.dtype_policy)
        elif arch == "row_lstm":
            self.core = RowLSTM(self.hidden, self.kernel_size, groups, name="row_lstm", dtype=self.dtype_policy)
        else:
            self.core = DiagonalBiLSTM(self.hidden, groups, name="diagonal_bilstm", dtype=self.dtype_policy)
        self.expand = MaskedConv2D(2 * self.hidden, 1, "B", groups, name="expand", dtype=self.dtype_policy)

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

    def call(self, inputs, row_context=None):
        if self.arch == "pixelcnn":
            inner = tf.nn.relu(self.core(tf.nn.relu(self.reduce(tf.nn.relu(inputs)))))
        elif self.arch == "row_lstm":
            inner = self.core(inputs)
        else:
            inner = self.core(inputs, row_context)
        return inputs + self.expand(inner)

    def compute_output_shape(self, inputs_shape, row_context_shape=None):
        return inputs_shape

    # One pixel at a time (see layers/incremental.py).

    def _step_layers(self):
        return (self.reduce, self.core, self.expand) if self.arch == "pixelcnn" else (self.core, self.expand)

    def init_cache(self, batch, height, width, dtype):
        """One cache per inner layer, in the order reduce (pixelcnn only), core, expand."""
        return tuple(layer.init_cache(batch, height, width, dtype) for layer in self._step_layers())

    def step(self, cache, inputs, i, j):
        """Outputs at pixel (i, j), (batch, 2 * hidden), from its inputs (batch, 2 * hidden)."""
        if self.arch == "pixelcnn":
            reduce_cache, core_cache, expand_cache = cache
            inner, reduce_cache = self.reduce.step(reduce_cache, tf.nn.relu(inputs), i, j)
            inner, core_cache = self.core.step(core_cache, tf.nn.relu(inner), i, j)
            inner = tf.nn.relu(inner)
            inner_caches = (reduce_cache, core_cache)
        else:
            core_cache, expand_cache = cache
            inner, core_cache = self.core.step(core_cache, inputs, i, j)
            inner_caches = (core_cache,)
        outputs, expand_cache = self.expand.step(expand_cache, inner, i, j)
        return inputs + outputs, (*inner_caches, expand_cache)

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
        config.update(arch=self.arch, hidden=self.hidden, color_groups=self.color_groups, kernel_size=self.kernel_size)
        return config
