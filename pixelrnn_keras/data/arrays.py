"""Checks of arguments and in-memory image arrays, with errors that name the argument."""

import numpy as np


def is_int(value):
    """Whether `value` is a Python or NumPy int (bools excluded)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_number(value):
    """Whether `value` is a Python or NumPy int or float (bools excluded)."""
    return is_int(value) or isinstance(value, (float, np.floating))


def check_int_values(images, low, high, name="images"):
    """`images` as an integer array with values in [low, high], or ValueError."""
    images = np.asarray(images)
    expected = f"an integer array with values in [{low}, {high}]"
    if not (np.issubdtype(images.dtype, np.integer) or images.dtype == np.bool_):
        raise ValueError(f"{name} must be {expected}; got dtype {images.dtype}")
    if images.size and (images.min() < low or images.max() > high):
        raise ValueError(f"{name} must be {expected}; got values in [{images.min()}, {images.max()}]")
    return images


def as_uint8_images(images, name="images"):
    """Return integer `images` as a uint8 array of shape (N, H, W, C), or raise ValueError.

    Accepts (N, H, W) (a channel axis of size 1 is added) or (N, H, W, C), any integer or
    bool dtype, values in [0, 255]. N may be 0.
    """
    images = np.asarray(images)
    expected = "integer images of shape (N, H, W) or (N, H, W, C) with values in [0, 255]"
    if not (np.issubdtype(images.dtype, np.integer) or images.dtype == np.bool_):
        raise ValueError(f"{name} must be {expected}; got dtype {images.dtype}")
    if images.ndim not in (3, 4) or 0 in images.shape[1:]:
        raise ValueError(f"{name} must be {expected}; got shape {images.shape}")
    if images.size and (images.min() < 0 or images.max() > 255):
        raise ValueError(f"{name} must be {expected}; got values in [{images.min()}, {images.max()}]")
    if images.ndim == 3:
        images = images[..., None]
    return images.astype(np.uint8, copy=False)


def as_int32_labels(labels, count, name="labels"):
    """Class `labels` as an int32 array (count,) of integers >= 0, one per image, or ValueError."""
    labels = np.asarray(labels)
    if labels.shape != (count,) or not np.issubdtype(labels.dtype, np.integer) or (labels < 0).any():
        raise ValueError(
            f"{name} must hold one integer >= 0 per image ({count}); got {labels.dtype} of shape {labels.shape}"
        )
    return labels.astype(np.int32)
