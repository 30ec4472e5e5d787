"""A model's one-pixel steps, compiled for the codec: the coding distributions of its sub-pixels.

The codec is exact because the decoder's distributions are computed by the very same compiled
computation as the encoder's, bit for bit. (The logits of a full forward pass differ from the
steps' in the last bits, so the encoder must not take that shortcut.) Both sides run the one
function `_sub_pixel` per sub-pixel, from the same inputs:

- The decoder learns a sub-pixel's value only after its distribution, so it calls one compiled
  function per sub-pixel (`decode_next`), with the value just decoded.
- The encoder knows every value up front, so it runs a whole row of sub-pixels in one compiled
  call (`encode_row`): a loop over the row's pixels whose body calls `_sub_pixel` as the decoder's
  functions do, with no return to Python in between.

XLA compiles the two differently (a loop with the row's channels in one body, against one
sub-pixel per program), so that their results are bit for bit the same is a property of XLA's
CPU code for these operations, not of the construction: `tests/test_codec.py` checks it on every
arch, colour and binary images, class-conditional and multi-scale models. What keeps it so: no
`tf.cond` or loop around a step in the decoder's functions (which sub-pixel comes next, Python
knows: the variants are compiled apart), and the distributions rounded to integers inside the
same functions (`frequencies_from_logits`).

The caches live in variables, so that a call passes a sub-pixel's values, not dozens of tensors,
through Python, and XLA updates the state in place. The position, the pixel and the row being
coded live in variables too: a position passed as an argument would be compiled in as a constant
(the layers slice at it), one program per pixel. The weights arranged for the steps are taken from
the model by `start`, at every batch.
"""

import weakref

import tensorflow as tf

from pixelrnn_keras.layers.incremental import read_at, write_at

# The coding distributions are integer frequencies summing to 2**PRECISION (constriction's
# coders work at this precision), at least 1 for every level.
PRECISION = 24


def frequencies_from_logits(logits, precision=PRECISION):
    """(..., levels) logits -> (..., levels) int32 frequencies, each >= 1, summing to 2**precision.

    The softmax is floored to 2**precision - levels units and every level gets one more; the units
    that rounding leaves over (or takes in excess) go to the most probable level.
    """
    levels = logits.shape[-1]
    total = 2**precision
    probabilities = tf.nn.softmax(tf.cast(logits, tf.float32))
    counts = tf.cast(tf.floor(probabilities * float(total - levels)), tf.int32) + 1
    rest = total - tf.reduce_sum(counts, axis=-1, keepdims=True)
    top = tf.one_hot(tf.argmax(counts, axis=-1, output_type=tf.int32), levels, dtype=tf.int32)
    return counts + top * rest


# model -> {batch: Stepper}, dropped with the model (a stepper holds its model weakly).
_STEPPERS = weakref.WeakKeyDictionary()


def kept_per_model(cache, model, batch, build):
    """`build(model, batch)`, made once per (model, batch) and kept in `cache`, a
    `weakref.WeakKeyDictionary` of model -> {batch: object}, while the model lives."""
    per_batch = cache.setdefault(model, {})
    if batch not in per_batch:
        per_batch[batch] = build(model, batch)
    return per_batch[batch]


