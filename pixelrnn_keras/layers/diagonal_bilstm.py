"""Diagonal BiLSTM (PixelRNN paper, section 3.2)."""

import functools

import keras
import tensorflow as tf

from pixelrnn_keras.layers.cores import conv_flops, register_core
from pixelrnn_keras.layers.incremental import read_at, write_at
from pixelrnn_keras.layers.lstm import forget_bias, lstm_update
from pixelrnn_keras.layers.lstm_scan import shared_lstm_scan
from pixelrnn_keras.layers.masked_conv import MaskedConv2D


def shift_down(x, axis=1):
    """Shift a map down one step along `axis` (rows by default), filling the top with zeros."""
    paddings = [[0, 0]] * len(x.shape)
    paddings[axis] = [1, 0]
    end = [slice(None)] * len(x.shape)
    end[axis] = slice(None, -1)
    return tf.pad(x, paddings)[tuple(end)]


# Columns per chunk of the skewed scan (see `column_chunks`): smaller chunks skip more padding,
# but each is one more loop to compile. At 28x28, one layer's training step, measured side by
# side: 3 chunks 15% and 6 chunks 28% faster than one, compiling 3x and 6x as long.
COLUMNS_PER_CHUNK = 16


def column_chunks(height, width, num_chunks):
    """Chunks of the skewed scan for `LSTMScan`: ((t0, t1, r0, r1), ...) over W + H - 1 columns.

    Column t holds pixels of rows t - W + 1 .. t only, so about half of the skewed map is
    padding; each chunk of columns runs on the rows that hold a pixel in it or in the
    column before it (whose states it reads), which skips most of the padding.
    """
    steps = height + width - 1
    bounds = sorted({round(steps * k / num_chunks) for k in range(num_chunks + 1)})
    return tuple((t0, t1, max(0, t0 - width), min(height, t1)) for t0, t1 in zip(bounds[:-1], bounds[1:]))


class DiagonalLayout:
    """Moves maps between the image and the chunks of the skewed scan, both directions at once.

    The skewed map (`skew`) shifts row i right by i, so that its column t holds the pixels
    (i, t - i); the right-to-left direction does the same on the mirrored image. Rather than
    building that (H, W + H - 1) map, half of it padding, and slicing the chunks out of it,
    `to_chunks` gathers each chunk's slots straight from the image (padding slots read
    zeros) and `to_image` gathers them back. Every pixel has exactly one slot, so each
    gather's gradient is the other gather. (The reshape-and-pad skew and its gradient took
    about as long as the scan itself in XLA on CPU.)

    Args:
        chunks: ((t0, t1, r0, r1), ...) as from `column_chunks` for the image's size, or None:
            one chunk over the whole skewed map, for images whose size is only known at run time.
    """

    def __init__(self, chunks=None):
        self.chunks = None if chunks is None else tuple(tuple(int(x) for x in chunk) for chunk in chunks)

    def chunk_bounds(self, height, width):
        """The chunks, with the whole skewed map ((0, W + H - 1, 0, H),) as tensors if there are none."""
        return self.chunks or ((0, height + width - 1, 0, height),)

    def valid(self, height, width, dtype):
        """Per chunk (t1 - t0, 1, r1 - r0, 1, 1): 1 where a slot holds a pixel, 0 on padding."""
        return tuple(
            tf.cast(_slots(height, width, chunk)[1], dtype)[:, None, :, None, None]
            for chunk in self.chunk_bounds(height, width)
        )

    def to_chunks(self, left, right):
        """Maps (B, H, W, F) of each direction -> per chunk (t1 - t0, 2, r1 - r0, B, F)."""

        @tf.custom_gradient
        def run(maps):
            def grad(*d_chunks):
                return self._gather_image(d_chunks, tf.shape(maps)[2], tf.shape(maps)[3])

            return self._gather_chunks(maps), grad

        return run(tf.stack([left, right]))

    def to_image(self, chunks, height, width):
        """Per chunk (t1 - t0, 2, r1 - r0, B, F) -> (2, B, H, W, F): each direction's map in image
        coordinates (the right-to-left one mirrored back)."""

        @tf.custom_gradient
        def run(*chunks):
            def grad(d_maps):
                return self._gather_chunks(d_maps)

            return self._gather_image(chunks, height, width), grad

        return run(*chunks)

    # Both gathers move whole (B, F) blocks: the pixels are laid out first, the batch after them.

    @functools.cached_property
    def _gather_chunks(self):
        @tf.function(jit_compile=True, autograph=False)
        def gather(maps):
            _, batch, height, width = tf.unstack(tf.shape(maps)[:4])
            pixels = tf.reshape(tf.transpose(maps, [0, 2, 3, 1, 4]), [2 * height * width, batch, maps.shape[-1]])
            pixels = tf.pad(pixels, [[0, 1], [0, 0], [0, 0]])  # the padding slots' zero block
            return tuple(
                tf.gather(pixels, _slots(height, width, chunk)[0]) for chunk in self.chunk_bounds(height, width)
            )

        return gather

    @functools.cached_property
    def _gather_image(self):
        @tf.function(jit_compile=True, autograph=False)
        def gather(chunks, height, width):
            batch, features = tf.shape(chunks[0])[3], chunks[0].shape[-1]
            slots = tf.concat([tf.reshape(c, [-1, batch, features]) for c in chunks], axis=0)
            maps = tf.gather(slots, _slot_of_pixels(height, width, self.chunk_bounds(height, width)))
            return tf.transpose(maps, [0, 3, 1, 2, 4])  # (2, H, W, B, F) -> (2, B, H, W, F)

        return gather


