"""Gated PixelCNN's core (van den Oord et al., "Conditional Image Generation with PixelCNN
Decoders", NeurIPS 2016): a vertical and a horizontal stack with gated units, no blind spot."""

import keras
import tensorflow as tf

from pixelrnn_keras.layers.cores import conv_flops, core_arguments_config, register_core, set_core_arguments
from pixelrnn_keras.layers.diagonal_bilstm import shift_down
from pixelrnn_keras.layers.incremental import read_at
from pixelrnn_keras.layers.masked_conv import MaskedConv2D
from pixelrnn_keras.layers.masks import FeatureAxis
from pixelrnn_keras.layers.wavefront import columns_of, group_columns


def gate(pre_activations):
    """tanh(a) * sigmoid(b) of the two halves [a, b] of the last axis: 2u features -> u."""
    a, b = tf.split(pre_activations, 2, axis=-1)
    return tf.tanh(a) * tf.sigmoid(b)


@register_core("gated_pixelcnn")
@keras.saving.register_keras_serializable(package="pixelrnn_keras")
class GatedPixelCNNCore(keras.layers.Layer):
    """One gated layer of both stacks: the inside of a Gated PixelCNN residual block.

    Vertical stack (its `side_stream`, see layers/cores.py): a (k//2 + 1) x k convolution of
    the previous layer's vertical features (the image itself in the first block) over rows
    i - k//2 .. i and columns j - k//2 .. j + k//2, then the gate tanh(.) * sigmoid(.) to u
    features. Vertical features at row i see rows <= i and no colour order: they reach the
    horizontal stack only shifted down one row, through a 1x1 link of the vertical
    convolution's output, so that pixel (i, j) takes them from row i - 1 and never sees its
    own row through them. As the vertical features of row i see the whole width of the rows
    they cover, the stacks have no blind spot: after L blocks, with r = k//2, pixel (i, j) sees
    every (i', j') with 1 <= i - i' <= L * r + 1 and |j - j'| <= L * r, its own row up to
    3 + L * r pixels to its left, and what the model's first 7x7 convolution reaches from
    those (tests/test_causality.py checks this field exactly). So L * r >= max(H - 2, W - 1)
    sees every earlier sub-pixel.

    Horizontal stack: a 1 x k mask-B convolution of the block's 2h inputs (pixels j - k//2 .. j
    of the current row, colour group g seeing groups <= g of the current pixel; the model's
    first 7x7 convolution is the mask-A layer), plus the link, then the gate to u features.
    The residual block around the core adds the paper's 1x1 convolution and residual connection.

    Call arguments:
        inputs: (batch, height, width, in_features): the horizontal stream.
        row_context: (batch, height, width, side_in): the vertical features of the block before,
            or the image for the first block.
        gate_bias: optional (batch, height, width, 4 * units) map: the first 2u features are added
            to the horizontal gates' pre-activations, the last 2u to the vertical ones' (a
            conditional model's bias; it must not depend on the image being modelled).

    Returns: (outputs (batch, height, width, units), vertical features (batch, height, width, units)).

    Args:
        units: u, the features of each stack's gated output (at least `color_groups`).
        kernel_size: odd k of the 1 x k and (k//2 + 1) x k convolutions.
        color_groups: 3 for RGB, 1 for grey or binary images.
        kernel_initializer: for the three kernels.
    """

    reduces_input = False
    reads_row_context = False
    side_stream = True
    gate_bias_per_unit = 4
    scans_lstm = False

    def __init__(self, units, kernel_size=3, color_groups=3, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        set_core_arguments(self, units, color_groups, kernel_initializer, kernel_size)
        self.horizontal = MaskedConv2D(
            2 * self.units,
            (1, self.kernel_size),
            mask_type="B",
            color_groups=self.color_groups,
            output_blocks=2,  # tanh and sigmoid halves, each split into colour groups
            kernel_initializer=self.kernel_initializer,
            name="horizontal",
            dtype=self.dtype_policy,
        )

    @property
    def side_features(self):
        """Features of the vertical map this core returns (the next block's `row_context`)."""
        return self.units

    def build(self, input_shape, row_context_shape=None):
        if row_context_shape is None:
            raise ValueError("row_context_shape must be given: the vertical stack's input (batch, H, W, features)")
        self.horizontal.build(input_shape)
        k = self.kernel_size
        self.vertical_kernel = self.add_weight(
            name="vertical_kernel",
            shape=(k // 2 + 1, k, int(row_context_shape[-1]), 2 * self.units),
            initializer=self.kernel_initializer,
        )
        self.vertical_bias = self.add_weight(name="vertical_bias", shape=(2 * self.units,), initializer="zeros")
        self.link = self.add_weight(
            name="link", shape=(2 * self.units, 2 * self.units), initializer=self.kernel_initializer
        )

    @classmethod
    def for_block(cls, hidden, color_groups, kernel_size, **kwargs):
        return cls(hidden, kernel_size, color_groups, **kwargs)

    @staticmethod
    def forward_flops(height, width, hidden, channels, kernel_size):
        """Horizontal 1 x k (2h -> 2h), vertical (k//2 + 1) x k (h -> 2h; the first block reads the
        image's channels instead, counted as h) and the 1x1 link (2h -> 2h), per pixel."""
        return (
            conv_flops(height, width, 1, kernel_size, 2 * hidden, 2 * hidden)
            + conv_flops(height, width, kernel_size // 2 + 1, kernel_size, hidden, 2 * hidden)
            + conv_flops(height, width, 1, 1, 2 * hidden, 2 * hidden)
        )

    def call(self, inputs, row_context=None, gate_bias=None):
        if row_context is None:
            raise ValueError("row_context must be the vertical features of the block before (or the image)")
        half = self.kernel_size // 2
        side = tf.cast(row_context, inputs.dtype)
        # Zero rows above the image and columns on both sides: the output at row i ends at row i.
        side = tf.pad(side, [[0, 0], [half, 0], [half, half], [0, 0]])
        kernel = tf.cast(self.vertical_kernel, inputs.dtype)
        vertical = tf.nn.conv2d(side, kernel, strides=1, padding="VALID") + tf.cast(self.vertical_bias, inputs.dtype)
        horizontal = self.horizontal(inputs) + shift_down(tf.tensordot(vertical, tf.cast(self.link, inputs.dtype), 1))
        if gate_bias is not None:
            horizontal_bias, vertical_bias = tf.split(tf.cast(gate_bias, inputs.dtype), 2, axis=-1)
            horizontal, vertical = horizontal + horizontal_bias, vertical + vertical_bias
        return gate(horizontal), gate(vertical)

    def compute_output_shape(self, input_shape, row_context_shape=None):
        shape = (*input_shape[:-1], self.units)
        return shape, shape

    def feature_axes(self):
        """How the weights' axes run over features, for widening a trained network (models/widening.py);
        the horizontal convolution declares its own. Both stacks' pre-activations are two halves."""
        halves = FeatureAxis(blocks=2)
        return {
            "vertical_kernel": (None, None, FeatureAxis(reads=True), halves),
            "vertical_bias": (halves,),
            "link": (FeatureAxis(blocks=2, reads=True), halves),
        }

    # One pixel at a time (see layers/incremental.py). The vertical stack runs a row at a time in
    # `end_row`: row i's vertical features are needed only from row i + 1 on.

    def init_cache(self, batch, height, width, dtype, gate_bias=None):
        """(weights, horizontal convolution's cache, state) for `step`, and the horizontal and
        vertical parts of `gate_bias` (as in `call`) if given.

        weights: (vertical kernel, its bias, link), in `dtype`.
        state: the vertical stack's input rows i - k//2 .. i, zero-padded by k//2 columns on both
        sides, (batch, k//2 + 1, width + k - 1, side_in); the link's contribution to the current
        row (from the row above), (batch, width, 2u).
        """
        return self._init_cache(batch, width, dtype, self.horizontal.init_cache(batch, height, width, dtype), gate_bias)

    def _init_cache(self, batch, width, dtype, horizontal_cache, gate_bias):
        k = self.kernel_size
        weights = (
            tf.cast(self.vertical_kernel, dtype),
            tf.cast(self.vertical_bias, dtype),
            tf.cast(self.link, dtype),
        )
        rows = tf.zeros([batch, k // 2 + 1, width + k - 1, self.vertical_kernel.shape[2]], dtype)
        link_row = tf.zeros([batch, width, 2 * self.units], dtype)
        cache = weights, horizontal_cache, (rows, link_row)
        return cache if gate_bias is None else (*cache, *tf.split(tf.cast(gate_bias, dtype), 2, axis=-1))

    def step(self, cache, inputs, i, j):
        """Outputs at pixel (i, j), (batch, u), from its horizontal inputs (batch, in_features)."""
        weights, horizontal_cache, state, *gate_bias = cache
        pre_activations, horizontal_cache = self.horizontal.step(horizontal_cache, inputs, i, j)
        pre_activations = pre_activations + read_at(state[1], j)
        if gate_bias:
            pre_activations = pre_activations + read_at(gate_bias[0], i, j)
        return gate(pre_activations), (weights, horizontal_cache, state, *gate_bias)

    def end_row(self, cache, i, row_context=None):
        """Row i is complete, with vertical inputs `row_context` (batch, width, side_in).

        Returns (cache, the vertical features of row i (batch, width, u)).
        """
        (kernel, bias, link), horizontal_cache, (rows, _), *gate_bias = cache
        half = self.kernel_size // 2
        new_row = tf.pad(tf.cast(row_context, rows.dtype), [[0, 0], [half, half], [0, 0]])
        rows = tf.concat([rows[:, 1:], new_row[:, None]], axis=1)
        vertical = (tf.nn.conv2d(rows, kernel, strides=1, padding="VALID") + bias)[:, 0]  # (batch, width, 2u)
        link_row = tf.tensordot(vertical, link, 1)
        if gate_bias:
            vertical = vertical + read_at(gate_bias[1], i)
        state = rows, link_row
        return ((kernel, bias, link), horizontal_cache, state, *gate_bias), gate(vertical)

    # A pixel at a time by colour group (see layers/wavefront.py): a wavefront whose slope is the
    # width (one slot per step, raster order), the vertical stack still run by `end_row`.

    def wave_init_cache(self, batch, wave, dtype, gate_bias=None):
        """As `init_cache`'s, the horizontal convolution's cache being its wavefront cache."""
        if wave.slots != 1:
            raise ValueError(f"the Gated PixelCNN steps one pixel at a time (slope = width), got {wave.slots} slots")
        return self._init_cache(
            batch, wave.width, dtype, self.horizontal.wave_init_cache(batch, wave, dtype), gate_bias
        )

    def _pre_activation_columns(self):
        """Each colour group's gate pre-activations: its units' tanh halves, then their sigmoid halves."""
        return group_columns(2 * self.units, self.color_groups, 2)

    def wave_begin(self, cache, at):
        """The step's state: the link from the row above (and the class bias) at the step's pixel."""
        _, horizontal_cache, (_, link_row), *gate_bias = cache
        from_above = at.read_columns(link_row)
        if gate_bias:
            from_above = from_above + at.read(gate_bias[0])
        return cache, self.horizontal.wave_begin(horizontal_cache, at), from_above

    def wave_group(self, state, inputs, group):
        """Outputs of colour `group`'s units at the step's pixel."""
        cache, horizontal_state, from_above = state
        pre_activations, horizontal_state = self.horizontal.wave_group(horizontal_state, inputs, group)
        pre_activations = pre_activations + columns_of(from_above, self._pre_activation_columns()[group])
        return gate(pre_activations), (cache, horizontal_state, from_above)

    def wave_end(self, state):
        (weights, _, vertical_state, *gate_bias), horizontal_state, _ = state
        return weights, self.horizontal.wave_end(horizontal_state), vertical_state, *gate_bias

    def get_config(self):
        config = super().get_config()
        config.update(core_arguments_config(self))
        return config
