"""A model's one-pixel steps, compiled for the codec: the coding distribution of one sub-pixel per call.

An entropy coder runs in Python between sub-pixels, so unlike the cached sampler (one compiled loop
per image) the codec calls compiled steps one at a time. The encoder and the decoder call the same
compiled functions on the same inputs and get bit-identical frequencies. (The logits of a full
forward pass differ from the steps' in the last bits, so the encoder must not take that shortcut.)

Two XLA details shape the functions here:
- A position passed as an argument would be compiled in as a constant (the layers slice at it), one
  program per pixel; inside a loop over positions it is a run-time value, as in the sampler. So each
  call runs a one-iteration loop starting at its position (`_at_position`).
- The caches live in variables, so that a call passes a pixel and a position, not dozens of
  tensors, through Python, and XLA updates the state in place (a call costs what its pixel's
  work costs, not a copy of the caches). The weights arranged for the steps are taken from the
  model by `start`, at every batch.
"""

import weakref

import tensorflow as tf

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
    """The coding distributions of a model's sub-pixels, one per call, for a fixed batch size.

    The model is a `PixelSteps` (models/steps.py): `image_shape` (H, W, C), `levels`,
    `init_cache(batch)`, `step(cache, pixel, i, j) -> (logits (batch, C, levels), cache)`,
    `end_pixel(cache, pixel, i, j)` and `end_row(cache, i, row)`.

    Usage, for every batch of images: `start()`, then for every pixel t = i * W + j in raster
    order and every channel c in order, `frequencies(values, t, c)`, where `values`
    (batch, H, W, C) holds every sub-pixel before (t, c) and zeros from (t, c) on.
    """

    def __init__(self, model, batch):
        self._model = weakref.ref(model)  # a stepper may be kept per model, as long as the model lives
        self.batch = int(batch)
        height, width, channels = model.image_shape
        self._width = width
        self._structure = model.init_cache(self.batch)
        self._carried = self._carried_leaves()
        weights, state = self._split(self._structure)
        # The weights arranged for the steps, packed (set by `start`), and the state, one variable
        # per leaf, so that XLA updates it in place. Between the calls for one pixel it holds the
        # state before that pixel; after the last channel's, the state after its step.
        self._weights = _Packed(weights)
        self._state = [tf.Variable(x, trainable=False) for x in state]
        self._positions = [tf.constant(k, tf.int32) for k in range(max(height * width, channels))]
        compile_ = dict(jit_compile=True, autograph=False)
        self._start = tf.function(self._start_fn, **compile_)
        self._step = tf.function(self._step_fn, **compile_)
        self._advance = tf.function(self._advance_fn, **compile_)

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

    def frequencies(self, values, t, c):
        """(batch, levels) int32 numpy frequencies of channel `c` of pixel `t` (see the class doc)."""
        i, j = divmod(t, self._width)
        pixel, position = values[:, i, j], self._positions[t]
        if c > 0:
            last_channel = c == self.model.image_shape[-1] - 1
            return self._step(pixel, position, self._positions[c], last_channel).numpy()
        # A new pixel: the previous one, complete, is recorded in the caches in the same call.
        last_i, last_j = divmod(max(t - 1, 0), self._width)
        return self._advance(values[:, last_i, last_j], values[:, last_i], pixel, position).numpy()

    # The compiled functions.

    def _start_fn(self):
        weights, state = self._split(self.model.init_cache(self.batch))
        self._weights.write(weights)
        self._write(state)

    def _step_fn(self, pixel, t, c, last_channel):
        """Channel c > 0 of pixel t; the last channel's step carries on in the state."""
        before = self._read()

        def run(s):
            logits, stepped = self.model.step(before, pixel, s // self._width, s % self._width)
            if last_channel:
                self._write(self._split(stepped)[1])
            return frequencies_from_logits(tf.gather(logits, c, axis=1))

        return self._at_position(t, run)

    def _advance_fn(self, last_pixel, last_row, pixel, t):
        """Channel 0 of pixel t, after recording pixel t - 1 (if t > 0) in the state: its values
        `last_pixel` (batch, C), and its row `last_row` (batch, W, C) if it ends one."""
        stepped = self._read()

        def end_pixel(s):
            i, j = s // self._width, s % self._width
            ended = self.model.end_pixel(stepped, last_pixel, i, j)
            return tf.cond(tf.equal(j, self._width - 1), lambda: self.model.end_row(ended, i, last_row), lambda: ended)

        def run(s):
            # At t = 0 the state after the last step is that of `start`.
            before = tf.cond(s > 0, lambda: end_pixel(s - 1), lambda: stepped)
            logits, new_stepped = self.model.step(before, pixel, s // self._width, s % self._width)
            # With more channels, their steps start from `before`; the last one's carries on.
            self._write(self._split(new_stepped if self.model.image_shape[-1] == 1 else before)[1])
            return frequencies_from_logits(logits[:, 0])

        return self._at_position(t, run)

    def _at_position(self, t, run):
        """run(t), in a loop of one iteration over positions: see the module doc. (`run` must take
        the position from its argument, never from `t`.)"""

        def body(s, _):
            return s + 1, run(s)

        initial = tf.zeros([self.batch, self.model.levels], tf.int32)
        return tf.while_loop(lambda s, _: s <= t, body, (t, initial))[1]

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

    def _read(self):
        """The cache: the weights arranged by `start` and the state."""
        weights, state = iter(self._weights.read()), iter([v.read_value() for v in self._state])
        leaves = [next(state) if carried else next(weights) for carried in self._carried]
        return tf.nest.pack_sequence_as(self._structure, leaves)

    def _write(self, state):
        for variable, value in zip(self._state, state):
            variable.assign(value)


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
