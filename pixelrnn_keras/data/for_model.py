"""Loading images for a given model: its size, colour channels and intensity levels, or a clear error."""

import os

from pixelrnn_keras.data.sources import load
from pixelrnn_keras.data.transforms import binarize, quantize


def load_for_model(
    source, image_shape, levels, split=None, resize=False, data_dir=None, model_name="the model", binarize_at=None
):
    """Images from `source` for a model of `image_shape` (H, W, C) and `levels`.

    A folder of PNG/JPEG files is read in the model's colour mode (grey for C = 1, RGB for
    C = 3), resized to H x W with `resize`, and its 8-bit values reduced to `levels`
    (`binarize` at 128 for 2 levels, else `quantize`). A ``.npz`` array or a tensorflow-datasets
    set must already have the model's shape and values in [0, levels).

    Args:
        source, split, data_dir: as in `pixelrnn_keras.data.load`.
        image_shape: the model's (H, W, C).
        levels: the model's number of intensity levels.
        resize: resize a folder's images to H x W (bilinear) instead of refusing other sizes.
        model_name: the model, as named in errors.
        binarize_at: binarize the 8-bit images of any source at this threshold (``x >= t``)
            first, as a zoo card's preprocessing may ask.

    Returns:
        uint8 array (N, H, W, C) with values in [0, levels), N >= 1.

    Raises:
        ValueError: `source` cannot be read, holds no image, or its images do not fit.
    """
    height, width, channels = image_shape
    is_folder = isinstance(source, (str, os.PathLike)) and os.path.isdir(source)
    if resize and not is_folder:
        raise ValueError(f"resize applies to image folders only; {source!r} is not a folder")
    if is_folder:
        color_mode = "grayscale" if channels == 1 else "rgb"
        images = load(source, split=split, color_mode=color_mode, image_shape=(height, width) if resize else None)
    else:
        images = load(source, split=split, data_dir=data_dir)
    if images.shape[0] == 0:
        raise ValueError(f"{source!r} holds no images")
    if images.shape[1:] != tuple(image_shape):
        hint = " (pass resize=True / --resize to resize them)" if is_folder else ""
        raise ValueError(
            f"images of shape {images.shape[1:]} in {source!r} do not fit {model_name}, which takes "
            f"{tuple(image_shape)}{hint}"
        )
    if binarize_at is not None:
        images = binarize(images, threshold=binarize_at)
    elif is_folder and levels < 256:
        return binarize(images) if levels == 2 else quantize(images, levels)
    if images.max() >= levels:
        raise ValueError(
            f"images in {source!r} have values up to {images.max()}, but {model_name} takes values in [0, {levels}); "
            "reduce them first (pixelrnn_keras.data.binarize or quantize)"
        )
    return images
