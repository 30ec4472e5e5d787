"""An LSTM recurrence with a linear state-to-state map, and its hand-written gradient.

Row LSTM and Diagonal BiLSTM both step an LSTM whose state-to-state term is one matmul on
a few neighbours ("taps") of the previous hidden state. `LSTMScan` runs that loop and its
gradient loop, each XLA-compiled. The gradient loop carries only the state gradients and
reuses the gate activations saved by the forward loop; the kernel gradient is one big
matmul after it. (TensorFlow's own gradient of a scan runs op by op, 4x slower than the
forward loop on CPU; differentiating a recomputed step per iteration cost 3x the forward.)
"""

import contextlib
import functools
import threading

import tensorflow as tf

_mode = threading.local()


@contextlib.contextmanager
def forward_only():
    """Scans traced inside save no activations for a gradient: inference (log_prob, evaluation)
    runs ~15% faster. A gradient, if one is still asked for, recomputes them, so it stays exact."""
    saved, _mode.forward_only = getattr(_mode, "forward_only", False), True
    try:
        yield
    finally:
        _mode.forward_only = saved


def forward_only_active():
    """Whether scans traced now are forward-only (inside `forward_only`)."""
    return getattr(_mode, "forward_only", False)


class LSTMScan:
    """Runs, for t = 0 .. T - 1 (state zero before t = 0)::

        taps(h)[s] = [h[s + offset] for offset in offsets]   (zero outside 0 .. S - 1)
        i, f, o, g = sigmoid, sigmoid, sigmoid, tanh of gates[t] + taps(h[t - 1]) @ kernel
        c[t] = (f * c[t - 1] + i * g) * valid[t]
        h[t] = o * tanh(c[t]) * valid[t]

    Shapes: gates (T, D, S, B, 4u), laid out [i, f, o, g], any constant terms (forget bias)
    included; kernel (D, k * u, 4u) for k offsets, one per "direction" d (batched matmul); valid (T, 1, S, 1, 1)
    or None (all ones); hidden (T, D, S, B, u). S indexes the positions of one step's slice; the
    batch comes after it, so that a position's states are contiguous (its layout is a gather
    of whole (B, 4u) blocks, see `DiagonalLayout`).

    Args:
        offsets: the k neighbours of position s that its state-to-state term reads, as
            offsets along S (e.g. (-1, 0, 1) for a 3x1 convolution).
    """

    def __init__(self, offsets):
        self.offsets = tuple(int(offset) for offset in offsets)
        self.forward = tf.function(self._forward, jit_compile=True, autograph=False)
        self.backward = tf.function(self._backward, jit_compile=True, autograph=False)
        # Only the hidden states: XLA then drops the activations the gradient loop would need.
        self.infer = tf.function(lambda *args: self._forward(*args)[0], jit_compile=True, autograph=False)
        self.infer_batch_major = tf.function(self._infer_batch_major, jit_compile=True, autograph=False)

    def __call__(self, gates, kernel, valid=None, chunks=None, batch_major=False):
        """Hidden states (T, D, S, B, u); differentiable in `gates` and `kernel`.

        batch_major: gates (T, D, B, S, 4u) and hidden states (T, D, B, S, u), the batch before
            the positions, as an image's rows lie once its rows come first (Row LSTM); one whole
            map, all valid (no valid, no chunks). Forward-only scans swap each step's slice to the loop's
            order inside the compiled loop, where XLA fuses the swap into the step's arithmetic:
            transposing whole maps between the layouts cost 13-20% of a Row LSTM's log_prob
            (bench/README.md). Otherwise the map is transposed around the loop.

        chunks: optional static ((t0, t1, s0, s1), ...) in order of t, partitioning 0 .. T: steps
            t0 .. t1 - 1 then run on positions s0 .. s1 - 1 only. Exact when every position
            outside s0 .. s1 - 1 has valid 0 at steps t0 - 1 .. t1 - 1 (its state is zero there).
            With chunks, `gates` and `valid` are sequences holding each chunk's part,
            (t1 - t0, D, s1 - s0, B, 4u) and (t1 - t0, 1, s1 - s0, 1, 1), and so is the result
            (its hidden states (t1 - t0, D, s1 - s0, B, u)): the caller lays the chunks out
            directly (see `DiagonalLayout`), never the whole T x S map. Without chunks, they may
            be a sequence of one whole map.
        """
        whole = not isinstance(gates, (tuple, list))
        if batch_major and not (whole and valid is None and chunks is None):
            raise ValueError("batch_major takes the whole map of gates, without valid or chunks")
        if whole:
            gates = (gates,)
            valid = None if valid is None else (valid,)
        if valid is None:
            positions = 3 if batch_major else 2
            valid = tuple(tf.ones([tf.shape(g)[0], 1, tf.shape(g)[positions], 1, 1], g.dtype) for g in gates)
        if chunks is None:
            chunks = ((0, None, 0, None),)
        else:
            chunks = tuple(tuple(int(x) for x in chunk) for chunk in chunks)
        if not len(chunks) == len(gates) == len(valid):
            raise ValueError(f"gates and valid must hold one tensor per chunk ({len(chunks)})")
        valid = tuple(tf.stop_gradient(v) for v in valid)
        forward_only_now = forward_only_active()

        def to_loop_layout(maps):
            """Batch-major maps in the loop's (T, D, S, B, F) layout (the swap is its own inverse)."""
            return tuple(_swap_positions_and_batch(x) for x in maps) if batch_major else maps

        @tf.custom_gradient
        def run(kernel, *gates):
            # The compiled loop must not be differentiated itself (its TensorLists cannot leave
            # XLA); `grad` below is its gradient.
            kernel = tf.stop_gradient(kernel)
            gates = tuple(tf.stop_gradient(g) for g in gates)
            if forward_only_now and batch_major:
                hidden, saved = (self.infer_batch_major(gates[0], kernel),), None
            elif forward_only_now:
                hidden, saved = self.infer(gates, kernel, valid, chunks), None
            else:
                hidden, saved = self.forward(to_loop_layout(gates), kernel, valid, chunks)
                hidden = to_loop_layout(hidden)

            def grad(*d_hidden):
                if saved is None:
                    activations = self.forward(to_loop_layout(gates), kernel, valid, chunks)[1]
                else:
                    activations = saved
                d_gates, d_kernel = self.backward(kernel, valid, chunks, activations, to_loop_layout(d_hidden))
                return (d_kernel, *to_loop_layout(d_gates))

            return hidden, grad

        hidden = run(kernel, *gates)
        return hidden[0] if whole else hidden

    def _forward(self, gates, kernel, valid, chunks):
        """Each chunk's hidden states (t, D, s, B, u), and per chunk what the gradient needs: the
        initial hidden and cell (D, s, B, u), hidden and cells (t, D, s, B, u), activations (t, D, s, B, 4u)."""
        units = kernel.shape[-1] // 4
        size = _num_positions(chunks, gates[0])
        shape = tf.shape(gates[0])
        hidden = cell = tf.zeros(tf.stack([shape[1], size, shape[3], units]), gates[0].dtype)

        def step(carry, inputs):
            return self._step(kernel, *carry[:2], *inputs)

        outputs, saved = [], []
        for (_, _, s0, s1), chunk_gates, chunk_valid in zip(chunks, gates, valid):
            initial = hidden[:, s0:s1], cell[:, s0:s1]
            elems = chunk_gates, chunk_valid
            hiddens, cells, activations = tf.scan(step, elems, initializer=(*initial, tf.zeros_like(elems[0][0])))
            saved.append((*initial, hiddens, cells, activations))
            outputs.append(hiddens)
            hidden, cell = _pad_positions(hiddens[-1], s0, s1, size), _pad_positions(cells[-1], s0, s1, size)
        return tuple(outputs), saved

    def _step(self, kernel, hidden, cell, gates, valid=None):
        """One step: (hidden, cell, activations) from the previous hidden and cell (D, S, B, u) and this
        step's gates (D, S, B, 4u) and valid (1, S, 1, 1) (None: all ones)."""
        units = kernel.shape[-1] // 4
        shape = tf.shape(gates)
        taps = tf.reshape(self.taps(hidden), [shape[0], -1, kernel.shape[1]])
        pre = gates + tf.reshape(tf.matmul(taps, kernel), shape)
        activations = tf.concat([tf.sigmoid(pre[..., : 3 * units]), tf.tanh(pre[..., 3 * units :])], -1)
        i, f, o, g = tf.split(activations, 4, axis=-1)
        cell = f * cell + i * g
        if valid is not None:
            cell = cell * valid
        hidden = o * tf.tanh(cell)
        if valid is not None:
            hidden = hidden * valid
        return hidden, cell, activations

    def _infer_batch_major(self, gates, kernel):
        """Hidden states (T, D, B, S, u) of batch-major gates (T, D, B, S, 4u), all positions valid."""
        shape = tf.shape(gates)
        zeros = tf.zeros(tf.stack([shape[1], shape[3], shape[2], kernel.shape[-1] // 4]), gates.dtype)

        def step(carry, gates):
            hidden, cell, _ = carry
            hidden, cell, _ = self._step(kernel, hidden, cell, _swap_positions_and_batch(gates, axis=1))
            return hidden, cell, _swap_positions_and_batch(hidden, axis=1)

        return tf.scan(step, gates, initializer=(zeros, zeros, _swap_positions_and_batch(zeros, axis=1)))[2]

    def _backward(self, kernel, valid, chunks, saved, d_hidden):
        """Gradients (each chunk's d_gates (t, D, s, B, 4u), d_kernel (D, k * u, 4u))."""
        size = _num_positions(chunks, d_hidden[0])
        kernel_t = tf.transpose(kernel, [0, 2, 1])

        def back_step(d_h, d_c, d_out, activations, cell, previous_cell, valid):
            """Step t's d_pre (D, S, B, 4u), and the state gradients carried to step t - 1."""
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
            return d_pre, self.taps_transpose(d_taps), d_c * f

        shape = tf.shape(d_hidden[0])
        d_h = d_c = tf.zeros(tf.stack([shape[1], size, shape[3], shape[4]]), kernel.dtype)
        d_gates, d_kernel = [], tf.zeros_like(kernel)
        for (_, _, s0, s1), chunk_valid, chunk_d_hidden, (hidden0, cell0, hiddens, cells, activations) in reversed(
            list(zip(chunks, valid, d_hidden, saved))
        ):
            previous_cells = tf.concat([cell0[None], cells[:-1]], 0)
            steps = tf.shape(activations)[0]

            # A while loop rather than tf.scan, which would also stack the carried state gradients.
            def body(t, d_h, d_c, d_pres):
                d_pre, d_h, d_c = back_step(
                    d_h, d_c, chunk_d_hidden[t], activations[t], cells[t], previous_cells[t], chunk_valid[t]
                )
                return t - 1, d_h, d_c, d_pres.write(t, d_pre)

            d_pres = tf.TensorArray(activations.dtype, size=steps, element_shape=activations.shape[1:])
            _, d_h, d_c, d_pres = tf.while_loop(
                lambda t, *_: t >= 0,
                body,
                (steps - 1, d_h[:, s0:s1], d_c[:, s0:s1], d_pres),
                maximum_iterations=steps,
            )
            d_pre = d_pres.stack()
            d_h, d_c = _pad_positions(d_h, s0, s1, size), _pad_positions(d_c, s0, s1, size)
            d_gates.append(d_pre)
            # Kernel gradient: sum over steps, batch and positions of taps(h[t - 1])^T d_pre[t].
            previous_hidden = tf.concat([hidden0[None], hiddens[:-1]], 0)
            taps = _directions_first(self.taps(previous_hidden))
            d_kernel += tf.matmul(taps, _directions_first(d_pre), transpose_a=True)
        return tuple(d_gates[::-1]), d_kernel

    def taps(self, hidden):
        """(..., S, B, u) -> (..., S, B, k * u): the hidden state at each offset, zero outside."""
        return tf.concat([_shift(hidden, offset) for offset in self.offsets], -1)

    def taps_transpose(self, d_taps):
        """The adjoint of `taps`: (..., S, B, k * u) -> (..., S, B, u)."""
        blocks = tf.split(d_taps, len(self.offsets), axis=-1)
        return tf.add_n([_shift(block, -offset) for block, offset in zip(blocks, self.offsets)])


@functools.cache
def shared_lstm_scan(offsets):
    """One `LSTMScan` per tuple of offsets, so that layers of the same shapes share its compiled loops."""
    return LSTMScan(offsets)


def _shift(x, offset):
    """y[..., s, :, :] = x[..., s + offset, :, :], zero where s + offset is outside the axis."""
    if offset == 0:
        return x
    paddings = [[0, 0]] * (len(x.shape) - 3) + [[max(-offset, 0), max(offset, 0)], [0, 0], [0, 0]]
    size = tf.shape(x)[-3]
    start = max(offset, 0)
    return tf.pad(x, paddings)[..., start : start + size, :, :]


def _num_positions(chunks, first):
    """S: static from the chunks, or from the first chunk's map if it is the whole map."""
    if chunks[0][3] is None:
        return tf.shape(first)[2]
    return max(s1 for _, _, _, s1 in chunks)


def _pad_positions(x, start, stop, size):
    """Zero-pads axis -3 of `x`, holding positions start .. stop - 1, to all `size` positions."""
    if stop is None or (start == 0 and stop == size):
        return x
    paddings = [[0, 0]] * (len(x.shape) - 3) + [[start, size - stop], [0, 0], [0, 0]]
    return tf.pad(x, paddings)


def _swap_positions_and_batch(x, axis=2):
    """Swaps axes `axis` and `axis + 1`: S and B of a (T, D, S, B, F) map (or of a step's (D, S, B, F))."""
    perm = list(range(len(x.shape)))
    perm[axis], perm[axis + 1] = axis + 1, axis
    return tf.transpose(x, perm)


def _directions_first(x):
    """(T, D, S, B, F) -> (D, T * S * B, F)."""
    x = tf.transpose(x, [1, 0, 2, 3, 4])
    return tf.reshape(x, [tf.shape(x)[0], -1, x.shape[-1]])
