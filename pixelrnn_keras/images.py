"""Integer images -> PNG grids."""

import math
import os

import numpy as np
from PIL import Image


def to_grid(images, levels, columns=None, pad=1):
    """(N, H, W, C) integers in [0, levels) -> one uint8 image (rows*H', cols*W', C) of tiles."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must have shape (N, H, W, 1 or 3); got {images.shape}")
    n, h, w, c = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    pixels = np.round(images.astype("float64") * 255.0 / (levels - 1)).astype("uint8")
    grid = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, c), 128, "uint8")
    for k in range(n):
        r, col = divmod(k, columns)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[top : top + h, left : left + w] = pixels[k]
    return grid


def save_png(image, path, scale=1):
    """Write a uint8 (H, W, C) image as PNG, enlarged `scale` times, through a temporary file."""
    image = np.asarray(image)
    picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    tmp = f"{path}.partial"
    picture.save(tmp, format="PNG")
    os.replace(tmp, path)
