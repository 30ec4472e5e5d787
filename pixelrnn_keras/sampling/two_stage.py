"""Sampling in a model's stages (`model.stages()`, models/stages.py): for a `MultiScalePixelRNN`, the
s x s image first, then the n x n image given it; a `PixelRNN` is one stage.

Each stage runs a sampling loop (`cached` or `naive`) on its network, with its condition map
computed from the sub-pixels the stages before drew, their pixels clamped (they are known) and
the others drawn in raster order. Each stage's Gumbel noise comes from its own seed, derived from
the one seed given, so that a seed fixes the images whichever loop runs.

`run_stages` takes the loop as an argument, so that the ONNX export runs the stages with the
portable cached loop, and the seeds are derived in TensorFlow ops, so that an exported
SavedModel derives them from a seed tensor (see `pixelrnn_keras.export.adapters`).
"""

import tensorflow as tf

from pixelrnn_keras.models.stages import grid_mask
from pixelrnn_keras.sampling.api import check_draw_args, check_method, generate
from pixelrnn_keras.sampling.noise import gumbel_noise

# numpy's SeedSequence (numpy/random/bit_generator.pyx) for an entropy of up to 4 32-bit words.
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_MULT_L, _MIX_MULT_R, _POOL_SIZE = 0xCA01F9DD, 0x4973F715, 4


def _hash_constants(init, mult, count):
    """init * mult**k mod 2**32 for k in [0, count]: SeedSequence's hash constant before each use."""
    return [init * pow(mult, k, 2**32) % 2**32 for k in range(count + 1)]


def stage_seeds(seed):
    """Two independent seeds in [0, 2**63), (low, high) int64 scalar tensors, derived from `seed`.

    The numbers of `np.random.SeedSequence(seed).generate_state(2, np.uint64) >> 1`, computed
    with TensorFlow's (wrapping) uint32 arithmetic so that `seed` may also be an int64 scalar
    tensor in a graph: an exported SavedModel draws the same images from a seed as the library.
    """
    seed = tf.convert_to_tensor(seed, tf.int64)
    shift = tf.bitwise.right_shift

    def u32(value):
        return tf.constant(value, tf.uint32)

    def shifted_xor(value):
        return value ^ shift(value, u32(16))

    # Each call of SeedSequence's hashmix XORs with one constant and multiplies by the next.
    constants = _hash_constants(_INIT_A, _MULT_A, _POOL_SIZE**2)
    calls = iter(zip(constants, constants[1:]))

    def hashmix(value):
        xor, mult = next(calls)
        return shifted_xor((value ^ u32(xor)) * u32(mult))

    def mix(x, y):
        return shifted_xor(u32(_MIX_MULT_L) * x - u32(_MIX_MULT_R) * y)

    # The entropy: the seed's 32-bit words, little-endian, padded with zeros to the pool size.
    words = [tf.cast(seed & 0xFFFFFFFF, tf.uint32), tf.cast(shift(seed, tf.constant(32, tf.int64)), tf.uint32)]
    pool = [hashmix(word) for word in words + [u32(0)] * (_POOL_SIZE - len(words))]
    for source in range(_POOL_SIZE):
        for target in range(_POOL_SIZE):
            if source != target:
                pool[target] = mix(pool[target], hashmix(pool[source]))
    # generate_state: four 32-bit words, the halves (low, high) of two 64-bit ones.
    constants = _hash_constants(_INIT_B, _MULT_B, _POOL_SIZE)
    state = [shifted_xor((word ^ u32(constants[k])) * u32(constants[k + 1])) for k, word in enumerate(pool)]

    def shifted_word(low_half, high_half):  # (high_half << 32 | low_half) >> 1, as int64
        high_half, low_half = tf.cast(high_half, tf.int64), tf.cast(low_half, tf.int64)
        return tf.bitwise.left_shift(high_half, tf.constant(31, tf.int64)) | shift(low_half, tf.constant(1, tf.int64))

    return shifted_word(state[0], state[1]), shifted_word(state[2], state[3])


