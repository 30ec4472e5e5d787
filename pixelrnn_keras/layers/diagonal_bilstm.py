"""Diagonal BiLSTM (PixelRNN paper, section 3.2)."""

import keras
import tensorflow as tf

from pixelrnn_keras.layers.lstm import forget_bias, lstm_update
from pixelrnn_keras.layers.masked_conv import MaskedConv2D
from pixelrnn_keras.layers.recurrence import Recurrence
from pixelrnn_keras.layers.skew import skew, unskew


def shift_down(x, axis=1):
    """Shift a map down one step along `axis` (rows by default), filling the top with zeros."""
    paddings = [[0, 0]] * len(x.shape)
    paddings[axis] = [1, 0]
    end = [slice(None)] * len(x.shape)
    end[axis] = slice(None, -1)
    return tf.pad(x, paddings)[tuple(end)]


@keras.saving.register_keras_serializable(package="pixelrnn_keras")
class DiagonalBiLSTM(keras.layers.Layer):
    """Two diagonal LSTMs, left-to-right and right-to-left, that together see every earlier pixel.

    Each direction skews its map to (H, W + H - 1), takes a 1x1 input-to-state map computed
    for the whole image, and scans over the skewed columns with a 2x1 state-to-state
    convolution on rows i - 1 and i of the previous column, so that the state at pixel
    (i, j) follows (i, j - 1) and (i - 1, j) (left-to-right) or (i, j + 1) and (i - 1, j)
    (right-to-left). States outside the image are held at zero. Both directions run in one
    scan. The right-to-left output is shifted down one row before it is added, so it may
    read all of its own row: its input-to-state is unmasked and it also reads `row_context`
    (e.g. the image itself). Without that, no feature map of row i would ever hold the last
    pixel of row i - 1, and most of row i would never see it (the paper's literal design
    has this blind spot). The left-to-right input-to-state is masked (B) by colour group.

    Call arguments:
        inputs: (batch, height, width, in_features), grouped by colour.
        row_context: optional (batch, height, width, context_features) map whose row i
            depends only on rows <= i of the image; read by the right-to-left direction.

    Output shape: (batch, height, width, units).

    Args:
        units: hidden size h of each direction (at least `color_groups`).
        color_groups: 3 for RGB, 1 for grey or binary images.
        kernel_initializer: for all kernels.
    """

    def __init__(self, units, color_groups=3, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.color_groups = int(color_groups)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.left_input_to_state = MaskedConv2D(
            4 * self.units,
            1,
            mask_type="B",
            color_groups=self.color_groups,
            output_blocks=4,
            kernel_initializer=self.kernel_initializer,
            name="left_input_to_state",
        )
        self._recurrence = Recurrence(self.column_step)

    def build(self, inputs_shape, row_context_shape=None):
        self._inputs_shape = tuple(inputs_shape)
        self._context_shape = None if row_context_shape is None else tuple(row_context_shape)
        self.left_input_to_state.build(inputs_shape)
        right_in = int(inputs_shape[-1]) + (0 if row_context_shape is None else int(row_context_shape[-1]))
        self.right_input_to_state = self.add_weight(
            name="right_input_to_state", shape=(right_in, 4 * self.units), initializer=self.kernel_initializer
        )
        self.right_bias = self.add_weight(name="right_bias", shape=(4 * self.units,), initializer="zeros")
        # One 2x1 state-to-state kernel per direction, acting on [h(i - 1), h(i)] of the previous column.
        self.state_to_state = self.add_weight(
            name="state_to_state", shape=(2, 2 * self.units, 4 * self.units), initializer=self.kernel_initializer
        )

    def column_step(self, state, column, params):
        """Advance both directions by one skewed column: (hidden, cell) each (B, H, 2u)."""
        hidden, cell = state
        gates, valid = column
        (kernel,) = params
        u = self.units
        shape = tf.shape(hidden)
        pair = tf.reshape(tf.concat([shift_down(hidden), hidden], axis=-1), [-1, 4 * u])
        gates = tf.reshape(gates + tf.reshape(tf.matmul(pair, kernel), tf.shape(gates)), [shape[0], shape[1], 2, 4 * u])
        hidden, cell = lstm_update(gates, tf.reshape(cell, [shape[0], shape[1], 2, u]))
        return tf.reshape(hidden, shape) * valid, tf.reshape(cell, shape) * valid

    def get_build_config(self):
        return {"inputs_shape": self._inputs_shape, "row_context_shape": self._context_shape}

    def build_from_config(self, config):
        if config.get("inputs_shape") is not None:
            self.build(config["inputs_shape"], config.get("row_context_shape"))

    def input_gates(self, inputs, row_context=None):
        """Input-to-state pre-activations, (batch, H, W, 4u) for each direction (left, right)."""
        left = self.left_input_to_state(inputs)
        right_in = inputs if row_context is None else tf.concat([inputs, tf.cast(row_context, inputs.dtype)], -1)
        right = tf.tensordot(right_in, tf.cast(self.right_input_to_state, inputs.dtype), axes=1)
        right = right + tf.cast(self.right_bias, right.dtype)
        bias = forget_bias(self.units, left.dtype)
        return left + bias, right + bias

    def fused_state_kernel(self, dtype):
        """Both directions' 2x1 kernels as one block-diagonal (4u, 8u) matrix.

        Rows: [h(i - 1) left, h(i - 1) right, h(i) left, h(i) right]; columns: gates laid out
        (direction, gate, unit), so that one matmul and one `lstm_update` serve both directions.
        """
        u = self.units
        kernel = tf.reshape(tf.cast(self.state_to_state, dtype), [2, 2, u, 4 * u])  # (dir, tap, k, gates)
        fused = tf.einsum("dtkg,de->tdkeg", kernel, tf.eye(2, dtype=dtype))
        return tf.reshape(fused, [4 * u, 8 * u])

    def call(self, inputs, row_context=None):
        if (row_context is None) != (self._context_shape is None):
            raise ValueError("row_context must be given on every call if and only if it was given when building")
        u = self.units
        left, right = self.input_gates(inputs, row_context)
        # The right-to-left direction runs on the mirrored map.
        gates = tf.concat([left, tf.reverse(right, axis=[2])], axis=-1)  # (B, H, W, 8u)
        width = inputs.shape[2] if inputs.shape[2] is not None else tf.shape(inputs)[2]
        shape = tf.shape(inputs)
        batch, height = shape[0], shape[1]
        columns = tf.transpose(skew(gates), [2, 0, 1, 3])  # (T, B, H, 8u)
        steps = tf.shape(columns)[0]
        # valid[t, i]: skewed column t of row i holds a pixel of the image; states elsewhere stay zero.
        offset = tf.range(steps)[:, None] - tf.range(height)[None, :]
        valid = tf.cast((offset >= 0) & (offset < width), gates.dtype)[:, None, :, None]
        kernel = self.fused_state_kernel(gates.dtype)
        zeros = tf.zeros([batch, height, 2 * u], dtype=gates.dtype)
        hidden = self._recurrence((columns, valid), (zeros, zeros), (kernel,))
        hidden = unskew(tf.transpose(hidden, [1, 2, 0, 3]), width)  # (B, H, W, 2u)
        left, right = hidden[..., :u], tf.reverse(hidden[..., u:], axis=[2])
        out = left + shift_down(right)
        return tf.ensure_shape(out, [*inputs.shape[:3], u])

    def compute_output_shape(self, inputs_shape, row_context_shape=None):
        return (*inputs_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            color_groups=self.color_groups,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
