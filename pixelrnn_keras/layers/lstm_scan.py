"""An LSTM recurrence with a linear state-to-state map, and its hand-written gradient.

Row LSTM and Diagonal BiLSTM both step an LSTM whose state-to-state term is one matmul on
a few neighbours ("taps") of the previous hidden state. `LSTMScan` runs that loop and its
gradient loop, each XLA-compiled. The gradient loop carries only the state gradients and
reuses the gate activations saved by the forward loop; the kernel gradient is one big
matmul after it. (TensorFlow's own gradient of a scan runs op by op, 4x slower than the
forward loop on CPU; differentiating a recomputed step per iteration cost 3x the forward.)
"""

import functools

import tensorflow as tf


class LSTMScan:
    """Runs, for t = 0 .. T - 1 (state zero before t = 0)::

        taps(h)[s] = [h[s + offset] for offset in offsets]   (zero outside 0 .. S - 1)
        i, f, o, g = sigmoid, sigmoid, sigmoid, tanh of gates[t] + taps(h[t - 1]) @ kernel
        c[t] = (f * c[t - 1] + i * g) * valid[t]
        h[t] = o * tanh(c[t]) * valid[t]

    Shapes: gates (T, D, B, S, 4u), laid out [i, f, o, g], any constant terms (forget bias)
    included; kernel (D, k * u, 4u) for k offsets, one per "direction" d (batched matmul); valid (T, 1, 1, S, 1)
    or None (all ones); hidden (T, D, B, S, u). S indexes the positions of one step's slice.

    Args:
        offsets: the k neighbours of position s that its state-to-state term reads, as
            offsets along S (e.g. (-1, 0, 1) for a 3x1 convolution).
    """

    def __init__(self, offsets):
        self.offsets = tuple(int(offset) for offset in offsets)
        self.forward = tf.function(self._forward, jit_compile=True, autograph=False)
        self.backward = tf.function(self._backward, jit_compile=True, autograph=False)

    def __call__(self, gates, kernel, valid=None, chunks=None):
        """Hidden states (T, D, B, S, u); differentiable in `gates` and `kernel`.

        chunks: optional static ((t0, t1, s0, s1), ...) in order of t, partitioning 0 .. T: steps
            t0 .. t1 - 1 then run on positions s0 .. s1 - 1 only. Exact when every position
            outside s0 .. s1 - 1 has valid 0 at steps t0 - 1 .. t1 - 1 (its state is zero there).
        """
        if valid is None:
            valid = tf.ones([tf.shape(gates)[0], 1, 1, tf.shape(gates)[3], 1], gates.dtype)
        valid = tf.stop_gradient(valid)
        chunks = tuple(tuple(int(x) for x in chunk) for chunk in chunks) if chunks else ((0, None, 0, None),)

        @tf.custom_gradient
        def run(gates, kernel):
            # The compiled loop must not be differentiated itself (its TensorLists cannot leave
            # XLA); `grad` below is its gradient.
            gates, kernel = tf.stop_gradient(gates), tf.stop_gradient(kernel)
            hidden, saved = self.forward(gates, kernel, valid, chunks)

            def grad(d_hidden):
                return self.backward(kernel, valid, chunks, saved, d_hidden)

            return hidden, grad

        return run(gates, kernel)

    def _forward(self, gates, kernel, valid, chunks):
        """Hidden states (T, D, B, S, u), and per chunk what the gradient needs: the initial
        hidden and cell (D, B, s, u), hidden and cells (t, D, B, s, u), activations (t, D, B, s, 4u)."""
        units = kernel.shape[-1] // 4
        size = tf.shape(gates)[3]
        hidden = cell = tf.zeros(tf.concat([tf.shape(gates)[1:-1], [units]], 0), gates.dtype)

        def step(carry, inputs):
            hidden, cell, _ = carry
            gates, valid = inputs
            shape = tf.shape(gates)
            taps = tf.reshape(self.taps(hidden), [shape[0], -1, kernel.shape[1]])
            pre = gates + tf.reshape(tf.matmul(taps, kernel), shape)
            activations = tf.concat([tf.sigmoid(pre[..., : 3 * units]), tf.tanh(pre[..., 3 * units :])], -1)
            i, f, o, g = tf.split(activations, 4, axis=-1)
            cell = (f * cell + i * g) * valid
            hidden = o * tf.tanh(cell) * valid
            return hidden, cell, activations

        outputs, saved = [], []
        for t0, t1, s0, s1 in chunks:
            initial = hidden[..., s0:s1, :], cell[..., s0:s1, :]
            elems = gates[t0:t1, ..., s0:s1, :], valid[t0:t1, ..., s0:s1, :]
            hiddens, cells, activations = tf.scan(step, elems, initializer=(*initial, tf.zeros_like(elems[0][0])))
            saved.append((*initial, hiddens, cells, activations))
            outputs.append(_pad_positions(hiddens, s0, s1, size))
            hidden, cell = _pad_positions(hiddens[-1], s0, s1, size), _pad_positions(cells[-1], s0, s1, size)
        return tf.concat(outputs, 0), saved

    def _backward(self, kernel, valid, chunks, saved, d_hidden):
        """Gradients (d_gates (T, D, B, S, 4u), d_kernel (D, k * u, 4u))."""
        size = tf.shape(d_hidden)[3]
        kernel_t = tf.transpose(kernel, [0, 2, 1])

        def back_step(carry, inputs):
            d_h, d_c, _ = carry
            d_out, activations, cell, previous_cell, valid = inputs
            i, f, o, g = tf.split(activations, 4, axis=-1)
            d_h = (d_h + d_out) * valid
            tanh_c = tf.tanh(cell)
            d_c = d_c * valid + d_h * o * (1 - tanh_c * tanh_c)
            d_pre = tf.concat(
                [
                    d_c * g * i * (1 - i),
                    d_c * previous_cell * f * (1 - f),
                    d_h * tanh_c * o * (1 - o),
                    d_c * i * (1 - g * g),
                ],
                -1,
            )
            shape = tf.shape(d_pre)
            d_taps = tf.matmul(tf.reshape(d_pre, [shape[0], -1, shape[-1]]), kernel_t)
            d_taps = tf.reshape(d_taps, tf.concat([shape[:-1], [kernel.shape[1]]], 0))
            return self.taps_transpose(d_taps), d_c * f, d_pre

        d_h = d_c = tf.zeros_like(d_hidden[0])
        d_gates, d_kernel = [], tf.zeros_like(kernel)
        for (t0, t1, s0, s1), (hidden0, cell0, hiddens, cells, activations) in reversed(list(zip(chunks, saved))):
            previous_cells = tf.concat([cell0[None], cells[:-1]], 0)
            elems = (d_hidden[t0:t1, ..., s0:s1, :], activations, cells, previous_cells, valid[t0:t1, ..., s0:s1, :])
            initial = (d_h[..., s0:s1, :], d_c[..., s0:s1, :], tf.zeros_like(activations[0]))
            d_hs, d_cs, d_pre = tf.scan(back_step, elems, initializer=initial, reverse=True)
            # With reverse=True, index 0 holds the carry after the chunk's first step.
            d_h, d_c = _pad_positions(d_hs[0], s0, s1, size), _pad_positions(d_cs[0], s0, s1, size)
            d_gates.append(_pad_positions(d_pre, s0, s1, size))
            # Kernel gradient: sum over steps, batch and positions of taps(h[t - 1])^T d_pre[t].
            previous_hidden = tf.concat([hidden0[None], hiddens[:-1]], 0)
            taps = _directions_first(self.taps(previous_hidden))
            d_kernel += tf.matmul(taps, _directions_first(d_pre), transpose_a=True)
        return tf.concat(d_gates[::-1], 0), d_kernel

    def taps(self, hidden):
        """(..., S, u) -> (..., S, k * u): the hidden state at each offset, zero outside."""
        return tf.concat([_shift(hidden, offset) for offset in self.offsets], -1)

    def taps_transpose(self, d_taps):
        """The adjoint of `taps`: (..., S, k * u) -> (..., S, u)."""
        blocks = tf.split(d_taps, len(self.offsets), axis=-1)
        return tf.add_n([_shift(block, -offset) for block, offset in zip(blocks, self.offsets)])


@functools.cache
def shared_lstm_scan(offsets):
    """One `LSTMScan` per tuple of offsets, so that layers of the same shapes share its compiled loops."""
    return LSTMScan(offsets)


def _shift(x, offset):
    """y[..., s, :] = x[..., s + offset, :], zero where s + offset is outside the axis."""
    if offset == 0:
        return x
    paddings = [[0, 0]] * (len(x.shape) - 2) + [[max(-offset, 0), max(offset, 0)], [0, 0]]
    size = tf.shape(x)[-2]
    start = max(offset, 0)
    return tf.pad(x, paddings)[..., start : start + size, :]


def _pad_positions(x, start, stop, size):
    """Zero-pads axis -2 of `x`, holding positions start .. stop - 1, to all `size` positions."""
    if start == 0 and stop is None:
        return x
    paddings = [[0, 0]] * (len(x.shape) - 2) + [[start, size - stop], [0, 0]]
    return tf.pad(x, paddings)


def _directions_first(x):
    """(T, D, B, S, F) -> (D, T * B * S, F)."""
    x = tf.transpose(x, [1, 0, 2, 3, 4])
    return tf.reshape(x, [tf.shape(x)[0], -1, x.shape[-1]])
