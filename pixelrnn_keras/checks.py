"""Checks of integer image batches fed to a model, with errors that name the argument.

They sit below the models and the samplers, which both check what they are given.
"""

import numpy as np
import tensorflow as tf


def _shape_matches(shape, image_shape):
    """Whether a batch shape fits (H, W, C); rank 3 (no channel axis) is accepted when C == 1."""
    if len(shape) == 4:
        return all(s is None or s == e for s, e in zip(shape[1:], image_shape))
    if len(shape) == 3 and image_shape[-1] == 1:
        return all(s is None or s == e for s, e in zip(shape[1:], image_shape[:2]))
    return False


def check_images(images, image_shape, levels, name="images"):
    """Return `images` as an int32 tensor of shape (batch, H, W, C), or raise ValueError.

    Shape and dtype are checked always (also while tracing a graph); the value range is
    checked whenever the values are known (numpy arrays and eager tensors).
    """
    dtype = getattr(images, "dtype", None)
    if dtype is None:
        images = np.asarray(images)
        dtype = images.dtype
    dtype = tf.as_dtype(dtype)
    expected = f"integers in [0, {levels}) of shape (batch, {', '.join(map(str, image_shape))})"
    if not (dtype.is_integer or dtype == tf.bool):
        raise ValueError(f"{name} must be {expected}; got dtype {dtype.name}")
    shape = tuple(images.shape)
    if not _shape_matches(shape, image_shape):
        raise ValueError(f"{name} must be {expected}; got shape {shape}")
    if isinstance(images, np.ndarray) or hasattr(images, "numpy"):
        values = np.asarray(images)
        if values.size and (values.min() < 0 or values.max() >= levels):
            raise ValueError(f"{name} must be {expected}; got values in [{values.min()}, {values.max()}]")
    images = tf.cast(images, tf.int32)
    if len(shape) == 3:
        images = images[..., None]
    return images


def check_completion_args(images, known, image_shape, levels):
    """(images (N, H, W, C) int32, known (N, H, W, C) bool) tensors, after checking both.

    `known` marks the sub-pixels of `images` to keep; the others are to be drawn.
    """
    given_shape = tuple(np.shape(images))
    images = check_images(images, image_shape, levels)
    if images.shape[0] == 0:
        raise ValueError(f"images must hold at least one image, got shape {given_shape}")
    known_dtype = getattr(known, "dtype", None)
    if known_dtype is None or tf.as_dtype(known_dtype) != tf.bool or tuple(known.shape) != given_shape:
        raise ValueError(
            f"known must be a bool array of the shape of images {given_shape}, got "
            f"{getattr(known_dtype, 'name', type(known).__name__)} of shape {tuple(np.shape(known))}"
        )
    known = tf.reshape(known, images.shape)  # adds the channel axis where images had none
    return images, known


def check_labels(labels, num_classes, batch=None):
    """Return class `labels` as an int32 tensor (batch,), or raise ValueError naming `labels`.

    Shape and dtype are checked always; the range [0, num_classes) whenever the values are known.
    `batch`: the number of images they label, if known.
    """
    dtype = getattr(labels, "dtype", None)
    if dtype is None:
        labels = np.asarray(labels)
        dtype = labels.dtype
    dtype = tf.as_dtype(dtype)
    expected = f"ints in [0, {num_classes}) of shape ({'batch' if batch is None else batch},)"
    if not dtype.is_integer:
        raise ValueError(f"labels must be {expected}; got dtype {dtype.name}")
    shape = tuple(labels.shape)
    if len(shape) != 1 or (batch is not None and shape[0] is not None and shape[0] != batch):
        raise ValueError(f"labels must be {expected}; got shape {shape}")
    if isinstance(labels, np.ndarray) or hasattr(labels, "numpy"):
        values = np.asarray(labels)
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"labels must be {expected}; got values in [{values.min()}, {values.max()}]")
    return tf.cast(labels, tf.int32)
