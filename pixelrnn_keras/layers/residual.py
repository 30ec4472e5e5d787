"""Residual blocks of the PixelRNN networks (paper, section 3.3 and figure 5), around a registered core."""

import keras
import tensorflow as tf

from pixelrnn_keras.layers.cores import core_class
from pixelrnn_keras.layers.masked_conv import MaskedConv2D


@keras.saving.register_keras_serializable(package="pixelrnn_keras")
class ResidualBlock(keras.layers.Layer):
    """2h features in, h inside, a 1x1 mask-B convolution back to 2h, input added.

    The inside is the core registered as `arch` (layers/cores.py), e.g. PixelCNN's k x k
    convolution after ReLU, a 1x1 reduction to h and ReLU (`reduces_input`), a `RowLSTM`
    of h units, a `DiagonalBiLSTM` of h units given `row_context`, or a Gated PixelCNN layer
    that also passes its vertical stack's map on to the next block (`side_stream`).

    With `condition_features` > 0 the block is conditional (multi-scale PixelRNN, paper
    section 3.4): a 1x1 unmasked convolution of the `condition` map is added to the
    input-to-state pre-activations of its core (its `gate_bias`: the LSTM gates, 4h, both
    directions' 8h for the Diagonal BiLSTM, PixelCNN's convolution, h, or both stacks' gates
    of the Gated PixelCNN, 4h).

    Call arguments:
        inputs: (batch, height, width, 2 * hidden).
        row_context: only for a core that `reads_row_context`: the image, (batch, height, width, C);
            or for a `side_stream` core: the block before's side map, or the image for the first block.
        condition: (batch, height, width, condition_features), only when conditional; a map
            that does not depend on the image being modelled.

    Output shape: (batch, height, width, 2 * hidden); a `side_stream` core's block returns
    (that, its side map (batch, height, width, core.side_features)).
    """

    def __init__(self, arch, hidden, color_groups=3, kernel_size=3, condition_features=0, **kwargs):
        super().__init__(**kwargs)
        core = core_class(arch)
        self.arch = arch
        self.hidden = int(hidden)
        self.color_groups = int(color_groups)
        self.kernel_size = int(kernel_size)
        self.condition_features = int(condition_features)
        groups, dtype = self.color_groups, self.dtype_policy
        # The attribute names are the weight files' paths: "reduce", "core", "expand", "condition_bias".
        self.reduce = (
            MaskedConv2D(self.hidden, 1, "B", groups, name="reduce", dtype=dtype) if core.reduces_input else None
        )
        self.core = core.for_block(self.hidden, groups, self.kernel_size, name=arch, dtype=dtype)
        self.expand = MaskedConv2D(2 * self.hidden, 1, "B", groups, name="expand", dtype=dtype)
        self.condition_bias = (
            keras.layers.Dense(core.gate_bias_per_unit * self.hidden, name="condition_bias", dtype=dtype)
            if self.condition_features
            else None
        )

    def build(self, inputs_shape, row_context_shape=None):
        inner_shape = (*inputs_shape[:-1], self.hidden)
        if self.reduce is not None:
            self.reduce.build(inputs_shape)
            self.core.build(inner_shape)
        elif self.core.reads_row_context or self.core.side_stream:
            self.core.build(inputs_shape, row_context_shape)
        else:
            self.core.build(inputs_shape)
        self.expand.build(inner_shape)
        if self.condition_bias is not None:
            self.condition_bias.build((*inputs_shape[:-1], self.condition_features))

    def _bias(self, condition):
        """The core's bias from the condition map, or None for an unconditional block."""
        if (condition is None) != (self.condition_bias is None):
            raise ValueError(
                f"condition must be a (batch, height, width, {self.condition_features}) map for a block "
                f"built with condition_features={self.condition_features}, and None otherwise"
            )
        return None if condition is None else self.condition_bias(condition)

    def _core_inputs(self, inputs):
        return inputs if self.reduce is None else tf.nn.relu(self.reduce(tf.nn.relu(inputs)))

    def call(self, inputs, row_context=None, condition=None):
        inner = self.core(self._core_inputs(inputs), row_context, gate_bias=self._bias(condition))
        if self.core.side_stream:
            inner, side = inner
            return inputs + self.expand(inner), side
        return inputs + self.expand(inner)

    def compute_output_shape(self, inputs_shape, row_context_shape=None, condition_shape=None):
        if self.core.side_stream:
            return inputs_shape, (*inputs_shape[:-1], self.core.side_features)
        return inputs_shape

    # One pixel at a time (see layers/incremental.py).

    def init_cache(self, batch, height, width, dtype, condition=None):
        """(reduce's cache or (), the core's, expand's). A conditional block computes its core's
        bias map from `condition` here, once, for the core's cache."""
        return self._init_cache(
            dtype, condition, lambda layer, *bias: layer.init_cache(batch, height, width, dtype, *bias)
        )

    def step(self, cache, inputs, i, j):
        """Outputs at pixel (i, j), (batch, 2 * hidden), from its inputs (batch, 2 * hidden)."""
        return self._step(cache, inputs, lambda layer, layer_cache, x: layer.step(layer_cache, x, i, j))

    def wave_init_cache(self, batch, wave, dtype, condition=None):
        """As `init_cache`, for the wavefront steps (a diagonal of pixels at a time, layers/wavefront.py)."""
        return self._init_cache(dtype, condition, lambda layer, *bias: layer.wave_init_cache(batch, wave, dtype, *bias))

    def wave_begin(self, cache, at):
        return tuple(() if layer is None else layer.wave_begin(c, at) for layer, c in zip(self._stepped, cache))

    def wave_group(self, state, inputs, group):
        """Outputs of colour `group` at the wavefront step's pixels, from their inputs' group."""
        reduce_state, core_state, expand_state = state
        inner = inputs
        if self.reduce is not None:
            inner, reduce_state = self.reduce.wave_group(reduce_state, tf.nn.relu(inputs), group)
            inner = tf.nn.relu(inner)
        inner, core_state = self.core.wave_group(core_state, inner, group)
        outputs, expand_state = self.expand.wave_group(expand_state, inner, group)
        return inputs + outputs, (reduce_state, core_state, expand_state)

    def wave_end(self, state):
        return tuple(() if layer is None else layer.wave_end(s) for layer, s in zip(self._stepped, state))

    @property
    def _stepped(self):
        return self.reduce, self.core, self.expand

    def _init_cache(self, dtype, condition, init):
        """The caches, each from `init(layer, *its bias map)`."""
        bias = self._bias(condition)
        bias = () if bias is None else (tf.cast(bias, dtype),)
        reduce = () if self.reduce is None else init(self.reduce)
        return reduce, init(self.core, *bias), init(self.expand)

    def _step(self, cache, inputs, step):
        """The block at the pixels `step(layer, layer_cache, inputs)` steps every layer at."""
        reduce_cache, core_cache, expand_cache = cache
        inner = inputs
        if self.reduce is not None:
            inner, reduce_cache = step(self.reduce, reduce_cache, tf.nn.relu(inputs))
            inner = tf.nn.relu(inner)
        inner, core_cache = step(self.core, core_cache, inner)
        outputs, expand_cache = step(self.expand, expand_cache, inner)
        return inputs + outputs, (reduce_cache, core_cache, expand_cache)

    def end_row(self, cache, i, row_context=None):
        """Row i is complete; `row_context` (batch, width, C) only for a core that `reads_row_context`,
        or row i of the side map before for a `side_stream` core, whose block returns (cache, its
        side map's row i)."""
        reduce_cache, core_cache, expand_cache = cache
        if self.core.side_stream:
            core_cache, side = self.core.end_row(core_cache, i, row_context)
            return (reduce_cache, core_cache, expand_cache), side
        return reduce_cache, self.core.end_row(core_cache, i, row_context), expand_cache

    def get_config(self):
        config = super().get_config()
        config.update(
            arch=self.arch,
            hidden=self.hidden,
            color_groups=self.color_groups,
            kernel_size=self.kernel_size,
            condition_features=self.condition_features,
        )
        return config
