"""A model's stages: the networks that draw (sample) and code its sub-pixels, one after another.

A `PixelRNN` is one stage: its network over the whole image. A `MultiScalePixelRNN` is two: the
low network over the subsampled image, then the high network over the full image given it. The
samplers, the codec and the exports loop over `model.stages()` instead of asking the model's class.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Stage:
    """One network's part of a model's order: it draws (or codes) the sub-pixels of its image
    that no earlier stage has, in raster order, given those that earlier stages have.

    Attributes:
        name: the stage's name among its model's stages ("image" for a one-stage model; "low",
            "high" for a multi-scale one); an export names the stage's noise input after it.
        network: the `PixelSteps` network (a `PixelRNN`) that steps over the stage's image.
        factor: the stage's image is the model's images[:, ::factor, ::factor] (1: the whole
            image, as the last stage's is).
        coded: (h, w) bool numpy array over the stage's image: the pixels this stage draws and
            codes; the others are earlier stages' (the same values), fed to its steps as known.
        condition: None for a network without a condition, else (images, labels) -> the
            network's (N, h, w, c) condition map, from the model's images (N, H, W, C) int32 of
            which it reads only earlier stages' sub-pixels, and the (N,) int32 class labels of a
            class-conditional model (None for a model without classes).
    """

    name: str
    network: object
    factor: int
    coded: np.ndarray
    condition: Callable | None = None


def grid_mask(height, width, factor):
    """(height, width) bool numpy array: True at the pixels (i, j) with i and j multiples of `factor`."""
    return (np.arange(height) % factor == 0)[:, None] & (np.arange(width) % factor == 0)[None, :]


def stages_of(model):
    """`model.stages()`, or for another network with the one-pixel step API (`PixelSteps`) its
    one unconditioned stage."""
    if hasattr(model, "stages"):
        return model.stages()
    height, width, _ = model.image_shape
    return [Stage("image", model, 1, np.ones((height, width), bool))]
