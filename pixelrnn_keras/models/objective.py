"""The training objective shared by the models: the NLL of the images, in nats per image."""

import tensorflow as tf


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
