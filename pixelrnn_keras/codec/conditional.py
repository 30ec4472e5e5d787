"""The upper network of a `MultiScalePixelRNN`, given a batch's s x s images, as a `Stepper` model.

A `Stepper` compiles its functions once per model and batch size, but the upper network's
condition map changes with every batch: it is computed from the batch's s x s images. So the
s x s images live in a variable, set before every `Stepper.start`, and `init_cache` computes the
map from that variable when the compiled `start` runs; no batch's map is ever compiled in.
"""

import weakref

import tensorflow as tf

from pixelrnn_keras.codec.steps import kept_per_model

# model -> {batch: UpperSteps}, dropped with the model (an UpperSteps holds its model weakly).
_UPPER = weakref.WeakKeyDictionary()


class UpperSteps:
    """The one-pixel step API of `model.high` conditioned on `model.condition_map(low_images)`.

    Usage, for every batch: `set_low_images(low_images)`, then the `Stepper` of this object as
    for any model (`start()`, then the sub-pixels in raster order).

    Args:
        model: a `MultiScalePixelRNN`.
        batch: the batch size of the steps.
    """

    def __init__(self, model, batch):
        self._model = weakref.ref(model)  # kept per model, as long as the model lives
        self.batch = int(batch)
        self._low_images = tf.Variable(tf.zeros([self.batch, *model.low.image_shape], tf.int32), trainable=False)

    @classmethod
    def for_model(cls, model, batch):
        """The model's UpperSteps for `batch`, kept while the model lives (so is its `Stepper`)."""
        return kept_per_model(_UPPER, model, batch, cls)

    @property
    def image_shape(self):
        return self._model().image_shape

    @property
    def levels(self):
        return self._model().levels

    def set_low_images(self, low_images):
        """The s x s images (batch, s, s, C) int32 that the next `init_cache` conditions on."""
        self._low_images.assign(low_images)

    def init_cache(self, batch):
        if batch != self.batch:
            raise ValueError(f"batch must be {self.batch} (the size of the s x s images' variable), got {batch}")
        model = self._model()
        return model.high.init_cache(batch, model.condition_map(self._low_images.read_value()))

    def step(self, cache, pixel, i, j):
        return self._model().high.step(cache, pixel, i, j)

    def end_pixel(self, cache, pixel, i, j):
        return self._model().high.end_pixel(cache, pixel, i, j)

    def end_row(self, cache, row, i):
        return self._model().high.end_row(cache, row, i)
