"""Reducing the intensity levels of integer images: quantization and binarization.

Both work element-wise on arrays of any shape, e.g. (N, H, W, C), and return uint8 arrays
of the same shape, ready for a `PixelRNN` with the matching `levels`.
"""

import numpy as np

from pixelrnn_keras.data.arrays import check_int_values, is_int, is_number


def quantize(images, levels, in_levels=256):
    """Map integer images in [0, in_levels) to [0, levels) by ``floor(x * levels / in_levels)``.

    Each output level covers an equal run of input levels when `levels` divides `in_levels`
    (256 -> 4: 0..63 -> 0, 64..127 -> 1, ...).

    Args:
        images: integer array of any shape, e.g. (N, H, W, C), values in [0, in_levels).
        levels: number of output levels, 2 <= levels <= in_levels.
        in_levels: number of input levels, 2..256 (256 for 8-bit images, 17 for the 0..16 digits).

    Returns:
        uint8 array of the shape of `images`, values in [0, levels).
    """
    if not is_int(in_levels) or not 2 <= in_levels <= 256:
        raise ValueError(f"in_levels must be an int in [2, 256]; got {in_levels!r}")
    if not is_int(levels) or not 2 <= levels <= in_levels:
        raise ValueError(f"levels must be an int in [2, in_levels={in_levels}]; got {levels!r}")
    images = check_int_values(images, 0, in_levels - 1)
    return (images.astype(np.int32) * levels // in_levels).astype(np.uint8)


def binarize(images, threshold=128, stochastic=False, seed=0, max_value=255):
    """Map integer images in [0, max_value] to {0, 1}.

    Deterministic (default): 1 where ``x >= threshold``. Stochastic: 1 with probability
    ``x / max_value``, independently per element, drawn from ``numpy.random.default_rng(seed)``
    (the scheme of the dynamically binarized MNIST; `threshold` is not used).

    Args:
        images: integer array of any shape, e.g. (N, H, W, C), values in [0, max_value].
        threshold: number in (0, max_value].
        stochastic: draw each bit at random instead of thresholding.
        seed: int or None (fresh randomness), for `stochastic` only.
        max_value: the largest intensity, an int >= 1 (255 for 8-bit images).

    Returns:
        uint8 array of the shape of `images`, values in {0, 1}.
    """
    if not is_int(max_value) or max_value < 1:
        raise ValueError(f"max_value must be an int >= 1; got {max_value!r}")
    if not isinstance(stochastic, (bool, np.bool_)):
        raise ValueError(f"stochastic must be a bool; got {stochastic!r}")
    images = check_int_values(images, 0, max_value)
    if stochastic:
        if seed is not None and not (is_int(seed) and seed >= 0):
            raise ValueError(f"seed must be None or an int >= 0; got {seed!r}")
        probabilities = images.astype(np.float64) / max_value
        return (np.random.default_rng(seed).random(images.shape) < probabilities).astype(np.uint8)
    if not (is_number(threshold) and 0 < threshold <= max_value):
        raise ValueError(f"threshold must be a number in (0, max_value={max_value}]; got {threshold!r}")
    return (images >= threshold).astype(np.uint8)
