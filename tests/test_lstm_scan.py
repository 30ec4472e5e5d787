"""LSTMScan: its hand-written gradient and its chunked scan against plain autodiff of a Python loop."""

import contextlib

import numpy as np
import pytest
import tensorflow as tf
from skew_reference import skew, unskew

from pixelrnn_keras.layers.diagonal_layout import DiagonalLayout, column_chunks
from pixelrnn_keras.layers.lstm_scan import LSTMScan, forward_only


def reference_scan(scan, gates, kernel, valid):
    """The recurrence of `LSTMScan`, step by step with TensorFlow ops (differentiated by the tape)."""
    steps, directions, size, batch, four_units = gates.shape
    units = four_units // 4
    hidden = tf.zeros([directions, size, batch, units], gates.dtype)
    cell, outputs = hidden, []
    for t in range(steps):
        taps = tf.reshape(scan.taps(hidden), [directions, -1, kernel.shape[1]])
        pre = gates[t] + tf.reshape(tf.matmul(taps, kernel), [directions, size, batch, four_units])
        i, f, o = (tf.sigmoid(pre[..., k * units : (k + 1) * units]) for k in range(3))
        cell = (f * cell + i * tf.tanh(pre[..., 3 * units :])) * valid[t]
        hidden = o * tf.tanh(cell) * valid[t]
        outputs.append(hidden)
    return tf.stack(outputs)


def value_and_grads(fn, gates, kernel, weights):
    with tf.GradientTape() as tape:
        tape.watch([gates, kernel])
        hidden = fn(gates, kernel)
        loss = tf.reduce_sum(hidden * weights)
    return (hidden, *tape.gradient(loss, [gates, kernel]))


@pytest.mark.parametrize("offsets, directions", [((-1, 0), 2), ((-2, -1, 0, 1, 2), 1)])
def test_gradient_matches_autodiff_of_the_loop(offsets, directions):
    rng = np.random.default_rng(len(offsets))
    steps, batch, size, units = 6, 2, 5, 3
    gates = tf.constant(rng.normal(size=(steps, directions, size, batch, 4 * units)))
    kernel = tf.constant(rng.normal(size=(directions, len(offsets) * units, 4 * units)) * 0.5)
    valid = tf.constant((rng.random((steps, 1, size, 1, 1)) > 0.3).astype("float64"))
    weights = tf.constant(rng.normal(size=(steps, directions, size, batch, units)))
    scan = LSTMScan(offsets)
    got = value_and_grads(lambda g, k: scan(g, k, valid), gates, kernel, weights)
    want = value_and_grads(lambda g, k: reference_scan(scan, g, k, valid), gates, kernel, weights)
    for name, a, b in zip(("hidden", "d_gates", "d_kernel"), got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=name)
        assert np.abs(np.asarray(b)).max() > 1e-3, name  # not trivially zero


@pytest.mark.parametrize("height, width, num_chunks", [(7, 7, 4), (9, 4, 8)])
def test_chunked_diagonal_scan_is_exact(height, width, num_chunks):
    """Laying the skewed map out in chunks that skip its padding changes no value and no gradient."""
    rng = np.random.default_rng(height * width)
    batch, units = 2, 3
    left, right = (tf.constant(rng.normal(size=(batch, height, width, 4 * units))) for _ in range(2))
    kernel = tf.constant(rng.normal(size=(2, 2 * units, 4 * units)) * 0.5)
    weights = tf.constant(rng.normal(size=(2, batch, height, width, units)))
    scan = LSTMScan((-1, 0))
    chunks = column_chunks(height, width, num_chunks)
    assert len(chunks) == num_chunks and sum((r1 - r0) * (t1 - t0) for t0, t1, r0, r1 in chunks) < (
        height * (height + width - 1)
    )
    layout = DiagonalLayout(chunks)

    def chunked(maps, kernel):
        hidden = scan(layout.to_chunks(maps[0], maps[1]), kernel, layout.valid(height, width, maps.dtype), chunks)
        return layout.to_image(hidden, height, width)

    def reference(maps, kernel):
        """The whole skewed map, built with `skew` on the (mirrored) maps, then unskewed."""
        columns = skew(tf.concat([maps[0], tf.reverse(maps[1], [2])], 0))
        columns = tf.transpose(tf.reshape(columns, [2, batch, *columns.shape[1:]]), [3, 0, 2, 1, 4])
        offset = np.arange(height + width - 1)[:, None] - np.arange(height)[None, :]
        valid = tf.constant(((offset >= 0) & (offset < width))[:, None, :, None, None].astype("float64"))
        hidden = reference_scan(scan, columns, kernel, valid)
        hidden = tf.reshape(tf.transpose(hidden, [1, 3, 2, 0, 4]), [2 * batch, height, -1, units])
        hidden = tf.reshape(unskew(hidden, width), [2, batch, height, width, units])
        return tf.stack([hidden[0], tf.reverse(hidden[1], [2])])

    maps = tf.stack([left, right])
    got = value_and_grads(chunked, maps, kernel, weights)
    want = value_and_grads(reference, maps, kernel, weights)
    for name, a, b in zip(("hidden", "d_maps", "d_kernel"), got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=name)
        assert np.abs(np.asarray(b)).max() > 1e-3, name  # not trivially zero


@pytest.mark.parametrize("forward_only_mode", [False, True])
def test_batch_major_layout_is_the_same_scan(forward_only_mode):
    """Gates (T, D, B, S, 4u) give the hidden states and gradients of the (T, D, S, B, 4u) layout, swapped."""
    rng = np.random.default_rng(3)
    steps, batch, size, units = 5, 3, 6, 4
    gates = tf.constant(rng.normal(size=(steps, 1, size, batch, 4 * units)))
    kernel = tf.constant(rng.normal(size=(1, 3 * units, 4 * units)) * 0.5)
    weights = tf.constant(rng.normal(size=(steps, 1, size, batch, units)))
    scan = LSTMScan((-1, 0, 1))

    def swap(x):
        return tf.transpose(x, [0, 1, 3, 2, 4])

    def batch_major(g, k):
        with forward_only() if forward_only_mode else contextlib.nullcontext():
            return swap(scan(swap(g), k, batch_major=True))

    got = value_and_grads(batch_major, gates, kernel, weights)
    want = value_and_grads(lambda g, k: scan(g, k), gates, kernel, weights)
    for name, a, b in zip(("hidden", "d_gates", "d_kernel"), got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=name)
