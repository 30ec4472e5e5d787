"""The training objective shared by the models: the NLL of the images, in nats per image."""

import math

import keras
import numpy as np
import tensorflow as tf

from pixelrnn_keras.layers.lstm_scan import forward_only


class ImageLikelihoodModel(keras.Model):
    """A Keras model of integer images with an exact likelihood, trained on the images alone.

    Subclasses set `image_shape` (H, W, C) and implement `log_prob_from_logits(images, logits)`,
    the log-likelihood of each image (batch,) in nats from the output of `call`;
    `model.fit(images)` then minimises its negative, and the progress bar also shows bits/dim.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.bits_per_dim_tracker = keras.metrics.Mean(name="bits_per_dim")

    @property
    def num_dims(self):
        """Number of sub-pixels per image."""
        return int(np.prod(self.image_shape))

    def nats_to_bits_per_dim(self, nats):
        return nats / (self.num_dims * math.log(2.0))

    # Training: the images are their own target.

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        images = x[0] if isinstance(x, (tuple, list)) else x
        return nll_loss(self, -self.log_prob_from_logits(images, y_pred), sample_weight)

    num_classes = 0  # class-conditional subclasses set K > 0

    def train_step(self, data):
        return super().train_step(self._labels_as_inputs(data))

    def test_step(self, data):
        with forward_only():  # validation needs no gradient: the scans keep no activations
            return super().test_step(self._labels_as_inputs(data))

    def _labels_as_inputs(self, data):
        """`fit` and `evaluate` data as the model takes it: a class-conditional model's labels (the
        `y` of (images, labels) pairs) become part of its inputs; an unconditional model reads the images
        alone and ignores any `y` (a dataset of (image, label) pairs trains it unchanged)."""
        images, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if not self.num_classes:
            return images, None, sample_weight
        return (images, labels), None, sample_weight

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return reducible_logs(super().compute_metrics(x, y, y_pred, sample_weight=sample_weight))

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def nll_loss(model, nll, sample_weight=None):
    """The loss `compute_loss` returns for per-image NLLs `nll` (batch,), in nats.

    Updates `model.bits_per_dim_tracker` (here, where the NLL is computed anyway, rather than
    again in compute_metrics) and adds `model.losses`. Under a tf.distribute strategy the
    replicas' gradients are summed: each replica's share of the mean over the global batch is
    its own mean / replicas (what Keras's losses do; `fit` scales the logged loss back).
    """
    model.bits_per_dim_tracker.update_state(model.nats_to_bits_per_dim(nll), sample_weight=sample_weight)
    if sample_weight is not None:
        nll = nll * tf.cast(sample_weight, nll.dtype)
    loss = tf.reduce_mean(nll)
    if model.losses:
        loss = loss + tf.add_n(model.losses)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / replicas if replicas > 1 else loss


def reducible_logs(logs):
    """A step's logs in a form that multi-worker training can reduce.

    Keras 3 reduces a step's logs between workers with strategy.reduce("MEAN", axis=0), which
    fails on scalars (tensorflow/tensorflow#72388): give them that axis.
    """
    strategy = tf.distribute.get_strategy()
    if getattr(strategy.extended, "_in_multi_worker_mode", lambda: False)():
        return {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs
