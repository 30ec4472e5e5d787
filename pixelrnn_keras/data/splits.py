"""Deterministic hold-out splits of an image array."""

import numpy as np

from pixelrnn_keras.data.arrays import is_int, is_number


def split_holdout(images, fraction, seed=0):
    """Split `images` at random into (train, holdout), the same way for the same seed.

    ``round(fraction * N)`` images, drawn by ``numpy.random.default_rng(seed)``, form the
    holdout; both parts keep the original order of the images.

    Args:
        images: array (N, ...), e.g. (N, H, W, C).
        fraction: float in (0, 1), the share of images held out; both parts must be non-empty.
        seed: int >= 0.

    Returns:
        (train, holdout): arrays (N - M, ...) and (M, ...).
    """
    images = np.asarray(images)
    if images.ndim < 1:
        raise ValueError(f"images must be an array (N, ...); got a scalar {images!r}")
    if not (is_number(fraction) and 0 < fraction < 1):
        raise ValueError(f"fraction must be a number in (0, 1); got {fraction!r}")
    if not (is_int(seed) and seed >= 0):
        raise ValueError(f"seed must be an int >= 0; got {seed!r}")
    count = len(images)
    held = int(round(fraction * count))
    if not 0 < held < count:
        raise ValueError(
            f"fraction must leave both parts non-empty; fraction={fraction} of {count} images holds out {held}"
        )
    is_held = np.zeros(count, dtype=bool)
    is_held[np.random.default_rng(seed).permutation(count)[:held]] = True
    return images[~is_held], images[is_held]
