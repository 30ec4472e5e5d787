"""Sampling and completion entry points: argument checks, noise, and the compiled loops."""

from __future__ import annotations

import math
import numbers
import weakref

import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike

from pixelrnn_keras.checks import check_completion_args
from pixelrnn_keras.models.steps import PixelSteps
from pixelrnn_keras.sampling.cached import cached_loop
from pixelrnn_keras.sampling.conditioned import Conditioned
from pixelrnn_keras.sampling.naive import naive_loop
from pixelrnn_keras.sampling.noise import gumbel_noise, noise_size
from pixelrnn_keras.sampling.parts import BatchParts, default_parts
from pixelrnn_keras.sampling.wavefront import wavefront_loop

LOOPS = {"cached": cached_loop, "naive": naive_loop}

# model -> {(method, jit_compile): tf.function}, dropped with the model. Each function traces
# once per batch size; the model is held weakly, its variables are read at every call.
_COMPILED = weakref.WeakKeyDictionary()


def sample(
    model: PixelSteps,
    num: int,
    seed: int | None = None,
    temperature: float = 1.0,
    method: str = "cached",
    jit_compile: bool = True,
    condition: tf.Tensor | None = None,
    wavefront: bool = True,
) -> tf.Tensor:
    """Draws `num` images from `model`, sub-pixel by sub-pixel.

    Args:
        model: a PixelRNN.
        num: number of images, >= 1.
        seed: int; the same seed gives the same images, whichever `method`. None: a fresh one.
        temperature: > 0; the logits are divided by it (1 samples the model's distribution).
        method: "cached" (fast) or "naive" (one full forward pass per sub-pixel; the reference).
        jit_compile: compile the whole loop with XLA.
        condition: for a conditional model, its (num, H, W, c) condition map (for class labels:
            `model.label_condition(labels)`; `PixelRNN.sample(num, labels=...)` makes it).
        wavefront: the cached loop steps along diagonals (or by colour group) where the network can
            (see `generate`); False: in raster order, as the codec and the exported models do (the
            same images, but for a float32 near-tie between two values that falls the other way).

    Returns:
        (num, H, W, C) int32 tensor of values in [0, levels).
    """
    if isinstance(num, bool) or not isinstance(num, numbers.Integral) or num < 1:
        raise ValueError(f"num must be an int >= 1, got {num!r}")
    shape = (int(num), *model.image_shape)
    values = tf.zeros(shape, tf.int32)
    known = tf.zeros(shape, tf.bool)
    return _draw(model, values, known, seed, temperature, method, jit_compile, condition, wavefront)


def complete(
    model: PixelSteps,
    images: ArrayLike,
    known: ArrayLike,
    seed: int | None = None,
    temperature: float = 1.0,
    method: str = "cached",
    jit_compile: bool = True,
    condition: tf.Tensor | None = None,
    wavefront: bool = True,
) -> tf.Tensor:
    """Keeps the sub-pixels of `images` where `known` is True and draws the others in order.

    Args:
        images: (N, H, W, C) integers in [0, levels); values where `known` is False are ignored.
        known: (N, H, W, C) bool.
        seed, temperature, method, jit_compile, condition, wavefront: as in `sample`.

    Returns:
        (N, H, W, C) int32 tensor.
    """
    images, known = check_completion_args(images, known, model.image_shape, model.levels)
    return _draw(model, images, known, seed, temperature, method, jit_compile, condition, wavefront)


