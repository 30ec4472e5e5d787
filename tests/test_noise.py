"""The sampler's draw: Gumbel-max from noise drawn up front, in two steps (group, then level) for many levels.

Each case draws many sub-pixels from one set of logits and compares the counts with the softmax by a
chi-square test: drawing the group by its largest logit instead of its total probability, or the level
with the wrong group's noise, fails it.
"""

import numpy as np
import pytest
import tensorflow as tf

from pixelrnn_keras.sampling.noise import choose, gumbel_noise, levels_grouping, noise_size

DRAWS = 200_000


def chi_square_limit(dof, z=5.0):
    """The chi-square statistic exceeded with probability ~3e-7 (z = 5 sigma; Wilson-Hilferty)."""
    return dof * (1 - 2 / (9 * dof) + z * np.sqrt(2 / (9 * dof))) ** 3


def draw_counts(logits, temperature, seed):
    levels = logits.shape[-1]
    gumbel = gumbel_noise(DRAWS, (1, 1, 1), levels, seed)[:, 0, 0, 0]
    tiled = tf.tile(tf.constant(logits, tf.float32)[None], [DRAWS, 1])
    unknown = tf.zeros([DRAWS], tf.bool)
    drawn = choose(tiled, gumbel, tf.constant(temperature), unknown, tf.zeros([DRAWS], tf.int32))
    return np.bincount(drawn.numpy(), minlength=levels)


@pytest.mark.parametrize(
    "levels, expected",
    [(256, (16, 16, 32)), (10, (3, 4, 7)), (16, (4, 4, 8)), (4, (1, 4, 4)), (3, (1, 3, 3)), (2, (1, 2, 2))],
)
def test_grouping(levels, expected):
    groups, group_size = levels_grouping(levels)
    assert (groups, group_size, noise_size(levels)) == expected
    assert groups * group_size >= levels > (groups - 1) * group_size


def test_noise_shape():
    assert gumbel_noise(3, (4, 5, 3), 256, seed=0).shape == (3, 4, 5, 3, 32)
    assert gumbel_noise(3, (4, 5, 1), 2, seed=0).shape == (3, 4, 5, 1, 2)


# 256 levels: two steps of 16; 10: two steps, the last group padded; 2: one step.
@pytest.mark.parametrize("levels", [256, 10, 2])
@pytest.mark.parametrize("temperature", [1.0, 0.6])
def test_draws_follow_the_softmax(levels, temperature):
    rng = np.random.default_rng(levels)
    # Uneven groups: a few likely levels among many unlikely ones, so that a group's largest logit
    # and its total probability rank the groups differently.
    logits = rng.normal(0, 1.5, levels) + np.where(rng.random(levels) < 0.1, 3.0, 0.0)
    counts = draw_counts(logits, temperature, seed=levels)
    probabilities = np.exp(logits / temperature - np.max(logits / temperature))
    probabilities /= probabilities.sum()
    expected = DRAWS * probabilities
    # Levels expected fewer than 5 times are pooled into one cell, as the test requires.
    rare = expected < 5
    observed = np.append(counts[~rare], counts[rare].sum())
    expected = np.append(expected[~rare], expected[rare].sum())
    if expected[-1] == 0:
        observed, expected = observed[:-1], expected[:-1]
    statistic = np.sum((observed - expected) ** 2 / expected)
    assert statistic < chi_square_limit(len(expected) - 1), (statistic, len(expected))


def test_known_values_are_kept():
    logits = tf.constant(np.random.default_rng(0).normal(size=(6, 256)), tf.float32)
    gumbel = gumbel_noise(6, (1, 1, 1), 256, seed=1)[:, 0, 0, 0]
    known = tf.constant([True, False] * 3)
    values = tf.constant([7, 0, 9, 0, 255, 0])
    drawn = choose(logits, gumbel, tf.constant(1.0), known, values).numpy()
    np.testing.assert_array_equal(drawn[::2], [7, 9, 255])
    assert drawn.dtype == np.int32 and all(0 <= v < 256 for v in drawn[1::2])


def test_leading_shape_kept():
    """choose takes any leading shape (the loops pass (batch,) and (slots * batch,) logits)."""
    logits = tf.zeros([2, 3, 256])
    gumbel = gumbel_noise(2, (3, 1, 1), 256, seed=0)[:, :, 0, 0]
    drawn = choose(logits, gumbel, tf.constant(1.0), tf.zeros([2, 3], tf.bool), tf.zeros([2, 3], tf.int32))
    assert drawn.shape == (2, 3)
