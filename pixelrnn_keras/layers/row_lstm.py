"""Row LSTM (PixelRNN paper, section 3.1)."""

import keras
import tensorflow as tf

from pixelrnn_keras.layers.cores import conv_flops, core_arguments_config, register_core, set_core_arguments
from pixelrnn_keras.layers.incremental import read_at, read_window, write_at
from pixelrnn_keras.layers.lstm import forget_bias, lstm_update
from pixelrnn_keras.layers.lstm_scan import forward_only_active, shared_lstm_scan
from pixelrnn_keras.layers.masked_conv import MaskedConv2D
from pixelrnn_keras.layers.masks import FeatureAxis
from pixelrnn_keras.layers.wavefront import (
    columns_of,
    group_columns,
    group_major,
    group_slice,
    ring_taps,
    ring_write,
    ring_zeros,
)


@register_core("row_lstm")
@keras.saving.register_keras_serializable(package="pixelrnn_keras")
class RowLSTM(keras.layers.Layer):
    """LSTM that processes the image one row at a time, top to bottom.

    Input-to-state: a (1, k) mask-B convolution along the row, for the whole map at once.
    State-to-state: a (1, k) unmasked convolution of the previous row's hidden state,
    written as one matmul on [h(j - k//2), ..., h(j + k//2)] (fast to train, also under XLA).
    Each hidden state sees a triangle of rows above and, through the input map, the
    pixels to its left; colour group g of every gate sees colours <= g of its own pixel.

    Call arguments:
        inputs: (batch, height, width, in_features).
        row_context: unused (the interface of every core; see layers/cores.py).
        gate_bias: optional (batch, height, width, 4 * units) map added to the input-to-state
            pre-activations, e.g. from a conditioning image (it must not depend on the image
            being modelled, or causality is lost).

    Output shape: (batch, height, width, units).

    Args:
        units: hidden size h (at least `color_groups`).
        kernel_size: odd k of both k x 1 convolutions (paper: 3).
        color_groups: 3 for RGB, 1 for grey or binary images.
        kernel_initializer: for both convolutions.
    """

    reduces_input = False
    reads_row_context = False
    side_stream = False
    gate_bias_per_unit = 4
    scans_lstm = True

    def __init__(self, units, kernel_size=3, color_groups=3, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        set_core_arguments(self, units, color_groups, kernel_initializer, kernel_size)
        self.input_to_state = MaskedConv2D(
            4 * self.units,
            (1, self.kernel_size),
            mask_type="B",
            color_groups=self.color_groups,
            output_blocks=4,
            kernel_initializer=self.kernel_initializer,
            name="input_to_state",
            dtype=self.dtype_policy,
        )
        half = self.kernel_size // 2
        self._scan = shared_lstm_scan(tuple(range(-half, half + 1)))

    def build(self, input_shape):
        self.input_to_state.build(input_shape)
        self.state_to_state = self.add_weight(
            name="state_to_state",
            shape=(self.kernel_size * self.units, 4 * self.units),
            initializer=self.kernel_initializer,
        )

    def feature_axes(self):
        """How the weights' axes run over features, for widening a trained network (models/widening.py):
        the state-to-state kernel reads k taps of h, tap by tap, into the four gates."""
        return {"state_to_state": (FeatureAxis(blocks=self.kernel_size, reads=True), FeatureAxis(blocks=4))}

    @classmethod
    def for_block(cls, hidden, color_groups, kernel_size, **kwargs):
        return cls(hidden, kernel_size, color_groups, **kwargs)

    @staticmethod
    def forward_flops(height, width, hidden, channels, kernel_size):
        """Input-to-state (1 x k, 2h -> 4h) and state-to-state (k taps of h -> 4h) per pixel."""
        return conv_flops(height, width, 1, kernel_size, 2 * hidden, 4 * hidden) + conv_flops(
            height, width, 1, kernel_size, hidden, 4 * hidden
        )

    def call(self, inputs, row_context=None, gate_bias=None):
        gates_in = self.input_to_state(inputs)  # (B, H, W, 4u)
        gates_in = gates_in + forget_bias(self.units, gates_in.dtype)
        if gate_bias is not None:
            gates_in = gates_in + tf.cast(gate_bias, gates_in.dtype)
        # The recurrence runs in float32 under any policy (see DiagonalBiLSTM.call).
        gates_in = tf.cast(gates_in, tf.float32)
        kernel = tf.cast(self.state_to_state, tf.float32)[None]
        if forward_only_active():
            # Rows first, each image's row kept whole (H, 1, B, W, 4u): a cheap transpose; the
            # compiled loop swaps each row to its (W, B) order, fused with the step's arithmetic.
            hidden = self._scan(tf.transpose(gates_in, [1, 0, 2, 3])[:, None], kernel, batch_major=True)
            return tf.cast(tf.transpose(hidden[:, 0], [1, 0, 2, 3]), inputs.dtype)
        rows = tf.transpose(gates_in, [1, 2, 0, 3])[:, None]  # (H, 1, W, B, 4u)
        hidden = self._scan(rows, kernel)
        return tf.cast(tf.transpose(hidden[:, 0], [2, 0, 1, 3]), inputs.dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    # One pixel at a time (see layers/incremental.py).

    def init_cache(self, batch, height, width, dtype, gate_bias=None):
        """(weights, input-to-state cache, state) for `step`, and `gate_bias` (as in `call`) if given.

        weights: (state-to-state kernel (k * u, 4u), forget-gate offset (4u,)).
        state: hidden of the row above zero-padded to (batch, width + k - 1, u), its cell
        (batch, width, u), and the same two for the current row.
        """
        weights = (tf.cast(self.state_to_state, dtype), forget_bias(self.units, dtype))
        hidden = tf.zeros([batch, width + self.kernel_size - 1, self.units], dtype)
        cell = tf.zeros([batch, width, self.units], dtype)
        cache = weights, self.input_to_state.init_cache(batch, height, width, dtype), (hidden, cell, hidden, cell)
        return cache if gate_bias is None else (*cache, tf.cast(gate_bias, dtype))

    def step(self, cache, inputs, i, j):
        """Hidden state at pixel (i, j), (batch, u), from its inputs (batch, in_features)."""
        (kernel, bias), input_cache, (hidden_above, cell_above, hidden_row, cell_row), *gate_bias = cache
        gates, input_cache = self.input_to_state.step(input_cache, inputs, i, j)
        if gate_bias:
            gates = gates + read_at(gate_bias[0], i, j)
        # Padded columns j .. j + k - 1 are the image's j - k//2 .. j + k//2.
        taps = read_window(hidden_above, [j], [self.kernel_size])
        recurrent = tf.matmul(tf.reshape(taps, [-1, self.kernel_size * self.units]), kernel)
        hidden, cell = lstm_update(gates + bias + recurrent, read_at(cell_above, j))
        hidden_row = write_at(hidden_row, hidden, j + self.kernel_size // 2)
        cell_row = write_at(cell_row, cell, j)
        state = (hidden_above, cell_above, hidden_row, cell_row)
        return hidden, ((kernel, bias), input_cache, state, *gate_bias)

    def end_row(self, cache, i, row_context=None):
        """Row i is complete: it becomes the row above."""
        weights, input_cache, (_, _, hidden_row, cell_row), *gate_bias = cache
        return weights, input_cache, (hidden_row, cell_row, hidden_row, cell_row), *gate_bias

    # A diagonal of pixels at a time (see layers/wavefront.py).

    def _taps_above(self):
        """The state-to-state kernel's taps: the k pixels of the row above around the pixel's column."""
        half = self.kernel_size // 2
        return [(-1, dc) for dc in range(-half, half + 1)]

    def _gate_columns(self):
        """Each colour group's gate pre-activations, [i, f, o, g] of its units."""
        return group_columns(4 * self.units, self.color_groups, 4)

    def wave_init_cache(self, batch, wave, dtype, gate_bias=None):
        """As `init_cache`'s, the state being rings of the hidden and cell states and the last step's
        (slots * batch, u) of both; the gates' columns `group_major`."""
        gates = self._gate_columns()
        weights = (
            group_major(tf.cast(self.state_to_state, dtype), gates),
            group_major(forget_bias(self.units, dtype), gates),
        )
        last = tf.zeros([wave.slots * batch, self.units], dtype)
        hidden = ring_zeros(wave, batch, self.units, self._taps_above(), dtype)
        cell = ring_zeros(wave, batch, self.units, [(-1, 0)], dtype)
        input_cache = self.input_to_state.wave_init_cache(batch, wave, dtype)
        cache = weights, input_cache, (hidden, cell, last, last)
        return cache if gate_bias is None else (*cache, tf.cast(gate_bias, dtype))

    def wave_begin(self, cache, at):
        """The step's state: the recurrent part of the gates and the cells above, from the rings."""
        (kernel, bias), input_cache, (hidden_ring, cell_ring, last_hidden, last_cell), *gate_bias = cache
        taps = self._taps_above()
        hidden_ring = ring_write(hidden_ring, last_hidden, at.previous(), taps)
        cell_ring = ring_write(cell_ring, last_cell, at.previous(), [(-1, 0)])
        recurrent = tf.matmul(ring_taps(hidden_ring, at, taps), kernel) + bias
        if gate_bias:
            recurrent = recurrent + group_major(at.read(gate_bias[0]), self._gate_columns())
        cells_above = ring_taps(cell_ring, at, [(-1, 0)])
        cache = (kernel, bias), (), (hidden_ring, cell_ring), *gate_bias
        return cache, self.input_to_state.wave_begin(input_cache, at), recurrent, cells_above, (), ()

    def wave_group(self, state, inputs, group):
        """Hidden states of colour `group`'s units at the step's pixels."""
        cache, input_state, recurrent, cells_above, hidden, cell = state
        gates, input_state = self.input_to_state.wave_group(input_state, inputs, group)
        gates = gates + group_slice(recurrent, self._gate_columns(), group)
        units = group_columns(self.units, self.color_groups)[group]
        group_hidden, group_cell = lstm_update(gates, columns_of(cells_above, units))
        return group_hidden, (cache, input_state, recurrent, cells_above, (*hidden, group_hidden), (*cell, group_cell))

    def wave_end(self, state):
        (weights, _, rings, *gate_bias), input_state, _, _, hidden, cell = state
        last = (tf.concat(hidden, axis=-1), tf.concat(cell, axis=-1))
        return weights, self.input_to_state.wave_end(input_state), (*rings, *last), *gate_bias

    def get_config(self):
        config = super().get_config()
        config.update(core_arguments_config(self))
        return config