class Stepper:
    """The coding distributions of a model's sub-pixels, for a fixed batch size.

    The model is a `PixelSteps` (models/steps.py): `image_shape` (H, W, C), `levels`,
    `init_cache(batch)`, `step(cache, pixel, i, j) -> (logits (batch, C, levels), cache)`,
    `end_pixel(cache, pixel, i, j)` and `end_row(cache, i, row)`.

    Usage, for every batch of images: `start()`, then the sub-pixels in raster order (pixel by
    pixel, channel by channel), either one at a time with `decode_next` or a row at a time with
    `encode_row`; both give the same frequencies, bit for bit (see the module doc).
    """

    def __init__(self, model, batch):
        self._model = weakref.ref(model)  # a stepper may be kept per model, as long as the model lives
        self.batch = int(batch)
        _, width, channels = model.image_shape
        self._structure = model.init_cache(self.batch)
        self._carried = self._carried_leaves()
        weights, state = self._split(self._structure)
        # The weights arranged for the steps, packed (set by `start`), and the state, one variable
        # per leaf, so that XLA updates it in place. Between sub-pixels of one pixel it holds the
        # state before that pixel; after the last channel's, the state after its step.
        self._weights = _Packed(weights)
        self._state = [tf.Variable(x, trainable=False) for x in state]
        # The next sub-pixel k = (i * W + j) * C + c, and the values of its pixel and row so far.
        self._next = tf.Variable(0, trainable=False)
        self._pixel = tf.Variable(tf.zeros([self.batch, channels], tf.int32), trainable=False)
        self._row = tf.Variable(tf.zeros([self.batch, width, channels], tf.int32), trainable=False)
        self._k = 0  # `_next`, as Python knows it
        compile_ = dict(jit_compile=True, autograph=False)
        self._start = tf.function(self._start_fn, **compile_)
        # Per sub-pixel, one of: the first of an image, the first of a row, of a pixel, channel c > 0.
        self._decoders = {
            kind: tf.function(lambda value, kind=kind: self._decode_fn(kind, value), **compile_)
            for kind in ["image", "row", "pixel", *range(1, channels)]
        }
        self._encoders = {
            first: tf.function(lambda row, before, first=first: self._encode_fn(first, row, before), **compile_)
            for first in (True, False)
        }

    @classmethod
    def for_model(cls, model, batch):
        """The model's stepper for `batch`, compiled once and kept while the model lives."""
        return kept_per_model(_STEPPERS, model, batch, cls)

    @property
    def model(self):
        return self._model()

    def start(self):
        """Caches for a new batch of images (from the model's current weights)."""
        self._start()
        self._k = 0

    def decode_next(self, value):
        """(batch, levels) int32 numpy frequencies of the next sub-pixel, given `value` (batch,)
        int32, the value of the one before (ignored before the first)."""
        width, channels = self.model.image_shape[1:]
        t, c = divmod(self._k, channels)
        kind = c if c else "image" if t == 0 else "row" if t % width == 0 else "pixel"
        self._k += 1
        return self._decoders[kind](value).numpy()

    def encode_row(self, row, before):
        """(W, C, batch, levels) int32 numpy frequencies of the next row's sub-pixels given their
        values `row` (batch, W, C) int32; `before` (batch,) int32 is the value of the sub-pixel
        before the row (ignored before the first)."""
        width, channels = self.model.image_shape[1:]
        if self._k % (width * channels):
            raise ValueError(f"encode_row: the steps are inside a row (sub-pixel {self._k})")
        first = self._k == 0
        self._k += width * channels
        return self._encoders[first](row, before).numpy()

    # The compiled functions.

    def _start_fn(self):
        weights, state = self._split(self.model.init_cache(self.batch))
        self._weights.write(weights)
        self._write((0, state, tf.zeros_like(self._pixel), tf.zeros_like(self._row)))

    def _decode_fn(self, kind, value):
        weights = self._weights.read()
        frequencies, carry = self._sub_pixel(kind, weights, self._read(), value)
        self._write(carry)
        return frequencies

    def _encode_fn(self, first, row, before):
        """A row of `_sub_pixel`s: the first pixel's, then a loop over the others."""
        width, channels = self.model.image_shape[1:]
        weights = self._weights.read()
        # The value before each sub-pixel of the row: `before`, then the row's but its last.
        flat = tf.reshape(row, [self.batch, width * channels])
        previous = tf.concat([before[:, None], flat[:, :-1]], axis=1)

        def pixel(kind, j, carry):
            found = []
            for c in range(channels):
                frequencies, carry = self._sub_pixel(
                    kind if c == 0 else c, weights, carry, read_at(previous, j * channels + c)
                )
                found.append(frequencies)
            return tf.stack(found), carry

        found, carry = pixel("image" if first else "row", 0, self._read())
        record = tf.TensorArray(tf.int32, size=width, element_shape=found.shape).write(0, found)

        def body(j, record, carry):
            found, carry = pixel("pixel", j, carry)
            return j + 1, record.write(j, found), carry

        _, record, carry = tf.while_loop(lambda j, *_: j < width, body, (tf.constant(1), record, carry))
        self._write(carry)
        return record.stack()

    def _sub_pixel(self, kind, weights, carry, value):
        """(frequencies (batch, levels), carry) of sub-pixel k, from carry = (k, state, pixel, row):
        the state before it (see __init__), its pixel's values so far and its row's pixels so far.
        `value` is that of sub-pixel k - 1; `kind` says where sub-pixel k is: "image", "row" or
        "pixel" for channel 0 (the first of an image, of a row, of a pixel), else its channel."""
        width, channels = self.model.image_shape[1:]
        k, state, pixel, row = carry
        t = k // channels
        i, j = t // width, t % width
        if kind in ("row", "pixel"):  # sub-pixel k - 1 completes pixel t - 1: record it
            done = tf.concat([pixel[:, :-1], value[:, None]], axis=1)
            last_i, last_j = (t - 1) // width, (t - 1) % width
            row = write_at(row, done, last_j)
            cache = self.model.end_pixel(self._cache(weights, state), done, last_i, last_j)
            if kind == "row":
                cache = self.model.end_row(cache, last_i, row)
            state = self._split(cache)[1]
        if isinstance(kind, str):
            pixel = tf.zeros_like(pixel)
        else:
            pixel = tf.concat([pixel[:, : kind - 1], value[:, None], pixel[:, kind:]], axis=1)
        logits, stepped = self.model.step(self._cache(weights, state), pixel, i, j)
        c = 0 if isinstance(kind, str) else kind
        if c == channels - 1:  # the last channel's step carries on; the others start from `state`
            state = self._split(stepped)[1]
        return frequencies_from_logits(logits[:, c]), (k + 1, state, pixel, row)

    def _carried_leaves(self):
        """Which leaves of a cache the steps change (state), as opposed to the weights arranged for
        them: a weights leaf comes out of `step`, `end_pixel` and `end_row` as the same tensor."""
        found = []

        def probe():
            model, cache = self.model, self.model.init_cache(self.batch)
            pixel = tf.zeros([self.batch, model.image_shape[-1]], tf.int32)
            row = tf.zeros([self.batch, *model.image_shape[1:]], tf.int32)
            zero = tf.constant(0)
            _, stepped = model.step(cache, pixel, zero, zero)
            ended = model.end_pixel(stepped, pixel, zero, zero)
            rowed = model.end_row(ended, zero, row)
            for leaves in zip(*map(tf.nest.flatten, (cache, stepped, ended, rowed))):
                found.append(any(leaf is not leaves[0] for leaf in leaves[1:]))

        tf.function(probe, autograph=False).get_concrete_function()  # traced, never run
        return found

    def _split(self, cache):
        """(weights leaves, state leaves) of a cache."""
        leaves = tf.nest.flatten(cache)
        return (
            [x for x, carried in zip(leaves, self._carried) if not carried],
            [x for x, carried in zip(leaves, self._carried) if carried],
        )

    def _cache(self, weights, state):
        """The cache of the weights arranged by `start` and the state leaves."""
        weights, state = iter(weights), iter(state)
        leaves = [next(state) if carried else next(weights) for carried in self._carried]
        return tf.nest.pack_sequence_as(self._structure, leaves)

    def _read(self):
        """The carry of `_sub_pixel` kept in the variables."""
        state = [v.read_value() for v in self._state]
        return self._next.read_value(), state, self._pixel.read_value(), self._row.read_value()

    def _write(self, carry):
        k, state, pixel, row = carry
        for variable, value in zip(self._state, state):
            variable.assign(value)
        self._next.assign(k)
        self._pixel.assign(pixel)
        self._row.assign(row)


class _Packed:
    """Tensors of fixed shapes kept in one flat variable per dtype: a compiled call reads a few
    variables rather than dozens (each costs tens of microseconds per call)."""

    def __init__(self, examples):
        self._layout = []  # per tensor: (dtype, offset, shape)
        sizes = {}
        for x in examples:
            offset = sizes.get(x.dtype, 0)
            self._layout.append((x.dtype, offset, x.shape))
            sizes[x.dtype] = offset + x.shape.num_elements()
        self._variables = {
            dtype: tf.Variable(tf.zeros([size], dtype), trainable=False) for dtype, size in sizes.items()
        }

    def read(self):
        flat = {dtype: variable.read_value() for dtype, variable in self._variables.items()}
        return [
            tf.reshape(flat[dtype][offset : offset + shape.num_elements()], shape)
            for dtype, offset, shape in self._layout
        ]

    def write(self, tensors):
        for dtype, variable in self._variables.items():
            parts = [tf.reshape(x, [-1]) for x, (kind, _, _) in zip(tensors, self._layout) if kind == dtype]
            variable.assign(tf.concat(parts, axis=0))
