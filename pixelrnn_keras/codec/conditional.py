"""A model's conditioned stages as `Stepper` models, their condition read from variables set per batch.

A `Stepper` compiles its functions once per model and batch size, but a stage's condition changes
with every batch: the upper network of a `MultiScalePixelRNN` is conditioned on the batch's s x s
images, a class-conditional `PixelRNN` on the batch's labels. So those inputs live in variables,
set before every `Stepper.start`, and `init_cache` computes the condition map from them when the
compiled `start` runs; no batch's condition is ever compiled in.
"""

import weakref

import tensorflow as tf

from pixelrnn_keras.codec.steps import kept_per_model
from pixelrnn_keras.sampling.conditioned import Conditioned


class StageSteps(Conditioned):
    """The one-pixel step API of stage `index` of `model` (`model.stages()[index]`, one with a
    condition), conditioned on the images and labels that `set_input` puts in variables.

    A `Conditioned` (what the samplers drive) holds its network and a fixed condition map; this
    one looks both up on every call instead: the network through a weak reference to the model
    (instances are kept per model, as long as the model lives), and the condition map from the
    variables, computed when the compiled `start` runs, so that one program serves every batch.

    Usage, for every batch: `set_input(...)`, then the `Stepper` of this object as for any model
    (`start()`, then the sub-pixels of the stage's image in raster order).
    """

    _KEPT = weakref.WeakKeyDictionary()  # model -> {(batch, index): instance}

    def __init__(self, model, batch, index):
        self._model = weakref.ref(model)
        self.batch = int(batch)
        self.index = int(index)
        self._images = tf.Variable(tf.zeros([self.batch, *model.image_shape], tf.int32), trainable=False)
        self._labels = tf.Variable(tf.zeros([self.batch], tf.int32), trainable=False)

    @classmethod
    def for_stage(cls, model, index, batch):
        """The instance of stage `index` of `model` for `batch`, kept while the model lives (so is its `Stepper`)."""
        return kept_per_model(cls._KEPT, model, (int(batch), int(index)), lambda model, key: cls(model, *key))

    @property
    def _stage(self):
        return self._model().stages()[self.index]

    @property
    def network(self):
        return self._stage.network

    @property
    def condition(self):
        return self._stage.condition(self._images.read_value(), self._labels.read_value())

    def set_input(self, images, labels=None):
        """What the next `init_cache` conditions on: the model's images (batch, H, W, C), of which
        the condition reads the earlier stages' sub-pixels only, and the class labels (batch,) of
        a class-conditional model."""
        self._images.assign(tf.cast(images, tf.int32))
        if labels is not None:
            self._labels.assign(tf.cast(labels, tf.int32))

    def init_cache(self, batch):
        if batch != self.batch:
            raise ValueError(f"batch must be {self.batch} (the size of the condition's variables), got {batch}")
        return super().init_cache(batch)
