"""The entropy coder: rANS (range asymmetric numeral systems) with one 64-bit state for a whole stream.

A symbol of frequency f, starting at cumulative frequency `start`, out of 2**PRECISION, costs
log2(2**PRECISION / f) bits. The decoder runs inside the codec's compiled loop (`decode_lanes`),
so that decoding a sub-pixel needs no return to Python; the encoder, which knows every symbol's
(f, start) once that loop has run, codes them all at the end in one compiled loop (`encode`).
rANS decodes in the reverse order of encoding, which suits both: the encoder runs backwards over
the symbols and the stream is written so that the decoder reads it forwards.

The state x stays in [LOWER, LOWER * 2**32) between symbols; the stream is the encoder's final
state (two 32-bit words, high first) and then the 32-bit words it emitted, last first. The
decoder ends at x == LOWER having read every word, which `Decoder.exhausted` checks. One state for
everything keeps the overhead at the final state's 64 bits per stream, whatever the batch size.
"""

import numpy as np
import tensorflow as tf

PRECISION = 24  # frequencies sum to 2**PRECISION
LOWER = 2**31
_WORD_BITS = 32
_WORD_MASK = 2**_WORD_BITS - 1
_SLOT_MASK = 2**PRECISION - 1
# Before coding a symbol of frequency f, the encoder emits a word if x >= f << _EMIT_SHIFT, so
# that x stays below 2**63 and the decoder, reading a word whenever x < LOWER, mirrors it.
_EMIT_SHIFT = _WORD_BITS + 31 - PRECISION
_CHUNK = 2**18  # symbols per call of the compiled encoder (one compiled shape, bounded memory)


def symbol_ranges(frequencies, symbols):
    """(f, start) of `symbols` (n,) int32 under `frequencies` (n, levels) int32: (n, 2) int32."""
    cumulative = tf.cumsum(frequencies, axis=-1)
    f = tf.gather(frequencies, symbols, axis=1, batch_dims=1)
    return tf.stack([f, tf.gather(cumulative, symbols, axis=1, batch_dims=1) - f], axis=-1)


def decode_lanes(frequencies, known, values, x, window, used):
    """Decodes the sub-pixels of the lanes (batch entries) that are not `known`, in lane order.

    Runs in the codec's compiled loop, one call per sub-pixel; lanes that are known (the encoder
    gives every value, the decoder the padding images' and the earlier stages') read nothing.

    Args:
        frequencies: (batch, levels) int32, each row summing to 2**PRECISION.
        known: (batch,) bool; values: (batch,) int32, kept where `known`.
        x: int64 scalar, the state. window: (size,) int64, the stream's next words; used: int32
            scalar, how many of them were read so far.

    Returns:
        (symbols (batch,) int32, x, used).
    """
    batch = frequencies.shape[0]
    cumulative = tf.cast(tf.cumsum(frequencies, axis=-1), tf.int64)
    frequencies = tf.cast(frequencies, tf.int64)
    order = tf.argsort(tf.cast(known, tf.int32), stable=True)  # the unknown lanes first, in lane order
    unknown = batch - tf.reduce_sum(tf.cast(known, tf.int32))

    def decode_one(k, symbols, x, used):
        lane = order[k]
        slot = tf.bitwise.bitwise_and(x, _SLOT_MASK)
        symbol = tf.reduce_sum(tf.cast(cumulative[lane] <= slot, tf.int32))
        f = frequencies[lane, symbol]
        x = f * tf.bitwise.right_shift(x, PRECISION) + slot - (cumulative[lane, symbol] - f)
        read = x < LOWER
        word = window[tf.minimum(used, window.shape[0] - 1)]
        x = tf.where(read, tf.bitwise.bitwise_or(tf.bitwise.left_shift(x, _WORD_BITS), word), x)
        symbols = tf.tensor_scatter_nd_update(symbols, lane[None, None], symbol[None])
        return k + 1, symbols, x, used + tf.cast(read, tf.int32)

    symbols = tf.where(known, values, tf.zeros_like(values))
    _, symbols, x, used = tf.while_loop(
        lambda k, *_: k < unknown, decode_one, (tf.constant(0), symbols, x, used), maximum_iterations=batch
    )
    return symbols, x, used


