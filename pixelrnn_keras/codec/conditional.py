"""Conditional networks as `Stepper` models, their condition read from a variable set per batch.

A `Stepper` compiles its functions once per model and batch size, but a conditional network's
condition changes with every batch: the upper network of a `MultiScalePixelRNN` is conditioned on
the batch's s x s images, a class-conditional `PixelRNN` on the batch's labels. So that input lives
in a variable, set before every `Stepper.start`, and `init_cache` computes the condition map from
that variable when the compiled `start` runs; no batch's condition is ever compiled in.
"""

import weakref

import tensorflow as tf

from pixelrnn_keras.codec.steps import kept_per_model


class _VariableConditioned:
    """The one-pixel step API of a conditional network whose condition comes from `self._input`, a
    variable of shape `shape` and `dtype` (batch first) that `set_input` assigns.

    Usage, for every batch: `set_input(...)`, then the `Stepper` of this object as for any model
    (`start()`, then the sub-pixels in raster order). Subclasses say which network steps and how
    its cache starts from the variable (`_network`, `_init_cache`).
    """

    _KEPT = None  # model -> {batch: instance}, per subclass

    def __init__(self, model, batch, shape, dtype):
        self._model = weakref.ref(model)  # kept per model, as long as the model lives
        self.batch = int(batch)
        self._input = tf.Variable(tf.zeros([self.batch, *shape], dtype), trainable=False)

    @classmethod
    def for_model(cls, model, batch):
        """The model's instance for `batch`, kept while the model lives (so is its `Stepper`)."""
        return kept_per_model(cls._KEPT, model, batch, cls)

    @property
    def image_shape(self):
        return self._model().image_shape

    @property
    def levels(self):
        return self._model().levels

    def set_input(self, value):
        """What the next `init_cache` conditions on, (batch, ...)."""
        self._input.assign(value)

    def init_cache(self, batch):
        if batch != self.batch:
            raise ValueError(f"batch must be {self.batch} (the size of the condition's variable), got {batch}")
        return self._init_cache(self._model(), self._input.read_value())

    def step(self, cache, pixel, i, j):
        return self._network().step(cache, pixel, i, j)

    def end_pixel(self, cache, pixel, i, j):
        return self._network().end_pixel(cache, pixel, i, j)

    def end_row(self, cache, i, row):
        return self._network().end_row(cache, i, row)


class UpperSteps(_VariableConditioned):
    """The one-pixel step API of `model.high` conditioned on `model.condition_map(low_images)`, for
    a `MultiScalePixelRNN` `model`; `set_input(low_images)` (batch, s, s, C) before each batch."""

    _KEPT = weakref.WeakKeyDictionary()

    def __init__(self, model, batch):
        super().__init__(model, batch, model.low.image_shape, tf.int32)

    def _network(self):
        return self._model().high

    def _init_cache(self, model, low_images):
        return model.high.init_cache(self.batch, model.condition_map(low_images))


class ClassSteps(_VariableConditioned):
    """The one-pixel step API of a class-conditional `PixelRNN` `model` given the batch's labels;
    `set_input(labels)` (batch,) int32 before each batch."""

    _KEPT = weakref.WeakKeyDictionary()

    def __init__(self, model, batch):
        super().__init__(model, batch, [], tf.int32)

    def _network(self):
        return self._model()

    def _init_cache(self, model, labels):
        return model.init_cache(self.batch, labels=labels)
