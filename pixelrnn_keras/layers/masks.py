"""Causal masks shared by every masked layer.

Sub-pixels are ordered in raster order over pixels, then by colour channel (R, G, B).
Feature maps are split into `color_groups` contiguous groups: feature k of n belongs to
group ``k * groups // n``, so group g of any map may depend on colour channels <= g of the
current pixel (mask B) or < g (mask A) and on every channel of earlier pixels.
"""

import dataclasses

import numpy as np

MASK_TYPES = ("A", "B")


def channel_groups(num_features, groups, blocks=1):
    """Colour group of each feature: `blocks` consecutive blocks, each split contiguously.

    Args:
        num_features: total number of features (a multiple of `blocks`).
        groups: number of colour groups.
        blocks: e.g. 4 for the i, f, o, g gates of an LSTM laid out gate by gate.

    Returns:
        int array of shape (num_features,) with values in [0, groups).
    """
    block = num_features // blocks
    if block * blocks != num_features:
        raise ValueError(f"num_features={num_features} must be a multiple of blocks={blocks}")
    if block < groups:
        raise ValueError(
            f"each block of {block} features is smaller than color_groups={groups}; "
            "every colour group needs at least one feature"
        )
    return np.tile(np.arange(block) * groups // block, blocks)


def check_mask_type(mask_type):
    if mask_type not in MASK_TYPES:
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    return mask_type


def causal_mask(kernel_size, in_features, out_features, groups, mask_type, out_blocks=1):
    """Mask of shape (kh, kw, in_features, out_features) for a causal convolution.

    Taps in rows above the centre and left of the centre in the centre row are open;
    at the centre tap, output group g sees input groups < g (mask A) or <= g (mask B).
    """
    check_mask_type(mask_type)
    kh, kw = kernel_size
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"kernel_size must be odd in both dimensions, got {kernel_size}")
    mask = np.zeros((kh, kw, in_features, out_features), dtype="float32")
    ch, cw = kh // 2, kw // 2
    mask[:ch] = 1.0
    mask[ch, :cw] = 1.0
    g_in = channel_groups(in_features, groups)[:, None]
    g_out = channel_groups(out_features, groups, out_blocks)[None, :]
    centre = g_in < g_out if mask_type == "A" else g_in <= g_out
    mask[ch, cw] = centre.astype("float32")
    return mask


@dataclasses.dataclass(frozen=True)
class FeatureAxis:
    """A weight's axis over features: `blocks` consecutive blocks, each split into colour groups
    (e.g. the four gates of an LSTM, or the taps of a convolution flattened tap by tap).

    reads: the axis runs over the features the layer reads (inputs), not those it computes.
    fixed_tail: the axis ends with this many other inputs that do not grow with the features
        (e.g. the image's channels, read beside them).
    """

    blocks: int = 1
    reads: bool = False
    fixed_tail: int = 0