def _slots(height, width, chunk):
    """The pixel of each (column t, direction, row i) slot of a chunk, (t1 - t0, 2, r1 - r0): index
    i * W + j of the left-to-right map, H * W + i * W + (W - 1 - j) of the (mirrored) right-to-left
    one, 2 * H * W on padding; and where the slots hold pixels, (t1 - t0, r1 - r0)."""
    t0, t1, r0, r1 = chunk
    t, i = tf.meshgrid(tf.range(t0, t1), tf.range(r0, r1), indexing="ij")
    j = t - i
    inside = (j >= 0) & (j < width)
    padding = 2 * height * width
    left = tf.where(inside, i * width + j, padding)
    right = tf.where(inside, height * width + i * width + (width - 1 - j), padding)
    return tf.stack([left, right], axis=1), inside


def _slot_of_pixels(height, width, chunks):
    """(2, H, W): the slot of each pixel of each direction in the chunks' slots laid end to end."""
    t0, t1, r0, r1 = (tf.stack([tf.cast(chunk[k], tf.int32) for chunk in chunks]) for k in range(4))
    rows = r1 - r0
    firsts = tf.concat([[0], tf.cumsum((t1 - t0) * 2 * rows)[:-1]], 0)
    i, j = tf.meshgrid(tf.range(height), tf.range(width), indexing="ij")
    slots = []
    for direction, column in enumerate((i + j, i + (width - 1 - j))):  # each pixel's skewed column
        k = tf.searchsorted(t1, tf.reshape(column, [-1]), side="right")
        k = tf.reshape(k, [height, width])
        slot = (column - tf.gather(t0, k)) * 2 + direction
        slots.append(tf.gather(firsts, k) + slot * tf.gather(rows, k) + i - tf.gather(r0, k))
    return tf.stack(slots)


@functools.cache
def diagonal_layout(height, width):
    """The shared `DiagonalLayout` of an image size (None if unknown): chunks of about
    `COLUMNS_PER_CHUNK` columns, or one chunk."""
    if height is None or width is None:
        return DiagonalLayout()
    return DiagonalLayout(column_chunks(height, width, max(1, (height + width - 1) // COLUMNS_PER_CHUNK)))


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
        config.update(
            units=self.units,
            color_groups=self.color_groups,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
