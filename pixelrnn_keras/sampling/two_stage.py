"""Two-stage sampling for `MultiScalePixelRNN`: the s x s image first, then the n x n image given it.

Stage 1 draws the subsampled image with the low-resolution network's loop (`api.generate`).
Stage 2 runs the same loops (`cached` or `naive`) on the conditional network with the
condition map fixed, the grid pixels clamped to the stage-1 image (they are known) and the
other pixels drawn in raster order. Each stage's Gumbel noise comes from its own seed,
derived from the one seed given, so that a seed fixes the images whichever loop runs.
"""

import weakref

import numpy as np
import tensorflow as tf

from pixelrnn_keras.sampling.api import LOOPS, check_draw_args, generate
from pixelrnn_keras.sampling.noise import gumbel_noise

# model -> {(method, jit_compile): tf.function} for stage 2, as in api.py.
_COMPILED = weakref.WeakKeyDictionary()


def stage_seeds(seed):
    """Two independent seeds in [0, 2**63), (low, high), derived from the int `seed`."""
    low, high = np.random.SeedSequence(seed).generate_state(2, np.uint64) >> np.uint64(1)
    return int(low), int(high)


class Conditioned:
    """A conditional PixelRNN with its condition map fixed, in the interface the sampling loops drive.

    Args:
        network: a `PixelRNN` built with condition_features > 0.
        condition: (batch, H, W, condition_features) map.
    """

    def __init__(self, network, condition):
        self.network = network
        self.condition = condition

    @property
    def image_shape(self):
        return self.network.image_shape

    @property
    def levels(self):
        return self.network.levels

    def __call__(self, images):
        return self.network(images, self.condition)

    def init_cache(self, batch):
        return self.network.init_cache(batch, self.condition)

    def step(self, cache, pixel, i, j):
        return self.network.step(cache, pixel, i, j)

    def end_pixel(self, cache, pixel, i, j):
        return self.network.end_pixel(cache, pixel, i, j)

    def end_row(self, cache, row, i):
        return self.network.end_row(cache, row, i)


def draw(model, values, known, seed, temperature, method="cached", jit_compile=True):
    """Completes `values` where `known` is False, in two stages; (images, high-stage logits).

    Args:
        model: a `MultiScalePixelRNN`.
        values: (N, n, n, C) int32 tensor; kept where `known`.
        known: (N, n, n, C) bool tensor.
        seed: None or int; temperature, method, jit_compile: as in `pixelrnn_keras.sampling.sample`.

    Stage 1 completes the subsampled image, keeping the known sub-pixels on the grid; stage 2
    keeps every known sub-pixel and the whole grid, and draws the rest given the condition.

    Returns:
        images (N, n, n, C) int32, and the logits each sub-pixel of stage 2 was drawn from,
        (N, n, n, C, L) (see `api.generate`; for checks).
    """
    seed = check_draw_args(seed, temperature, method)
    low_seed, high_seed = stage_seeds(seed)
    factor, num = model.factor, int(values.shape[0])
    dtype = model.compute_dtype
    low_gumbel = gumbel_noise(num, model.low.image_shape, model.levels, low_seed, dtype)
    low_images, _ = generate(
        model.low, low_gumbel, temperature, values[:, ::factor, ::factor], known[:, ::factor, ::factor], method, jit_compile
    )
    grid = tf.constant(model.grid_mask()[None, :, :, None])
    values = tf.where(grid, upsample_nearest(low_images, factor), values)
    known = tf.logical_or(known, tf.broadcast_to(grid, tf.shape(known)))
    condition = model.condition_map(low_images)
    high_gumbel = gumbel_noise(num, model.image_shape, model.levels, high_seed, dtype)
    temperature = tf.cast(temperature, dtype)
    return _compiled(model, method, bool(jit_compile))(high_gumbel, temperature, values, known, condition)


def upsample_nearest(images, factor):
    """(N, s, s, C) -> (N, s * factor, s * factor, C), each pixel repeated factor x factor times."""
    return tf.repeat(tf.repeat(images, factor, axis=1), factor, axis=2)


def _compiled(model, method, jit_compile):
    functions = _COMPILED.setdefault(model, {})
    if (method, jit_compile) not in functions:
        loop, model_ref = LOOPS[method], weakref.ref(model)

        def run(gumbel, temperature, values, known, condition):
            return loop(Conditioned(model_ref().high, condition), gumbel, temperature, values, known)

        run.__name__ = f"two_stage_{loop.__name__}"
        functions[method, jit_compile] = tf.function(run, jit_compile=jit_compile, autograph=False)
    return functions[method, jit_compile]
