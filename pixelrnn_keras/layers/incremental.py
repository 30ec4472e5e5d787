"""Evaluating a causal layer one pixel at a time, for fast sampling: the layer-level step protocol.

Every layer that a sampler drives is a `PixelStepLayer`:

    init_cache(batch, height, width, dtype) -> cache
    step(cache, inputs, i, j) -> (outputs, cache)

`step` takes the layer's inputs at pixel (i, j), shape (batch, in_features), and returns its
outputs there, (batch, out_features), equal to those of a full forward pass over any image
that agrees with everything seen so far. Pixels are visited in raster order. A sampler may
call `step` several times from the same cache for one pixel (once per colour channel) and
keep the cache of the last call only. Layers whose state changes a row at a time (the
recurrent cores, and the Gated PixelCNN, whose vertical stack runs a row at a time) are
`RowStepLayer`s: they also have `end_row(cache, i, row_context=None)`, called once row i is
complete. The first convolution of a model, which reads the image itself, is told a pixel's
values once its last channel is drawn: `MaskedConv2D.write(cache, inputs, i, j)`. Layers that
take a conditioning bias map (`gate_bias` of the cores, `condition` of `ResidualBlock`) take it
in `init_cache` too and keep it in the cache: it is fixed while an image is generated, and
`step` reads it at (i, j).

A cache is a nested tuple of tensors: the weights arranged for one-pixel products (read once
per sampling run, so that XLA sees the same operands in every channel's call and computes the
products of earlier pixels' features once per pixel) and the state carried from earlier pixels.

XLA updates a carried buffer in place only when each read of it within a step is ordered
before the write by data dependence; otherwise it copies the whole buffer at every step. The
layers arrange their reads and writes so (see `MaskedConv2D.step`). The writes are scatters,
not XLA's dynamic-update-slice, so that the same code also runs without XLA.
"""

from typing import Protocol, runtime_checkable

import tensorflow as tf


def write_at(buffer, values, *index):
    """`buffer` with buffer[b, *index] = values[b] for every b.

    Args:
        buffer: (batch, d1, ..., dn, ...) tensor.
        values: (batch, ...) tensor, shaped like buffer[:, *index].
        *index: scalar int32 tensors or ints, one per leading axis after the batch.
    """
    batch = tf.shape(values)[0]
    indices = tf.stack([tf.range(batch)] + [tf.fill([batch], k) for k in index], axis=1)
    return tf.tensor_scatter_nd_update(buffer, indices, values)


def read_window(buffer, index, size):
    """buffer[:, index[0] : index[0] + size[0], ...] for scalar tensor indices; shape (batch, *size, ...).

    No size is -1: with a -1 size and a start index only known at run time, TensorFlow's XLA
    slice pads the whole buffer first, which would cost O(buffer) per pixel. An unknown batch
    size (a graph traced for any batch, as in an exported SavedModel) is read from the buffer's
    shape, a constant once XLA compiles for a concrete batch.
    """
    rest = list(buffer.shape[1 + len(index) :])
    batch = tf.shape(buffer)[0] if buffer.shape[0] is None else buffer.shape[0]
    return tf.slice(buffer, [0, *index] + [0] * len(rest), [batch, *size, *rest])


def read_at(buffer, *index):
    """buffer[:, *index] for scalar tensor indices; shape (batch, ...)."""
    window = read_window(buffer, index, [1] * len(index))
    return tf.reshape(window, [-1, *buffer.shape[1 + len(index) :]])


@runtime_checkable
class PixelStepLayer(Protocol):
    """A layer driven one pixel at a time (see the module doc for the order and the weights rule)."""

    def init_cache(self, batch, height, width, dtype, *bias_maps):
        """The cache before the first pixel; a conditional layer takes its bias map here too."""

    def step(self, cache, inputs, i, j):
        """(outputs (batch, out_features) at pixel (i, j), cache) from inputs (batch, in_features)."""


@runtime_checkable
class RowStepLayer(PixelStepLayer, Protocol):
    """A `PixelStepLayer` whose state also moves on once a row is complete."""

    def end_row(self, cache, i, row_context=None):
        """The cache after row i; `row_context` is row i of the map the layer reads beside its inputs
        (the image for the Diagonal BiLSTM, the side map of the block before for a side-stream core,
        which returns (cache, its own side map's row i))."""