@tf.function(jit_compile=True, autograph=False)
def _encode_backwards(frequencies, starts, count, x):
    """The words emitted while coding symbols count - 1 .. 0 (of (size,) int64 f and start) from
    state x, in emission order, their number, and the state after."""

    def encode_one(k, x, emitted, words):
        f, start = frequencies[k], starts[k]
        emit = x >= tf.bitwise.left_shift(f, _EMIT_SHIFT)
        words = tf.tensor_scatter_nd_update(words, emitted[None, None], tf.bitwise.bitwise_and(x, _WORD_MASK)[None])
        emitted += tf.cast(emit, tf.int32)
        x = tf.where(emit, tf.bitwise.right_shift(x, _WORD_BITS), x)
        x = tf.bitwise.left_shift(x // f, PRECISION) + x % f + start
        return k - 1, x, emitted, words

    words = tf.zeros([frequencies.shape[0] + 1], tf.int64)  # a word per symbol at most
    initial = (count - 1, x, tf.constant(0), words)
    _, x, emitted, words = tf.while_loop(lambda k, *_: k >= 0, encode_one, initial)
    return words, emitted, x


def encode(ranges):
    """The stream (uint32 words, in the decoder's reading order) of symbols given by their
    (f, start), an (n, 2) integer array in decoding order."""
    x, emitted = tf.constant(LOWER, tf.int64), []
    for end in range(len(ranges), 0, -_CHUNK):  # backwards, a chunk at a time
        chunk = ranges[max(end - _CHUNK, 0) : end]
        padded = np.ones((_CHUNK, 2), np.int64)
        padded[: len(chunk)] = chunk
        words, count, x = _encode_backwards(padded[:, 0], padded[:, 1], tf.constant(len(chunk)), x)
        emitted.append(words.numpy()[: int(count)])
    x = int(x)
    backwards = np.concatenate(emitted) if emitted else np.zeros(0, np.int64)
    return np.concatenate([[x >> _WORD_BITS, x & _WORD_MASK], backwards[::-1]]).astype(np.uint32)


def uniform_ranges(symbols, count):
    """(f, start) (n, 2) of `symbols` (n,) under the uniform distribution over `count` symbols
    (as near as integer frequencies summing to 2**PRECISION get: the last takes the remainder)."""
    share = 2**PRECISION // count
    symbols = np.asarray(symbols, np.int64)
    f = np.where(symbols == count - 1, 2**PRECISION - share * (count - 1), share)
    return np.stack([f, symbols * share], axis=-1)


class Decoder:
    """The decoder's side of a stream outside the compiled loop: its words, the state and the
    reading position, handed to the loop (`window`, `advance`) and back."""

    def __init__(self, words):
        self.words = np.asarray(words, np.int64)
        high, low = (self.words[:2].tolist() + [0, 0])[:2]
        self.x = (high << _WORD_BITS) | low  # < 2**63 in a stream of `encode`; larger ones end in an error
        self.position = 2

    def window(self, size):
        """The next `size` words (zeros past the end), for a compiled loop to read from."""
        window = np.zeros(size, np.int64)
        available = self.words[self.position : self.position + size]
        window[: len(available)] = available
        return window

    def advance(self, x, used):
        """The state after a compiled loop that read `used` words of its window."""
        self.x, self.position = int(x), self.position + int(used)

    def decode_uniform(self, count, number):
        """`number` symbols of the uniform distribution over `count` (see `uniform_ranges`)."""
        share = 2**PRECISION // count
        symbols = []
        for _ in range(number):
            slot = self.x & _SLOT_MASK
            symbol = min(slot // share, count - 1)
            f, start = uniform_ranges([symbol], count)[0].tolist()
            self.x = f * (self.x >> PRECISION) + slot - start
            if self.x < LOWER:
                self.x = (self.x << _WORD_BITS) | int(self.window(1)[0])
                self.position += 1
            symbols.append(symbol)
        return np.array(symbols, np.int32)

    def valid_state(self):
        """Whether the state is one an encoder can end in (a damaged stream's may not be)."""
        return LOWER <= self.x < 2**63

    def exhausted(self):
        """Whether the stream was read to its end and the state is the encoder's initial one."""
        return self.x == LOWER and self.position == len(self.words)
