"""`compress` and `decompress`: range coding of images with a model's exact sub-pixel distributions."""

from __future__ import annotations

import numbers
import zlib
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike

from pixelrnn_keras.checks import check_images, check_labels
from pixelrnn_keras.codec import rans
from pixelrnn_keras.codec.header import (
    CorruptStreamError,
    Header,
    ModelMismatchError,
    images_crc32,
    model_sha256,
    parse,
)
from pixelrnn_keras.codec.steps import PRECISION, StageCoder
from pixelrnn_keras.models.stages import stages_of

DEFAULT_BATCH_SIZE = 128  # measured by bench/codec.py --batch 16,32,64,128 (bench/README.md)
MAX_LEVELS = 1024  # the frequencies' rounding stays exact up to here (see frequencies_from_logits)
_STEP_API = ("image_shape", "levels", "init_cache", "step", "end_pixel", "end_row", "get_config", "weights")


def compress(
    model: keras.Model,
    images: ArrayLike,
    labels: ArrayLike | None = None,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """Losslessly compresses integer images with `model`'s likelihoods; about -log2 p(images) bits.

    Args:
        model: a `PixelRNN`, a `MultiScalePixelRNN`, or any Keras model with the one-pixel step
            API (`PixelSteps`, models/steps.py).
        images: (N, H, W, C) integers in [0, model.levels) (C == 1 may be left out), N >= 1.
        labels: for a class-conditional `PixelRNN` (num_classes K > 0), the (N,) classes of the
            images: each is stored in the stream in log2(K) bits and its image coded given it,
            in about -log2 p(x | y) bits. None: each image is coded under the class that
            gives it the most likelihood (the fewest bits, every class costing log2(K)). Must
            be None for other models.
        batch_size: images per batch of steps (the last batch is padded); recorded in the stream,
            the decoder uses the same. None: min(N, 128). Larger batches are faster per image.
        progress: optional callable(done, total), called after every stage of every batch (done
            and total count rows).

    Returns:
        bytes: a header (about 100 bytes: model name and sha256, shape, levels, count, checksums)
        and the range coder's payload.
    """
    _check_model(model)
    given_shape = tuple(np.shape(images))
    images = np.asarray(check_images(images, model.image_shape, model.levels))
    if len(images) == 0:
        raise ValueError(f"images must hold at least one image, got shape {given_shape}")
    if not _num_classes(model):
        if labels is not None:
            raise ValueError("labels must be None: this model has no classes (num_classes=0)")
    elif labels is None:
        labels = np.argmax(model.class_log_likelihoods(images), axis=1).astype(np.int32)
    else:
        labels = np.asarray(check_labels(labels, model.num_classes, len(images)))
    if batch_size is None:
        batch_size = min(len(images), DEFAULT_BATCH_SIZE)
    elif isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or not 1 <= batch_size < 2**16:
        raise ValueError(f"batch_size must be None or an int in [1, 65536), got {batch_size!r}")
    ranges = _run(model, int(batch_size), len(images), None, images, labels, progress)
    payload = rans.encode(ranges).astype("<u4").tobytes()
    header = Header(
        model_name=model.name,
        model_sha256=model_sha256(model),
        image_shape=tuple(model.image_shape),
        levels=model.levels,
        num_images=len(images),
        batch_size=int(batch_size),
        precision=PRECISION,
        maker=_maker(),
        payload_words=len(payload) // 4,
        payload_crc32=zlib.crc32(payload),
        images_crc32=images_crc32(images, labels),
    )
    return header.to_bytes() + payload


def decompress(
    model: keras.Model, data: bytes, progress: Callable[[int, int], None] | None = None
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """The images of a stream made by `compress` with this model (same weights), bit for bit.

    Args:
        model: the model that made the stream (checked by the sha256 of its configuration and weights).
        data: bytes from `compress`.
        progress: optional callable(done, total), called after every stage of every batch (done
            and total count rows).

    Returns:
        (N, H, W, C) uint8 array (uint16 for more than 256 levels); for a class-conditional model,
        (images, labels (N,) int32): the labels stored with them.

    Raises:
        CorruptStreamError (a ValueError): damaged, truncated or extended data, or images that fail
            the stream's checksum; never a wrong image.
        ModelMismatchError (a ValueError): the stream was made by another model.
    """
    _check_model(model)
    header, payload = parse(data)
    check_model(header, model)
    decoder = rans.Decoder(payload)
    if not decoder.valid_state():
        raise CorruptStreamError("data: the stream does not start with a coder state (the stream is damaged)")
    images, labels = _run(model, header.batch_size, header.num_images, decoder, None, None, progress)
    if images_crc32(images, labels) != header.images_crc32 or not decoder.exhausted():
        raise CorruptStreamError(
            "data: the decoded images fail the stream's checksum. The stream is damaged, or this "
            f"machine computes the model's probabilities differently: it was made with {header.maker!r}, "
            f"this is {_maker()!r}"
        )
    images = images.astype(np.uint8 if header.levels <= 256 else np.uint16)
    return images if labels is None else (images, labels)


def read_header(data):
    """The `Header` of a stream (model name, shape, number of images, ...), after its integrity checks."""
    return parse(data)[0]


def check_model(header, model):
    """ModelMismatchError unless `model` is the one that made the stream of `header`."""
    sha = model_sha256(model)
    if sha != header.model_sha256 or tuple(model.image_shape) != header.image_shape or model.levels != header.levels:
        raise ModelMismatchError(
            f"model: the stream was made by model {header.model_name!r} (sha256 {header.model_sha256.hex()[:16]}..., "
            f"images {header.image_shape}, {header.levels} levels); this is {model.name!r} (sha256 "
            f"{sha.hex()[:16]}..., images {tuple(model.image_shape)}, {model.levels} levels)"
        )
    if header.precision != PRECISION:
        raise CorruptStreamError(f"data: precision {header.precision} in the header; this version codes at {PRECISION}")


def _check_model(model):
    missing = [] if hasattr(model, "stages") else [n for n in _STEP_API if not hasattr(model, n)]
    if missing:
        raise ValueError(
            f"model must be a PixelRNN, a MultiScalePixelRNN or a Keras model with the one-pixel step API; "
            f"{type(model).__name__} lacks {missing}"
        )
    if not 2 <= model.levels <= MAX_LEVELS:
        raise ValueError(f"model: the codec handles 2 to {MAX_LEVELS} levels; this model has {model.levels}")


def _num_classes(model):
    return getattr(model, "num_classes", 0)  # a model of another type with the step API has none


def _run(model, batch_size, num_images, decoder, images, labels, progress):
    """Runs the model's stages over `num_images` images in batches of `batch_size` (the last padded):
    encodes `images` (and `labels`) when `decoder` is None, else decodes them from it.

    Each batch's labels (of a class-conditional model) come first, uniformly coded, then each
    stage's sub-pixels in its order. Encoder and decoder run the same compiled loop per stage on
    the same inputs: the values known or coded so far, zeros elsewhere and in the padding images
    (which take class 0); the encoder knows every value, the decoder decodes the ones it lacks.

    Returns:
        encoding: the (f, start) of every coded symbol in decoding order, (n, 2) int (see
        `rans.encode`); decoding: (num_images, H, W, C) int32 images and (num_images,) int32
        labels, or None for a model without classes.
    """
    encoding = decoder is None
    stages = stages_of(model)
    num_classes = _num_classes(model)
    batches = range(0, num_images, batch_size)
    rows = len(batches) * sum(stage.network.image_shape[0] for stage in stages)
    done = 0
    ranges = []  # encoding: per batch and stage, the (f, start) of its coded symbols
    coded = np.zeros((num_images, *model.image_shape), np.int32)
    coded_labels = np.zeros(num_images, np.int32) if num_classes else None
    for first in batches:
        n = min(batch_size, num_images - first)
        batch_labels = np.zeros(batch_size, np.int32)
        if num_classes:
            if encoding:
                batch_labels[:n] = labels[first : first + n]
                ranges.append(rans.uniform_ranges(batch_labels[:n], num_classes))
            else:
                batch_labels[:n] = decoder.decode_uniform(num_classes, n)
            coded_labels[first : first + n] = batch_labels[:n]
        values = np.zeros((batch_size, *model.image_shape), np.int32)
        if encoding:
            values[:n] = images[first : first + n]
        for index, stage in enumerate(stages):
            coder = StageCoder.for_stage(model, index, batch_size)
            f = stage.factor
            # Decoded here: the stage's pixels of the batch's real images (the rest is known).
            decoded = np.zeros((batch_size, *stage.coded.shape, model.image_shape[-1]), bool)
            decoded[:n] = stage.coded[None, :, :, None]
            if encoding:  # every value known, nothing read
                known, x, window = np.ones_like(decoded), rans.LOWER, np.zeros(coder.window_size, np.int64)
            else:
                known, x, window = ~decoded, decoder.x, decoder.window(coder.window_size)
            stage_values, found, x, used = coder(values[:, ::f, ::f], known, values, batch_labels, x, window)
            if encoding:
                # Decoding order: pixel by pixel, channel by channel, image by image.
                order = (1, 2, 3, 0)
                ranges.append(found.transpose(*order, 4)[decoded.transpose(order)])
            else:
                decoder.advance(x, used)
                values[:, ::f, ::f] = stage_values
            done += stage.network.image_shape[0]
            if progress is not None:
                progress(done, rows)
        coded[first : first + n] = values[:n]
    if encoding:
        return np.concatenate(ranges)
    return coded, coded_labels


def _maker():
    device = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    return f"tf {tf.__version__} {device}"
