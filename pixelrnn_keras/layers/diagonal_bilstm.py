"""Diagonal BiLSTM (PixelRNN paper, section 3.2)."""

import keras
import tensorflow as tf

from pixelrnn_keras.layers.cores import conv_flops, core_arguments_config, register_core, set_core_arguments
from pixelrnn_keras.layers.diagonal_layout import diagonal_layout
from pixelrnn_keras.layers.incremental import read_at, write_at
from pixelrnn_keras.layers.lstm import forget_bias, lstm_update
from pixelrnn_keras.layers.lstm_scan import shared_lstm_scan
from pixelrnn_keras.layers.masked_conv import MaskedConv2D
from pixelrnn_keras.layers.masks import FeatureAxis


def shift_down(x, axis=1):
    """Shift a map down one step along `axis` (rows by default), filling the top with zeros."""
    paddings = [[0, 0]] * len(x.shape)
    paddings[axis] = [1, 0]
    end = [slice(None)] * len(x.shape)
    end[axis] = slice(None, -1)
    return tf.pad(x, paddings)[tuple(end)]


@register_core("diagonal_bilstm")
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
        gate_bias: optional (batch, height, width, 8 * units) map added to the input-to-state
            pre-activations: features [:4u] to the left-to-right gates, [4u:] to the
            right-to-left ones (e.g. from a conditioning image, which must not depend on the
            image being modelled).

    Output shape: (batch, height, width, units).

    Args:
        units: hidden size h of each direction (at least `color_groups`).
        color_groups: 3 for RGB, 1 for grey or binary images.
        kernel_initializer: for all kernels.
    """

    reduces_input = False
    reads_row_context = True
    side_stream = False
    gate_bias_per_unit = 8  # both directions' gates
    scans_lstm = True

    def __init__(self, units, color_groups=3, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        set_core_arguments(self, units, color_groups, kernel_initializer)
        self.left_input_to_state = MaskedConv2D(
            4 * self.units,
            1,
            mask_type="B",
            color_groups=self.color_groups,
            output_blocks=4,
            kernel_initializer=self.kernel_initializer,
            name="left_input_to_state",
            dtype=self.dtype_policy,
        )
        # Each state reads rows i - 1 and i of the previous column.
        self._scan = shared_lstm_scan((-1, 0))

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

    def feature_axes(self):
        """How the weights' axes run over features, for widening a trained network (models/widening.py):
        the right-to-left input-to-state reads the inputs and then `row_context`'s features; each
        direction's state-to-state reads [h(i - 1), h(i)]."""
        gates = FeatureAxis(blocks=4)
        context = 0 if self._context_shape is None else self._context_shape[-1]
        return {
            "right_input_to_state": (FeatureAxis(reads=True, fixed_tail=context), gates),
            "right_bias": (gates,),
            "state_to_state": (None, FeatureAxis(blocks=2, reads=True), gates),
        }

    @classmethod
    def for_block(cls, hidden, color_groups, kernel_size, **kwargs):
        return cls(hidden, color_groups, **kwargs)  # its kernels are 1x1 and 2x1 whatever kernel_size

    @staticmethod
    def forward_flops(height, width, hidden, channels, kernel_size):
        """Counted on the H x W pixels (not on the skewed H x (2W - 1) map): left-to-right
        input-to-state 1x1 (2h -> 4h), right-to-left 1x1 (2h + C -> 4h), and each direction's
        state-to-state 2x1 of h -> 4h per pixel."""
        left = conv_flops(height, width, 1, 1, 2 * hidden, 4 * hidden)
        right = conv_flops(height, width, 1, 1, 2 * hidden + channels, 4 * hidden)
        return left + right + 2 * conv_flops(height, width, 2, 1, hidden, 4 * hidden)

    def get_build_config(self):
        return {"inputs_shape": self._inputs_shape, "row_context_shape": self._context_shape}

    def build_from_config(self, config):
        if config.get("inputs_shape") is not None:
            self.build(config["inputs_shape"], config.get("row_context_shape"))

    def input_gates(self, inputs, row_context=None, gate_bias=None):
        """Input-to-state pre-activations, (batch, H, W, 4u) for each direction (left, right)."""
        left = self.left_input_to_state(inputs)
        right_in = inputs if row_context is None else tf.concat([inputs, tf.cast(row_context, inputs.dtype)], -1)
        right = tf.tensordot(right_in, tf.cast(self.right_input_to_state, inputs.dtype), axes=1)
        right = right + tf.cast(self.right_bias, right.dtype)
        bias = forget_bias(self.units, left.dtype)
        left, right = left + bias, right + bias
        if gate_bias is not None:
            gate_bias = tf.cast(gate_bias, left.dtype)
            left, right = left + gate_bias[..., : 4 * self.units], right + gate_bias[..., 4 * self.units :]
        return left, right

    def call(self, inputs, row_context=None, gate_bias=None):
        if (row_context is None) != (self._context_shape is None):
            raise ValueError("row_context must be given on every call if and only if it was given when building")
        left, right = self.input_gates(inputs, row_context, gate_bias)
        layout = diagonal_layout(*inputs.shape[1:3])
        height, width = (inputs.shape[k] or tf.shape(inputs)[k] for k in (1, 2))
        # The recurrence runs in float32 under any policy: XLA's bfloat16 scan is no faster on CPU,
        # and a state carried over H + W - 1 steps would accumulate bfloat16 rounding.
        scan_dtype = tf.float32
        left, right = tf.cast(left, scan_dtype), tf.cast(right, scan_dtype)
        kernel = tf.cast(self.state_to_state, scan_dtype)
        gates, valid = layout.to_chunks(left, right), layout.valid(height, width, scan_dtype)
        hidden = self._scan(gates, kernel, valid, layout.chunks)
        left, right = tf.unstack(layout.to_image(hidden, height, width))
        return tf.cast(left + shift_down(right), inputs.dtype)

    def compute_output_shape(self, inputs_shape, row_context_shape=None):
        return (*inputs_shape[:-1], self.units)

    # One pixel at a time (see layers/incremental.py). The left-to-right state advances with
    # every pixel; the right-to-left one runs over each row once it is complete (`end_row`),
    # which is all that the next row's outputs need.

    def init_cache(self, batch, height, width, dtype, gate_bias=None):
        """(weights, left input-to-state cache, state) for `step`, and `gate_bias` (as in `call`) if given.

        weights: the left-to-right and right-to-left state-to-state kernels, (2u, 4u) each, with
        rows [h(i - 1, j), h(i, j -/+ 1)], and the forget-gate offset (4u,).
        state: left-to-right hidden of the row above, already of row i left of (i, j), (batch, width, u);
        left-to-right hidden and cell at (i, j - 1), (batch, u) each; inputs of the current row,
        (batch, width, in_features); right-to-left hidden of the row above, (batch, width, u).
        """
        kernel = tf.cast(self.state_to_state, dtype)
        weights = (kernel[0], kernel[1], forget_bias(self.units, dtype))
        row = tf.zeros([batch, width, self.units], dtype)
        pixel = tf.zeros([batch, self.units], dtype)
        inputs = tf.zeros([batch, width, self._inputs_shape[-1]], dtype)
        input_cache = self.left_input_to_state.init_cache(batch, height, width, dtype)
        cache = weights, input_cache, (row, pixel, pixel, inputs, row)
        return cache if gate_bias is None else (*cache, tf.cast(gate_bias, dtype))

    def step(self, cache, inputs, i, j):
        """Output at pixel (i, j), (batch, u), from its inputs (batch, in_features)."""
        weights, input_cache, (hidden_above, hidden_left, cell_left, row_inputs, right_above), *gate_bias = cache
        left_kernel, _, bias = weights
        gates, input_cache = self.left_input_to_state.step(input_cache, inputs, i, j)
        if gate_bias:
            gates = gates + read_at(gate_bias[0], i, j)[:, : 4 * self.units]
        pair = tf.concat([read_at(hidden_above, j), hidden_left], axis=-1)
        hidden, cell = lstm_update(gates + bias + tf.matmul(pair, left_kernel), cell_left)
        # The right-to-left hidden state enters shifted down one row.
        outputs = hidden + read_at(right_above, j)
        state = write_at(hidden_above, hidden, j), hidden, cell, write_at(row_inputs, inputs, j), right_above
        return outputs, (weights, input_cache, state, *gate_bias)

    def end_row(self, cache, i, row_context=None):
        """Runs the right-to-left direction over the complete row i.

        Args:
            row_context: (batch, width, context_features), row i of the `row_context` map.
        """
        weights, input_cache, (hidden_above, hidden_left, _, row_inputs, right_above), *gate_bias = cache
        _, right_kernel, _ = weights
        context = None if row_context is None else row_context[:, None]
        row_bias = read_at(gate_bias[0], i)[:, None] if gate_bias else None  # (batch, 1, width, 8u)
        _, gates = self.input_gates(row_inputs[:, None], context, row_bias)  # (batch, 1, width, 4u), biases included

        def right_step(state, column):
            hidden, cell = state
            gates, above = column
            return lstm_update(gates + tf.matmul(tf.concat([above, hidden], axis=-1), right_kernel), cell)

        # Scan from the last column to the first, over (width, batch, ...) slices.
        columns = tuple(tf.reverse(tf.transpose(x, [1, 0, 2]), [0]) for x in (gates[:, 0], right_above))
        zeros = tf.zeros_like(hidden_left)
        hidden, _ = tf.scan(right_step, columns, initializer=(zeros, zeros))
        right_row = tf.transpose(tf.reverse(hidden, [0]), [1, 0, 2])
        return weights, input_cache, (hidden_above, zeros, zeros, row_inputs, right_row), *gate_bias

    def get_config(self):
        config = super().get_config()
        config.update(core_arguments_config(self))
        return config
