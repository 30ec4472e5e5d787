"""The Diagonal BiLSTM's skew as the paper draws it (section 3.2, figure 3): the reference that
the layer's chunked layout (pixelrnn_keras/layers/diagonal_layout.py) is tested against.

`skew` shifts row i of an (H, W) map right by i positions, giving an (H, W + H - 1) map
whose columns are the image's diagonals; `unskew` is its exact inverse. Both are
reshapes and pads only, so they are cheap and differentiable.
"""

import tensorflow as tf


def skew(x):
    """(batch, H, W, F) -> (batch, H, W + H - 1, F); out[:, i, i + j] = x[:, i, j], zeros elsewhere."""
    shape = tf.shape(x)
    batch, height, width, features = shape[0], shape[1], shape[2], shape[3]
    padded = tf.pad(x, [[0, 0], [0, 0], [0, height], [0, 0]])
    flat = tf.reshape(padded, [batch, height * (width + height), features])
    flat = flat[:, : height * (width + height - 1)]
    skewed = tf.reshape(flat, [batch, height, width + height - 1, features])
    return tf.ensure_shape(skewed, _skewed_static_shape(x.shape))


def unskew(x, width):
    """(batch, H, W + H - 1, F) -> (batch, H, W, F), the inverse of `skew`."""
    shape = tf.shape(x)
    batch, height, skewed_width, features = shape[0], shape[1], shape[2], shape[3]
    flat = tf.reshape(x, [batch, height * skewed_width, features])
    flat = tf.pad(flat, [[0, 0], [0, height], [0, 0]])
    rows = tf.reshape(flat, [batch, height, skewed_width + 1, features])
    out = rows[:, :, :width]
    static_width = width if isinstance(width, int) else None
    return tf.ensure_shape(out, [x.shape[0], x.shape[1], static_width, x.shape[3]])


def _skewed_static_shape(shape):
    batch, height, width, features = shape
    skewed = None if height is None or width is None else width + height - 1
    return [batch, height, skewed, features]