def stage_noise(model, num, seed):
    """The Gumbel noise of each stage, [(num, h, w, C, G)] (G = `noise_size(L)`), from `seed`: for one stage, the noise of
    `seed` itself (as `sampling.sample` draws it); for two, that of each of `stage_seeds(seed)`.

    `num` and `seed` may be ints or scalar tensors (int32, int64), as in `gumbel_noise`.
    """
    stages = model.stages()
    if len(stages) > 2:
        raise ValueError(f"seeds are derived for one or two stages; this model has {len(stages)}")
    seeds = [seed] if len(stages) == 1 else stage_seeds(seed)
    return [
        gumbel_noise(num, stage.network.image_shape, model.levels, stage_seed, model.compute_dtype)
        for stage, stage_seed in zip(stages, seeds)
    ]


def draw(
    model,
    values,
    known,
    seed,
    temperature,
    method="cached",
    jit_compile=True,
    labels=None,
    keep_logits=True,
    wavefront=True,
):
    """Completes `values` where `known` is False, stage by stage; (images, last stage's logits).

    Args:
        model: a model with stages (a `MultiScalePixelRNN`, a `PixelRNN`).
        values: (N, H, W, C) int32 tensor; kept where `known`.
        known: (N, H, W, C) bool tensor.
        seed: None or int; temperature, method, jit_compile: as in `pixelrnn_keras.sampling.sample`.
        labels: the (N,) class labels of a class-conditional model, else None.
        keep_logits: return the logits too (else None; see `api.generate`).
        wavefront: as in `pixelrnn_keras.sampling.sample`.

    Returns:
        images (N, H, W, C) int32, and the logits each sub-pixel of the last stage was drawn from,
        (N, H, W, C, L) (see `api.generate`; for checks).
    """
    seed = check_draw_args(seed, temperature, method)
    gumbels = stage_noise(model, int(values.shape[0]), seed)
    return draw_from_noise(
        model, gumbels, temperature, values, known, method, jit_compile, labels, keep_logits, wavefront
    )


def draw_from_noise(
    model,
    gumbels,
    temperature,
    values,
    known,
    method="cached",
    jit_compile=True,
    labels=None,
    keep_logits=True,
    wavefront=True,
):
    """`draw` with each stage's noise given (see `stage_noise`); the batch may be dynamic."""
    check_method(method)

    def loop(network, gumbel, temperature, values, known, condition):
        return generate(
            network,
            gumbel,
            temperature,
            values,
            known,
            method,
            jit_compile,
            condition,
            keep_logits,
            wavefront=wavefront,
        )

    return run_stages(model, gumbels, temperature, values, known, loop, labels)


def run_stages(model, gumbels, temperature, values, known, loop, labels=None):
    """The model's stages, each run by a sampling loop given as an argument; (images, last stage's logits).

    Each stage completes its image (the model's, subsampled by its factor), keeping the known
    sub-pixels and those of the stages before, and draws the rest given its condition.

    Args:
        gumbels: each stage's noise, [(N, h, w, C, G)] (see `stage_noise`).
        values, known: (N, H, W, C) int32 and bool: the sub-pixels to keep.
        loop: (network, gumbel, temperature, values, known, condition map or None) ->
            (images, logits), a sampling loop of `network` (e.g. `generate`).
        labels: the (N,) class labels of a class-conditional model, else None.
    """
    temperature = tf.cast(temperature, gumbels[-1].dtype)
    for stage, gumbel in zip(model.stages(), gumbels):
        f = stage.factor
        condition = None if stage.condition is None else stage.condition(values, labels)
        images, logits = loop(stage.network, gumbel, temperature, values[:, ::f, ::f], known[:, ::f, ::f], condition)
        if f > 1:  # the later stages keep this one's sub-pixels
            grid = tf.constant(grid_mask(*model.image_shape[:2], f)[None, :, :, None])
            values = tf.where(grid, upsample_nearest(images, f), values)
            known = tf.logical_or(known, tf.broadcast_to(grid, tf.shape(known)))
    return images, logits


def upsample_nearest(images, factor):
    """(N, s, s, C) -> (N, s * factor, s * factor, C), each pixel repeated factor x factor times."""
    return tf.repeat(tf.repeat(images, factor, axis=1), factor, axis=2)
