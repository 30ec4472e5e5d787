"""Masked 2-D convolution (PixelRNN paper, section 3.4)."""

import contextlib
import threading

import keras
import numpy as np
import tensorflow as tf

from pixelrnn_keras.layers.incremental import read_window, write_at
from pixelrnn_keras.layers.masks import FeatureAxis, causal_mask, channel_groups, check_mask_type
from pixelrnn_keras.layers.wavefront import (
    group_columns,
    group_major,
    group_slice,
    kernel_taps,
    ring_taps,
    ring_write,
    ring_zeros,
)

_mode = threading.local()


@contextlib.contextmanager
def every_tap():
    """Convolutions traced inside multiply by every tap of their kernels, masked zeros included,
    as they did before they skipped the taps that are always masked (for tests and benchmarks)."""
    saved, _mode.every_tap = getattr(_mode, "every_tap", False), True
    try:
        yield
    finally:
        _mode.every_tap = saved


def _pair(value, name):
    if isinstance(value, int):
        value = (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2 or min(value) < 1 or value[0] % 2 == 0 or value[1] % 2 == 0:
        raise ValueError(f"{name} must be an odd int or a pair of odd ints, got {value}")
    return value


@keras.saving.register_keras_serializable(package="pixelrnn_keras")
class MaskedConv2D(keras.layers.Layer):
    """Convolution that sees only earlier pixels and, at the centre, earlier colours.

    The kernel is multiplied by a fixed causal mask on every call, so whatever values the
    optimizer or a loaded file put at masked taps have no effect.

    Input shape: (batch, height, width, in_features), feature k of n in colour group
    ``k * color_groups // n``.
    Output shape: (batch, height, width, filters), grouped the same way (per block).

    Args:
        filters: number of output features.
        kernel_size: odd int or pair of odd ints (kh, kw); (1, k) masks along a row.
        mask_type: "A" (the first layer: a colour group does not see its own channel)
            or "B" (later layers: a group sees its own group of the previous layer).
        color_groups: 3 for RGB, 1 for grey or binary images.
        output_blocks: the output is this many consecutive blocks (e.g. 4 LSTM gates),
            each split into colour groups.
        use_bias, kernel_initializer, bias_initializer: as in `keras.layers.Conv2D`.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        mask_type="B",
        color_groups=3,
        output_blocks=1,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(filters) < 1:
            raise ValueError(f"filters must be a positive int, got {filters}")
        if int(color_groups) < 1:
            raise ValueError(f"color_groups must be a positive int, got {color_groups}")
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.mask_type = check_mask_type(mask_type)
        self.color_groups = int(color_groups)
        self.output_blocks = int(output_blocks)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        in_features = int(input_shape[-1])
        self.mask = tf.constant(
            causal_mask(
                self.kernel_size,
                in_features,
                self.filters,
                self.color_groups,
                self.mask_type,
                self.output_blocks,
            )
        )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, in_features, self.filters),
            initializer=self.kernel_initializer,
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )

    def masked_kernel(self):
        return self.kernel * tf.cast(self.mask, self.kernel.dtype)

    def call(self, inputs):
        kernel = tf.cast(self.masked_kernel(), inputs.dtype)
        if self.kernel_size == (1, 1):
            outputs = tf.tensordot(inputs, kernel[0, 0], axes=1)
        elif getattr(_mode, "every_tap", False):
            outputs = tf.nn.conv2d(inputs, kernel, strides=1, padding="SAME")
        else:
            # Rows below the centre, and in a one-row kernel the columns right of it, are always
            # masked: convolving with the rest alone skips their multiplications by zero (a third
            # of a 1 x 3 or 3 x 3 kernel's) and gives the same sums. Padding first and convolving
            # VALID, because conv2d's explicit padding runs bfloat16 ~20x slower here (no oneDNN).
            kh, kw = self.kernel_size
            rows, cols = kh // 2 + 1, kw // 2 + 1 if kh == 1 else kw
            padding = [[0, 0], [kh // 2, 0], [kw // 2, cols - 1 - kw // 2], [0, 0]]
            outputs = tf.nn.conv2d(tf.pad(inputs, padding), kernel[:rows, :cols], strides=1, padding="VALID")
        if self.use_bias:
            outputs = outputs + tf.cast(self.bias, outputs.dtype)
        return outputs

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def feature_axes(self):
        """How the weights' axes run over features, for widening a trained network (models/widening.py)."""
        outputs = FeatureAxis(self.output_blocks)
        axes = {"kernel": (None, None, FeatureAxis(reads=True), outputs)}
        return axes if self.bias is None else {**axes, "bias": (outputs,)}

    # One pixel at a time (see layers/incremental.py).

    def init_cache(self, batch, height, width, dtype):
        """(weights, state) for `step`.

        weights: (centre tap (in_features, filters), bias (filters,)) and, unless the kernel is
        1x1, the taps of the rows above and of the centre row ((kh // 2 + 1) * kw * in_features, filters).
        state: () for a 1x1 kernel, else (the inputs seen so far, zero-padded so that every window
        is in range, (batch, height + kh // 2, width + kw - 1, in_features); the last pixel's inputs,
        not yet in the buffer, (batch, in_features); that pixel's (row, column), int32 (2,)).
        """
        kh, kw = self.kernel_size
        kernel = tf.cast(self.masked_kernel(), dtype)
        bias = tf.cast(self.bias, dtype) if self.use_bias else tf.zeros([self.filters], dtype)
        weights = (kernel[kh // 2, kw // 2], bias)
        if self.kernel_size == (1, 1):
            return weights, ()
        in_features = kernel.shape[2]
        taps = tf.reshape(kernel[: kh // 2 + 1], [-1, self.filters])
        buffer = tf.zeros([batch, height + kh // 2, width + kw - 1, in_features], dtype)
        return (*weights, taps), (buffer, tf.zeros([batch, in_features], dtype), tf.zeros([2], tf.int32))

    def step(self, cache, inputs, i, j):
        """Outputs at pixel (i, j), (batch, filters), from its inputs (batch, in_features) and the cache.

        Returns (outputs, cache with `inputs` recorded at (i, j)).
        """
        weights, state = cache
        outputs = tf.matmul(inputs, weights[0]) + weights[1]
        if not state:
            return outputs, cache
        # The last pixel's inputs enter the buffer only now, before it is read: a write that the
        # read depends on lets XLA update the buffer in place instead of copying it per pixel.
        buffer, last_inputs, last = state
        kh, kw = self.kernel_size
        buffer = write_at(buffer, last_inputs, last[0] + kh // 2, last[1] + kw // 2)
        # Rows below the centre are masked out, and (i, j) and the pixels right of it are still
        # zero in the buffer: `inputs` stand in for the centre tap, so that the window's product
        # is the same for every colour channel's call at this pixel.
        window = read_window(buffer, [i, j], [kh // 2 + 1, kw])
        outputs = outputs + tf.matmul(tf.reshape(window, [-1, weights[2].shape[0]]), weights[2])
        return outputs, (weights, (buffer, inputs, tf.stack([i, j])))

    def step_outputs(self, cache, inputs, start, stop):
        """Outputs [start, stop) of a 1x1 layer's `step`, (batch, stop - start): the product with
        those columns of the kernel only, for a caller that needs no others (a 1x1 layer keeps no
        state, so the cache is unchanged)."""
        (centre, bias), state = cache
        if state:
            raise ValueError(f"step_outputs needs a 1x1 kernel; this layer's is {self.kernel_size}")
        return tf.matmul(inputs, centre[:, start:stop]) + bias[start:stop]

    def write(self, cache, inputs, i, j):
        """The cache after `step` at (i, j), with `inputs` (batch, in_features) as that pixel's final inputs."""
        weights, state = cache
        if not state:
            return cache
        buffer, _, position = state
        return weights, (buffer, inputs, position)

    # A diagonal of pixels at a time, colour group by colour group (see layers/wavefront.py).

    def _groups(self, in_features):
        """(the outputs' columns of each colour group, how many input features each group reads)."""
        columns = group_columns(self.filters, self.color_groups, self.output_blocks)
        of_input = channel_groups(in_features, self.color_groups)
        seen = [int(np.sum(of_input < g if self.mask_type == "A" else of_input <= g)) for g in range(self.color_groups)]
        return columns, seen

    def wave_init_cache(self, batch, wave, dtype):
        """(weights, state): weights (each group's centre tap (its inputs read, its outputs), bias
        (filters,), columns `group_major`) and, unless the kernel is 1x1, the taps before the centre ((kh // 2) * kw + kw // 2
        of them, in `kernel_taps` order; the ring holds no current or later pixel); state () for a 1x1
        kernel, else (a ring of the inputs, the last step's inputs (slots * batch, in_features))."""
        kh, kw = self.kernel_size
        kernel = tf.cast(self.masked_kernel(), dtype)
        centre, in_features = kernel[kh // 2, kw // 2], self.kernel.shape[2]
        columns, seen = self._groups(in_features)
        group_kernels = tuple(tf.gather(centre[:n], cols, axis=1) for cols, n in zip(columns, seen))
        # The outputs' earlier-pixel part, a step's, is computed with its columns group by group.
        bias = tf.cast(self.bias, dtype) if self.use_bias else tf.zeros([self.filters], dtype)
        bias = group_major(bias, columns)
        if self.kernel_size == (1, 1):
            return (group_kernels, bias), ()
        taps = kernel_taps(self.kernel_size)
        tap_kernel = tf.concat([kernel[kh // 2 + dr, kw // 2 + dc] for dr, dc in taps], axis=0)
        tap_kernel = group_major(tap_kernel, columns)
        ring = ring_zeros(wave, batch, in_features, taps, dtype)
        return (group_kernels, bias, tap_kernel), (ring, tf.zeros([wave.slots * batch, in_features], dtype))

    def wave_begin(self, cache, at):
        """The step's state: (cache, bias plus the earlier pixels' part of the outputs, inputs received)."""
        weights, state = cache
        outputs = weights[1]
        if state:
            ring, last_inputs = state
            taps = kernel_taps(self.kernel_size)
            ring = ring_write(ring, last_inputs, at.previous(), taps)
            outputs = outputs + tf.matmul(ring_taps(ring, at, taps), weights[2])
            cache = weights, (ring, last_inputs)
        return cache, outputs, ()

    def wave_group(self, state, inputs, group):
        """Outputs of colour `group` at the step's pixels; `inputs` are the inputs' newest group (see
        layers/wavefront.py), None for group 0 of a mask-A layer."""
        cache, outputs, received = state
        received = received if inputs is None else (*received, inputs)
        (group_kernels, *_), _ = cache
        columns, seen = self._groups(self.kernel.shape[2])
        outputs = group_slice(outputs, columns, group)
        if seen[group]:
            outputs = outputs + tf.matmul(tf.concat(received, axis=-1)[:, : seen[group]], group_kernels[group])
        return outputs, (cache, state[1], received)

    def wave_end(self, state, inputs=None):
        """The cache for the next step, which records the step's pixels' inputs: those received, or
        `inputs` (slots * batch, in_features) (a mask-A layer is never given its last group)."""
        (weights, ring_state), _, received = state
        if not ring_state:
            return weights, ring_state
        return weights, (ring_state[0], tf.concat(received, axis=-1) if inputs is None else inputs)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            mask_type=self.mask_type,
            color_groups=self.color_groups,
            output_blocks=self.output_blocks,
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config
