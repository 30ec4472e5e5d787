"""A model's stages compiled for the codec: one XLA loop per stage and batch codes its sub-pixels.

The loop is the cached sampler's (`sampling.cached.step_loop`), with the rANS decoder in the place
of the Gumbel draw: at each sub-pixel the step's logits become integer frequencies, and the value
of every lane that is not known is decoded from the stream then and there, so that decoding never
returns to Python between sub-pixels. The encoder runs the very same compiled loop, with every
value known (nothing is decoded), and codes the (frequency, start) it records of each sub-pixel's
value afterwards (`rans.encode`). Both sides thus compute the frequencies with one program on the
same inputs, bit for bit; a full forward pass, or another compilation of the steps, may differ in
the last bits of the logits and must not stand in for either side.
"""

import weakref

import tensorflow as tf

from pixelrnn_keras.codec import rans
from pixelrnn_keras.models.stages import stages_of
from pixelrnn_keras.sampling.cached import step_loop
from pixelrnn_keras.sampling.conditioned import Conditioned

PRECISION = rans.PRECISION


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


# model -> {(batch, stage index): StageCoder}, dropped with the model (a coder holds it weakly).
_CODERS = weakref.WeakKeyDictionary()


class StageCoder:
    """Stage `index` of a model (`stages_of(model)[index]`) compiled for batches of `batch` images.

    A call runs the stage's steps over its image once, from a rANS state and a window of the
    stream: every sub-pixel that is not `known` is decoded from the window as its step is
    reached. It returns the values, the (frequency, start) of every sub-pixel's value, the state
    after and how many words of the window it read. The weights and the condition (computed from
    the images and labels passed) are read at every call, never compiled in.
    """

    def __init__(self, model, batch, index):
        self._model = weakref.ref(model)  # kept per model, as long as the model lives
        self.batch, self.index = int(batch), int(index)
        height, width, channels = self.stage.network.image_shape
        self.window_size = self.batch * height * width * channels  # a word per sub-pixel at most
        self._run = tf.function(self._run_fn, jit_compile=True, autograph=False)

    @classmethod
    def for_stage(cls, model, index, batch):
        """The coder of stage `index` of `model` for `batch`, compiled once and kept while the model lives."""
        per_model = _CODERS.setdefault(model, {})
        if (batch, index) not in per_model:
            per_model[batch, index] = cls(model, batch, index)
        return per_model[batch, index]

    @property
    def stage(self):
        return stages_of(self._model())[self.index]

    def __call__(self, values, known, images, labels, x, window):
        """Runs the stage once.

        Args:
            values, known: (batch, h, w, C) int32 and bool over the stage's image: the values
                where known (the encoder's every value; the decoder's earlier stages' and the
                padding images'); the rest is decoded.
            images, labels: what the stage's condition reads (the model's images (batch, H, W, C)
                and the (batch,) labels; ignored by a stage without a condition).
            x: the rANS state (int); window: (window_size,) int64, the stream's next words.

        Returns:
            numpy (values (batch, h, w, C) int32, ranges (batch, h, w, C, 2) int32, x, words read).
        """
        outputs = self._run(
            tf.convert_to_tensor(values, tf.int32),
            tf.convert_to_tensor(known, tf.bool),
            tf.convert_to_tensor(images, tf.int32),
            tf.convert_to_tensor(labels, tf.int32),
            tf.constant(x, tf.int64),
            tf.convert_to_tensor(window, tf.int64),
        )
        return tuple(t.numpy() for t in outputs)

    def _run_fn(self, values, known, images, labels, x, window):
        stage = self.stage
        network = (
            stage.network if stage.condition is None else Conditioned(stage.network, stage.condition(images, labels))
        )

        def decode(logits, i, j, c, lane_known, lane_values, carried):
            x, used = carried
            frequencies = frequencies_from_logits(logits)
            symbols, x, used = rans.decode_lanes(frequencies, lane_known, lane_values, x, window, used)
            return symbols, rans.symbol_ranges(frequencies, symbols), (x, used)

        record = (tf.int32, [2])
        values, ranges, (x, used) = step_loop(network, self.batch, values, known, decode, (x, tf.constant(0)), record)
        return values, ranges, x, used
