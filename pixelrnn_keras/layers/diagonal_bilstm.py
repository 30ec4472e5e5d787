"""Diagonal BiLSTM (PixelRNN paper, section 3.2)."""

import keras
import tensorflow as tf

from pixelrnn_keras.layers.lstm import lstm_update
from pixelrnn_keras.layers.masked_conv import MaskedConv2D
from pixelrnn_keras.layers.skew import skew, unskew


def shift_down(x, axis=1):
    """Shift a map down one step along `axis` (rows by default), filling the top with zeros."""
    paddings = [[0, 0]] * len(x.shape)
    paddings[axis] = [1, 0]
    size = tf.shape(x)[axis]
    return tf.gather(tf.pad(x, paddings), tf.range(size), axis=axis)


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

    def build(self, inputs_shape, row_context_shape=None):
        self._inputs_shape = tuple(inputs_shape)
        self._context_shape = None if row_context_shape is None else tuple(row_context_shape)
        self.left_input_to_state.build(inputs_shape)
        right_in = int(inputs_shape[-1]) + (0 if row_context_shape is None else int(row_context_shape[-1]))
        self.right_input_to_state = self.add_weight(
            name="right_input_to_state", shape=(right_in, 4 * self.units), initializer=self.kernel_initializer
        )
        self.right_bias = self.add_weight(name="right_bias", shape=(4 * self.units,), initializer="zeros")
        # One 2x1 state-to-state kernel per direction, acting on [h(i - 1), h(i)].
        self.state_to_state = self.add_weight(
            name="state_to_state", shape=(2, 2 * self.units, 4 * self.units), initializer=self.kernel_initializer
        )

    def get_build_config(self):
        return {"inputs_shape": self._inputs_shape, "row_context_shape": self._context_shape}

    def build_from_config(self, config):
        if config.get("inputs_shape") is not None:
            self.build(config["inputs_shape"], config.get("row_context_shape"))

    def input_gates(self, inputs, row_context=None):
        """Input-to-state pre-activations, (2, batch, H, W, 4u): left-to-right, then right-to-left."""
        left = self.left_input_to_state(inputs)
        right_in = inputs if row_context is None else tf.concat([inputs, tf.cast(row_context, inputs.dtype)], -1)
        right = tf.tensordot(right_in, tf.cast(self.right_input_to_state, inputs.dtype), axes=1)
        right = right + tf.cast(self.right_bias, right.dtype)
        return tf.stack([left, right], axis=0)

    def state_gates(self, hidden):
        """(2, n, H, u) states of the previous column -> (2, n, H, 4u) state-to-state pre-activations."""
        pair = tf.concat([shift_down(hidden, axis=2), hidden], axis=-1)
        return tf.einsum("dnhk,dkg->dnhg", pair, tf.cast(self.state_to_state, hidden.dtype))

    def call(self, inputs, row_context=None):
        if (row_context is None) != (self._context_shape is None):
            raise ValueError("row_context must be given on every call if and only if it was given when building")
        gates = self.input_gates(inputs, row_context)  # (2, B, H, W, 4u)
        width = inputs.shape[2] if inputs.shape[2] is not None else tf.shape(inputs)[2]
        # The right-to-left direction runs on the mirrored map.
        gates = tf.stack([gates[0], tf.reverse(gates[1], axis=[2])], axis=0)
        shape = tf.shape(gates)
        batch, height = shape[1], shape[2]
        skewed = skew(tf.reshape(gates, [2 * batch, height, shape[3], 4 * self.units]))
        columns = tf.reshape(skewed, [2, batch, height, -1, 4 * self.units])
        columns = tf.transpose(columns, [3, 0, 1, 2, 4])  # (T, 2, B, H, 4u)
        steps = tf.shape(columns)[0]
        # valid[t, i]: skewed column t of row i holds a pixel of the image.
        offset = tf.range(steps)[:, None] - tf.range(height)[None, :]
        valid = tf.cast((offset >= 0) & (offset < width), gates.dtype)[:, None, None, :, None]
        zeros = tf.zeros([2, batch, height, self.units], dtype=gates.dtype)

        def step(state, column):
            hidden, cell = state
            gates_t, valid_t = column
            hidden, cell = lstm_update(gates_t + self.state_gates(hidden), cell)
            return hidden * valid_t, cell * valid_t

        hidden, _ = tf.scan(step, (columns, valid), initializer=(zeros, zeros))
        hidden = tf.transpose(hidden, [1, 2, 3, 0, 4])  # (2, B, H, T, u)
        hidden = unskew(tf.reshape(hidden, [2 * batch, height, -1, self.units]), width)
        hidden = tf.reshape(hidden, [2, batch, height, width, self.units])
        left, right = hidden[0], tf.reverse(hidden[1], axis=[2])
        out = left + shift_down(right, axis=1)
        return tf.ensure_shape(out, [*inputs.shape[:3], self.units])

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
