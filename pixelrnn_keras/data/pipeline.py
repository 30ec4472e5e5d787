"""tf.data input pipelines that feed integer image batches to `PixelRNN.fit`."""

import numpy as np
import tensorflow as tf

from pixelrnn_keras.data.arrays import as_uint8_images, is_int

# Prefetched batches; fixed because autotuning is switched off (see `make_dataset`).
PREFETCH_BATCHES = 2


def make_dataset(images, batch_size, shuffle=True, seed=0, repeat=False, drop_remainder=False):
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

    Returns:
        tf.data.Dataset of uint8 tensors (batch, H, W, C); batch is `batch_size` except
        possibly the last of each epoch.
    """
    images = as_uint8_images(images)
    if not images.shape[0]:
        raise ValueError(f"images must hold at least one image; got shape {images.shape}")
    if not is_int(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1; got {batch_size!r}")
    if drop_remainder and batch_size > images.shape[0]:
        raise ValueError(
            f"batch_size must be <= the number of images ({images.shape[0]}) with drop_remainder=True; "
            f"got {batch_size}"
        )
    if seed is not None and not (is_int(seed) and seed >= 0):
        raise ValueError(f"seed must be None or an int >= 0; got {seed!r}")
    for name, value in (("shuffle", shuffle), ("repeat", repeat), ("drop_remainder", drop_remainder)):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{name} must be a bool; got {value!r}")

    dataset = tf.data.Dataset.from_tensor_slices(images)
    if shuffle:
        dataset = dataset.shuffle(images.shape[0], seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=bool(drop_remainder))
    if repeat:
        dataset = dataset.repeat()
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(PREFETCH_BATCHES).with_options(options)