def generate(
    model,
    gumbel,
    temperature,
    values,
    known,
    method="cached",
    jit_compile=True,
    condition=None,
    keep_logits=True,
    parts=None,
    wavefront=True,
):
    """The compiled sampling loop, noise in: (images (N, H, W, C) int32, logits used (N, H, W, C, L)).

    Args:
        gumbel: (N, H, W, C, G) noise from `gumbel_noise` (G = `noise_size(L)` numbers per sub-pixel),
            in the model's compute dtype.
        temperature: float scalar > 0.
        values: (N, H, W, C) int32, kept where `known`.
        known: (N, H, W, C) bool.
        condition: a conditional model's (N, H, W, c) condition map, or None.

    The logits are those each sub-pixel was drawn from (for checks: they equal the logits of a
    forward pass of the returned images); None unless `keep_logits` (recording them costs time).

    `parts`: the cached loop steps the batch as this many independent parts, which XLA runs on
    several cores (`sampling.parts`; the same images). None: `default_parts` for the batch (one
    where the batch size is not known when the loop is traced).

    `wavefront`: the cached loop steps a diagonal of pixels at a time where the network can
    (`sampling.wavefront`; the same images, in fewer steps), else in raster order.
    """
    check_method(method)
    noise_shape = (*model.image_shape, noise_size(model.levels))
    if tuple(gumbel.shape[1:]) != noise_shape:
        raise ValueError(
            f"gumbel must have shape (N, {', '.join(map(str, noise_shape))}) (`gumbel_noise` for this model), "
            f"got {tuple(gumbel.shape)}"
        )
    batch = gumbel.shape[0]  # None in a graph traced for any batch (an exported SavedModel): one part
    if parts is None:
        parts = 1 if batch is None else default_parts(batch)
    elif isinstance(parts, bool) or not isinstance(parts, numbers.Integral) or not 1 <= parts <= (batch or 1):
        raise ValueError(f"parts must be an int from 1 to the batch size {batch}, got {parts!r}")
    if method != "cached":
        parts = 1
    temperature = tf.cast(temperature, gumbel.dtype)
    if not isinstance(wavefront, bool):
        raise ValueError(f"wavefront must be True or False, got {wavefront!r}")
    wavefront = wavefront and method == "cached" and batch is not None
    run = _compiled(model, method, bool(jit_compile), condition is not None, bool(keep_logits), int(parts), wavefront)
    return (
        run(gumbel, temperature, values, known)
        if condition is None
        else run(gumbel, temperature, values, known, condition)
    )


def _compiled(model, method, jit_compile, conditional, keep_logits, parts, wavefront):
    """The compiled loop of `model`, stepping the batch in `parts` parts, along diagonals if
    `wavefront` and the network has them; a conditional one takes the condition map as its last
    argument (an argument, not a constant: one program for every condition)."""
    functions = _COMPILED.setdefault(model, {})
    key = method, jit_compile, conditional, keep_logits, parts, wavefront
    if key not in functions:
        loop, model_ref = LOOPS[method], weakref.ref(model)
        if wavefront and getattr(model, "wavefront", lambda: None)() is not None:
            loop = wavefront_loop

        def run(*args):
            condition = args[-1] if conditional else None
            args = args[:-1] if conditional else args
            if parts > 1:
                stepper = BatchParts.split(model_ref(), args[0].shape[0], parts, condition)
            else:
                stepper = model_ref() if condition is None else Conditioned(model_ref(), condition)
            return loop(stepper, *args, keep_logits=keep_logits)

        run.__name__ = f"{'conditional_' if conditional else ''}{loop.__name__}"  # in traces and XLA dumps
        functions[key] = tf.function(run, jit_compile=jit_compile, autograph=False)
    return functions[key]


def check_method(method):
    if method not in LOOPS:
        raise ValueError(f"method must be one of {sorted(LOOPS)}, got {method!r}")


def check_draw_args(seed, temperature, method):
    """The int seed to draw with (a fresh one for None), after checking all three arguments."""
    check_method(method)
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, numbers.Real)
        or not (math.isfinite(temperature) and temperature > 0)
    ):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    if seed is None:
        return int(np.random.default_rng().integers(2**63))
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**63:
        raise ValueError(f"seed must be None or an int in [0, 2**63), got {seed!r}")
    return int(seed)


def _draw(model, values, known, seed, temperature, method, jit_compile, condition, wavefront):
    seed = check_draw_args(seed, temperature, method)
    gumbel = gumbel_noise(values.shape[0], model.image_shape, model.levels, int(seed), model.compute_dtype)
    return generate(
        model,
        gumbel,
        temperature,
        values,
        known,
        method,
        jit_compile,
        condition,
        keep_logits=False,
        wavefront=wavefront,
    )[0]
