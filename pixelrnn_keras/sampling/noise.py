"""Gumbel-max sampling: all the randomness of a sampler, drawn up front from a seed.

A categorical draw is argmax(logits / temperature + g) with g ~ Gumbel(0, 1) i.i.d. per level.
Drawing every g of every sub-pixel before sampling makes the result a pure function of
(seed, model), so the naive and the cached sampler return the same images. The noise is drawn
outside XLA because stateless random ops give other numbers under jit compilation.
"""

import numpy as np
import tensorflow as tf


def gumbel_noise(num, image_shape, levels, seed, dtype="float32"):
    """(num, H, W, C, levels) standard Gumbel noise from the int `seed` (eager, never under XLA).

    `num` and `seed` may also be scalar tensors (int32 and int64) in a graph without XLA, as in
    an exported SavedModel: stateless random ops give the same numbers there as eagerly.
    """
    dtype = tf.as_dtype(dtype)
    shape = [num, *image_shape, levels]
    # u in [tiny, 1): both logarithms stay finite.
    tiny = np.finfo(dtype.as_numpy_dtype).tiny
    seed = tf.stack([tf.convert_to_tensor(seed, tf.int64), tf.constant(0, tf.int64)])
    uniform = tf.random.stateless_uniform(shape, seed=seed, minval=tiny, dtype=dtype)
    return -tf.math.log(-tf.math.log(uniform))


def choose(logits, gumbel, temperature, known, values):
    """Values of sub-pixels: `values` where `known`, else a Gumbel-max draw from `logits`.

    Args:
        logits: (..., levels) float.
        gumbel: (..., levels) noise from `gumbel_noise`, same dtype.
        temperature: float scalar tensor > 0.
        known: (...) bool.
        values: (...) int32.

    Returns:
        (...) int32.
    """
    drawn = tf.argmax(logits / temperature + gumbel, axis=-1, output_type=tf.int32)
    return tf.where(known, values, drawn)
