"""PixelCNN's core (PixelRNN paper, section 3.4): a k x k mask-B convolution and a ReLU."""

import keras
import tensorflow as tf

from pixelrnn_keras.layers.cores import conv_flops, register_core
from pixelrnn_keras.layers.incremental import read_at
from pixelrnn_keras.layers.masked_conv import MaskedConv2D
from pixelrnn_keras.layers.wavefront import columns_of


@register_core("pixelcnn")
@keras.saving.register_keras_serializable(package="pixelrnn_keras")
class PixelCNNCore(MaskedConv2D):
    """ReLU(k x k mask-B convolution + gate_bias): the inside of a PixelCNN residual block,
    after the block's 1x1 reduction to h maps (`reduces_input`).

    Call arguments:
        inputs: (batch, height, width, h).
        row_context: unused (the interface of every core; see layers/cores.py).
        gate_bias: optional (batch, height, width, h) map added before the ReLU.

    Output shape: (batch, height, width, h).
    """

    reduces_input = True
    reads_row_context = False
    side_stream = False
    gate_bias_per_unit = 1
    scans_lstm = False

    @classmethod
    def for_block(cls, hidden, color_groups, kernel_size, **kwargs):
        return cls(hidden, kernel_size, "B", color_groups, **kwargs)

    @property
    def units(self):
        return self.filters

    def call(self, inputs, row_context=None, gate_bias=None):
        outputs = super().call(inputs)
        return tf.nn.relu(outputs if gate_bias is None else outputs + gate_bias)

    def init_cache(self, batch, height, width, dtype, gate_bias=None):
        """The convolution's cache, and `gate_bias` (as in `call`) if given."""
        cache = (super().init_cache(batch, height, width, dtype),)
        return cache if gate_bias is None else (*cache, tf.cast(gate_bias, dtype))

    def step(self, cache, inputs, i, j):
        conv_cache, *gate_bias = cache
        outputs, conv_cache = super().step(conv_cache, inputs, i, j)
        outputs = tf.nn.relu(outputs + read_at(gate_bias[0], i, j) if gate_bias else outputs)
        return outputs, (conv_cache, *gate_bias)

    def end_row(self, cache, i, row_context=None):
        return cache

    def wave_init_cache(self, batch, wave, dtype, gate_bias=None):
        cache = (super().wave_init_cache(batch, wave, dtype),)
        return cache if gate_bias is None else (*cache, tf.cast(gate_bias, dtype))

    def wave_begin(self, cache, at):
        conv_cache, *gate_bias = cache
        bias = at.read(gate_bias[0]) if gate_bias else None
        return super().wave_begin(conv_cache, at), bias, gate_bias

    def wave_group(self, state, inputs, group):
        conv_state, bias, gate_bias = state
        outputs, conv_state = super().wave_group(conv_state, inputs, group)
        if bias is not None:
            outputs = outputs + columns_of(bias, self._groups(self.kernel.shape[2])[0][group])
        return tf.nn.relu(outputs), (conv_state, bias, gate_bias)

    def wave_end(self, state):
        conv_state, _, gate_bias = state
        return super().wave_end(conv_state), *gate_bias

    @staticmethod
    def forward_flops(height, width, hidden, channels, kernel_size):
        return conv_flops(height, width, kernel_size, kernel_size, hidden, hidden)
