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
            self.reduce = MaskedConv2D(self.hidden, 1, "B", groups, name="reduce")
            self.core = MaskedConv2D(self.hidden, self.kernel_size, "B", groups, name="conv")
        elif arch == "row_lstm":
            self.core = RowLSTM(self.hidden, self.kernel_size, groups, name="row_lstm")
        else:
            self.core = DiagonalBiLSTM(self.hidden, groups, name="diagonal_bilstm")
        self.expand = MaskedConv2D(2 * self.hidden, 1, "B", groups, name="expand")

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

    def get_config(self):
        config = super().get_config()
        config.update(arch=self.arch, hidden=self.hidden, color_groups=self.color_groups, kernel_size=self.kernel_size)
        return config
