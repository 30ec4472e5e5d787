"""Gumbel-max sampling: all the randomness of a sampler, drawn up front from a seed.

A categorical draw is argmax(logits / temperature + g) with g ~ Gumbel(0, 1) i.i.d. per level.
Drawing every g of every sub-pixel before sampling makes the result a pure function of
(seed, model), so the naive and the cached sampler return the same images. The noise is drawn
outside XLA because stateless random ops give other numbers under jit compilation.

With many levels the draw takes two Gumbel-max steps (`levels_grouping`): a group of consecutive
levels by the group's total probability (the log-sum-exp of its logits), then a level within that
group. It is the same distribution as one Gumbel-max over all levels, with 32 noise numbers per
sub-pixel instead of 256 at 256 levels: drawing those numbers cost a fifth of CIFAR-10 sampling.
"""

import math

import numpy as np
import tensorflow as tf


def levels_grouping(levels):
    """(groups, group_size) of the two-step draw, or (1, levels) where one step needs fewer numbers.

    Groups of ceil(sqrt(levels)) consecutive levels, the last one padded (256 levels: 16 x 16).
    """
    group_size = math.isqrt(levels - 1) + 1
    groups = -(-levels // group_size)
    return (groups, group_size) if groups + group_size < levels else (1, levels)


def noise_size(levels):
    """The Gumbel numbers a sub-pixel of `levels` levels is drawn with: 32 at 256 levels, 2 at 2."""
    groups, group_size = levels_grouping(levels)
    return levels if groups == 1 else groups + group_size


def gumbel_noise(num, image_shape, levels, seed, dtype="float32"):
    """(num, H, W, C, noise_size(levels)) standard Gumbel noise from the int `seed` (eager, never under XLA).

    `num` and `seed` may also be scalar tensors (int32 and int64) in a graph without XLA, as in
    an exported SavedModel: stateless random ops give the same numbers there as eagerly.
    """
    dtype = tf.as_dtype(dtype)
    shape = [num, *image_shape, noise_size(levels)]
    # u in [tiny, 1): both logarithms stay finite.
    tiny = np.finfo(dtype.as_numpy_dtype).tiny
    seed = tf.stack([tf.convert_to_tensor(seed, tf.int64), tf.constant(0, tf.int64)])
    uniform = tf.random.stateless_uniform(shape, seed=seed, minval=tiny, dtype=dtype)
    return -tf.math.log(-tf.math.log(uniform))


def choose(logits, gumbel, temperature, known, values):
    """Values of sub-pixels: `values` where `known`, else a Gumbel-max draw from `logits`.

    Args:
        logits: (..., levels) float.
        gumbel: (..., noise_size(levels)) noise from `gumbel_noise`, same dtype.
        temperature: float scalar tensor > 0.
        known: (...) bool.
        values: (...) int32.

    Returns:
        (...) int32.
    """
    levels = logits.shape[-1]
    scores = logits / temperature
    groups, group_size = levels_grouping(levels)
    if groups == 1:
        drawn = tf.argmax(scores + gumbel, axis=-1, output_type=tf.int32)
    else:
        padding = groups * group_size - levels
        if padding:
            pad = tf.fill(tf.concat([tf.shape(scores)[:-1], [padding]], 0), tf.constant(-np.inf, scores.dtype))
            scores = tf.concat([scores, pad], axis=-1)
        scores = tf.reshape(scores, [-1, groups * group_size])
        gumbel = tf.reshape(gumbel, [-1, groups + group_size])
        # Each group's log-probability up to a constant: the row's probabilities, shifted by its largest
        # score, summed by group in a product with the groups' indicator (a (levels, groups) 0/1 matrix),
        # which XLA runs as one dot instead of a reduction per group (bench/README.md, steps).
        indicator = np.kron(np.eye(groups), np.ones((group_size, 1)))
        top = tf.reduce_max(scores, axis=-1, keepdims=True)
        mass = tf.math.log(tf.matmul(tf.exp(scores - top), tf.constant(indicator, scores.dtype)))
        group = tf.argmax(mass + gumbel[:, :groups], axis=-1, output_type=tf.int32)
        grouped = tf.reshape(scores, [-1, groups, group_size])
        within = tf.gather(grouped, group, batch_dims=1) + gumbel[:, groups:]
        drawn = group * group_size + tf.argmax(within, axis=-1, output_type=tf.int32)
        lead = logits.shape[:-1]
        drawn = tf.reshape(drawn, lead if lead.is_fully_defined() else tf.shape(logits)[:-1])
    return tf.where(known, values, drawn)
