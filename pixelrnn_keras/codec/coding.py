"""`compress` and `decompress`: range coding of images with a model's exact sub-pixel distributions."""

from __future__ import annotations

import numbers
import zlib
from collections.abc import Callable

import constriction
import keras
import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike

from pixelrnn_keras.checks import check_images, check_labels
from pixelrnn_keras.codec.conditional import StageSteps
from pixelrnn_keras.codec.header import (
    CorruptStreamError,
    Header,
    ModelMismatchError,
    images_crc32,
    model_sha256,
    parse,
)
from pixelrnn_keras.codec.steps import PRECISION, Stepper
from pixelrnn_keras.models.stages import stages_of

DEFAULT_BATCH_SIZE = 64
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
            API (see `Stepper`).
        images: (N, H, W, C) integers in [0, model.levels) (C == 1 may be left out), N >= 1.
        labels: for a class-conditional `PixelRNN` (num_classes K > 0), the (N,) classes of the
            images: each is stored in the stream in log2(K) bits and its image coded given it,
            in about -log2 p(x | y) bits. None: each image is coded under the class that
            gives it the most likelihood (the fewest bits, every class costing log2(K)). Must
            be None for other models.
        batch_size: images per batch of steps (the last batch is padded); recorded in the stream,
            the decoder uses the same. None: min(N, 64). Larger batches are faster per image.
        progress: optional callable(done, total), called after every row of every batch.

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
    encoder = constriction.stream.queue.RangeEncoder()
    family = constriction.stream.model.Categorical(perfect=False)

    def encode(frequencies, truth):
        encoder.encode(truth, family, frequencies.astype(np.float64))
        return truth

    _run(model, int(batch_size), len(images), encode, images, labels, progress)
    payload = encoder.get_compressed().astype("<u4").tobytes()
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
        progress: optional callable(done, total), called after every row of every batch.

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
    decoder = constriction.stream.queue.RangeDecoder(payload)
    family = constriction.stream.model.Categorical(perfect=False)

    def decode(frequencies, _):
        return decoder.decode(family, frequencies.astype(np.float64))

    images, labels = _run(model, header.batch_size, header.num_images, decode, None, None, progress)
    if images_crc32(images, labels) != header.images_crc32 or not decoder.maybe_exhausted():
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


def _run(model, batch_size, num_images, code, images, labels, progress):
    """Codes the sub-pixels of `num_images` images in the model's order, in batches of `batch_size`
    (the last padded); for a class-conditional model, each batch's labels first, uniformly.

    code(frequencies (n, levels) int32, truth (n,) int32 or None) -> the n sub-pixel values; `truth`
    comes from `images` (and `labels`) when encoding. Encoder and decoder run this same loop, so the
    steps see the same inputs on both sides: the values coded so far, zeros elsewhere and in the
    padding images (which take class 0).

    Returns:
        (num_images, H, W, C) int32: the values coded, and (num_images,) int32 labels, or None
        for a model without classes.
    """
    stages = stages_of(model)
    num_classes = _num_classes(model)
    batches = range(0, num_images, batch_size)
    rows = len(batches) * sum(stage.network.image_shape[0] for stage in stages)
    done = 0

    def row_done():
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, rows)

    coded = np.zeros((num_images, *model.image_shape), np.int32)
    coded_labels = np.zeros(num_images, np.int32) if num_classes else None
    for first in batches:
        n = min(batch_size, num_images - first)
        truth = None if images is None else images[first : first + n]
        batch_labels = None
        if num_classes:
            batch_labels = np.zeros(batch_size, np.int32)
            uniform = np.ones((n, num_classes), np.int32)
            batch_labels[:n] = code(uniform, None if labels is None else labels[first : first + n])
            coded_labels[first : first + n] = batch_labels[:n]
        values = np.zeros((batch_size, *model.image_shape), np.int32)
        for index, stage in enumerate(stages):
            steps = stage.network
            if stage.condition is not None:
                steps = StageSteps.for_stage(model, index, batch_size)
                steps.set_input(values, batch_labels)
            f = stage.factor
            # A view of `values`: the stage's sub-pixels are coded in place, for the stages after.
            stage_values = values[:, ::f, ::f]
            stage_truth = None if truth is None else truth[:, ::f, ::f]
            coded_pixels = None if stage.coded.all() else stage.coded
            _code_batch(
                Stepper.for_model(steps, batch_size), stage_values, n, code, stage_truth, row_done, coded_pixels
            )
        coded[first : first + n] = values[:n]
    return coded, coded_labels


def _code_batch(stepper, values, n, code, truth, row_done, coded_pixels=None):
    """Codes the sub-pixels of the first `n` images of `values` (batch, H, W, C) in raster order, in place.

    Only the pixels where `coded_pixels` (H, W) bool is True are coded (all if None); `values` holds
    the others' known values beforehand. Their steps run all the same, so that the state advances.
    `truth`: (n, H, W, C) when encoding, else None. row_done() is called after every row.
    """
    _, height, width, channels = values.shape
    stepper.start()
    for t in range(height * width):
        i, j = divmod(t, width)
        for c in range(channels):
            frequencies = stepper.frequencies(values, t, c)[:n]
            if coded_pixels is None or coded_pixels[i, j]:
                values[:n, i, j, c] = code(frequencies, None if truth is None else truth[:, i, j, c])
        if j == width - 1:
            row_done()


def _maker():
    device = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    return f"tf {tf.__version__} {device}"
