"""Integer images <-> 8-bit pixels, and PNG grids."""

import math

import numpy as np
from PIL import Image

from pixelrnn_keras.files import atomic_path


def to_grid(images, levels, columns=None, pad=1):
    """(N, H, W, C) integers in [0, levels) -> one uint8 image (rows*H', cols*W', C) of tiles."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must have shape (N, H, W, 1 or 3); got {images.shape}")
    n, h, w, c = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    pixels = to_intensities(images, levels)
    grid = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, c), 128, "uint8")
    for k in range(n):
        r, col = divmod(k, columns)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[top : top + h, left : left + w] = pixels[k]
    return grid


def to_intensities(images, levels):
    """Integer images in [0, levels) -> uint8 intensities, level k -> round(255 k / (levels - 1))."""
    return np.round(np.asarray(images).astype("float64") * 255.0 / (levels - 1)).astype("uint8")


def from_intensities(pixels, levels, name="pixels"):
    """The inverse of `to_intensities`: uint8 intensities -> int32 levels; ValueError for an
    intensity that is no level's (e.g. 128 for binary images), naming `name`."""
    if levels > 256:
        raise ValueError(f"{name}: 8-bit pixels cannot hold {levels} levels")
    level_of = np.full(256, -1, np.int32)
    level_of[to_intensities(np.arange(levels), levels)] = np.arange(levels)
    values = level_of[np.asarray(pixels, np.uint8)]
    if (values < 0).any():
        found = np.asarray(pixels)[values < 0][0]
        raise ValueError(
            f"{name}: intensities must be those of {levels} levels, round(255 k / {levels - 1}); found {found}"
        )
    return values


def save_png(image, path, scale=1):
    """Write a uint8 (H, W, C) image as PNG, enlarged `scale` times, through a temporary file."""
    image = np.asarray(image)
    picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    with atomic_path(path) as partial:
        picture.save(partial, format="PNG")
