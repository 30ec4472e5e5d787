"""tf.data input pipelines that feed integer image batches to `PixelRNN.fit`."""

import numpy as np
import tensorflow as tf

from pixelrnn_keras.data.arrays import as_int32_labels, as_uint8_images, is_int

# Prefetched batches; fixed because autotuning is switched off (see `make_dataset`).
PREFETCH_BATCHES = 2


def make_dataset(images, batch_size, shuffle=True, seed=0, repeat=False, drop_remainder=False, labels=None):
    """A tf.data.Dataset of uint8 image batches (batch, H, W, C), for `model.fit(dataset)`.

    One pass over the data set is one epoch; every epoch is shuffled anew (from `seed`), then
    batched and prefetched. tf.data autotuning is switched off: on small CPU machines it
    stalled `model.fit` (2x slower).

    Args:
        images: integer images (N, H, W) or (N, H, W, C) with values in [0, 255] (use
            `quantize` / `binarize` first to match the model's `levels`); N >= 1.
        batch_size: int >= 1.
        shuffle: shuffle the images (the whole set; order is kept if False).
        seed: int or None (fresh randomness): the shuffling seed.
        repeat: repeat the epochs forever (then pass `steps_per_epoch` to `fit`).
        drop_remainder: drop the last batch of an epoch if it is smaller than `batch_size`.
        labels: (N,) class labels of the images, for a class-conditional model: the batches
            are then (images, labels) pairs, the labels int32.

    Returns:
        tf.data.Dataset of uint8 tensors (batch, H, W, C); batch is `batch_size` except
        possibly the last of each epoch.
    """
    images = as_uint8_images(images)
    labels = None if labels is None else as_int32_labels(labels, len(images))
    if not images.shape[0]:
        raise ValueError(f"images must hold at least one image; got shape {images.shape}")
    if not is_int(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1; got {batch_size!r}")
    if drop_remainder and batch_size > images.shape[0]:
        raise ValueError(
            f"batch_size must be <= the number of images ({images.shape[0]}) with drop_remainder=True; got {batch_size}"
        )
    if seed is not None and not (is_int(seed) and seed >= 0):
        raise ValueError(f"seed must be None or an int >= 0; got {seed!r}")
    for name, value in (("shuffle", shuffle), ("repeat", repeat), ("drop_remainder", drop_remainder)):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{name} must be a bool; got {value!r}")

    dataset = tf.data.Dataset.from_tensor_slices(images if labels is None else (images, labels))
    if shuffle:
        dataset = dataset.shuffle(images.shape[0], seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=bool(drop_remainder))
    if repeat:
        dataset = dataset.repeat()
    return dataset.prefetch(PREFETCH_BATCHES).with_options(_options())


def make_step_dataset(images, batch_size, seed=0, start_step=0, labels=None):
    """An endless tf.data.Dataset of image batches in which batch k depends only on (images, batch_size, seed, k).

    The images are visited in passes; pass p is a permutation of all images drawn from
    (seed, p), and batches run on across the passes (every batch holds `batch_size` images).
    Unlike `make_dataset(..., repeat=True)`, whose shuffling state lives in the iterator, the
    stream can be restarted anywhere: ``make_step_dataset(..., start_step=s)`` yields exactly
    batches s, s+1, ... of the stream started at 0. This is what makes a training run that is
    resumed after epoch e (from ``start_step = e * steps_per_epoch``) see the same batches as
    an uninterrupted one.

    Under a `tf.distribute` strategy the global batches are split between the replicas
    (tf.data's DATA auto-sharding between workers).

    Args:
        images: integer images (N, H, W) or (N, H, W, C) with values in [0, 255]; N >= 1.
        batch_size: int >= 1 (the global batch).
        seed: int >= 0.
        start_step: int >= 0, the index of the first batch.
        labels: (N,) class labels of the images: the batches are then (images, labels) pairs.

    Returns:
        tf.data.Dataset of int32 tensors (batch_size, H, W, C), without end.
    """
    images = as_uint8_images(images)
    labels = None if labels is None else as_int32_labels(labels, len(images))
    count = images.shape[0]
    if not count:
        raise ValueError(f"images must hold at least one image; got shape {images.shape}")
    for name, value, low in (("batch_size", batch_size, 1), ("seed", seed, 0), ("start_step", start_step, 0)):
        if not is_int(value) or value < low:
            raise ValueError(f"{name} must be an int >= {low}; got {value!r}")
    first_pass, offset = divmod(int(start_step) * int(batch_size), count)
    seed = tf.constant(seed, tf.int64)

    def permutation(pass_index):
        order = tf.random.experimental.stateless_shuffle(tf.range(count, dtype=tf.int64), tf.stack([seed, pass_index]))
        return tf.data.Dataset.from_tensor_slices(order)

    indices = tf.data.Dataset.counter(first_pass).flat_map(permutation).skip(offset)
    pixels = tf.constant(images)
    classes = None if labels is None else tf.constant(labels)

    def gather(batch):
        # int32 batches: tf.distribute's collectives, which may reduce a batch, take no uint8.
        batch_images = tf.cast(tf.gather(pixels, batch), tf.int32)
        return batch_images if classes is None else (batch_images, tf.gather(classes, batch))

    dataset = indices.batch(int(batch_size), drop_remainder=True).map(gather)
    return dataset.prefetch(PREFETCH_BATCHES).with_options(_options())


def _options():
    options = tf.data.Options()
    options.autotune.enabled = False
    # Batches are split between workers element-wise (there are no files to split).
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options
