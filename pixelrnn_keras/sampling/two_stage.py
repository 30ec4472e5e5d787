"""Two-stage sampling for `MultiScalePixelRNN`: the s x s image first, then the n x n image given it.

Stage 1 draws the subsampled image with the low-resolution network's loop (`api.generate`).
Stage 2 runs the same loops (`cached` or `naive`) on the conditional network with the
condition map fixed, the grid pixels clamped to the stage-1 image (they are known) and the
other pixels drawn in raster order. Each stage's Gumbel noise comes from its own seed,
derived from the one seed given, so that a seed fixes the images whichever loop runs.

The stages take their loops as arguments (`two_stages`), so that the ONNX export runs them with
the portable cached loop, and the seeds are derived in TensorFlow ops, so that an exported
SavedModel derives them from a seed tensor (see `pixelrnn_keras.export.adapters`).
"""

import tensorflow as tf

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
    """The Gumbel noise of the two stages, (low (num, s, s, C, L), high (num, n, n, C, L)), from `seed`.

    `num` and `seed` may be ints or scalar tensors (int32, int64), as in `gumbel_noise`.
    """
    low_seed, high_seed = stage_seeds(seed)
    dtype = model.compute_dtype
    return (
        gumbel_noise(num, model.low.image_shape, model.levels, low_seed, dtype),
        gumbel_noise(num, model.image_shape, model.levels, high_seed, dtype),
    )


def draw(model, values, known, seed, temperature, method="cached", jit_compile=True):
    """Completes `values` where `known` is False, in two stages; (images, high-stage logits).

    Args:
        model: a `MultiScalePixelRNN`.
        values: (N, n, n, C) int32 tensor; kept where `known`.
        known: (N, n, n, C) bool tensor.
        seed: None or int; temperature, method, jit_compile: as in `pixelrnn_keras.sampling.sample`.

    Returns:
        images (N, n, n, C) int32, and the logits each sub-pixel of stage 2 was drawn from,
        (N, n, n, C, L) (see `api.generate`; for checks).
    """
    seed = check_draw_args(seed, temperature, method)
    low_gumbel, high_gumbel = stage_noise(model, int(values.shape[0]), seed)
    return draw_from_noise(model, low_gumbel, high_gumbel, temperature, values, known, method, jit_compile)


def draw_from_noise(model, low_gumbel, high_gumbel, temperature, values, known, method="cached", jit_compile=True):
    """`draw` with the noise of both stages given (see `stage_noise`); the batch may be dynamic."""
    check_method(method)

    def low_loop(gumbel, temperature, values, known):
        return generate(model.low, gumbel, temperature, values, known, method, jit_compile)

    def high_loop(gumbel, temperature, values, known, condition):
        return generate(model.high, gumbel, temperature, values, known, method, jit_compile, condition)

    return two_stages(model, low_gumbel, high_gumbel, temperature, values, known, low_loop, high_loop)


def two_stages(model, low_gumbel, high_gumbel, temperature, values, known, low_loop, high_loop):
    """The two stages, each run by a sampling loop given as an argument; (images, high-stage logits).

    Stage 1 completes the subsampled image, keeping the known sub-pixels on the grid; stage 2
    keeps every known sub-pixel and the whole grid, and draws the rest given the condition.

    Args:
        low_gumbel: (N, s, s, C, L) noise of stage 1; high_gumbel: (N, n, n, C, L) of stage 2.
        low_loop: (gumbel, temperature, values, known) -> (images, logits), a loop of `model.low`.
        high_loop: (gumbel, temperature, values, known, condition) -> (images, logits), a loop
            of `model.high` given the condition map (e.g. on `Conditioned(model.high, condition)`).
    """
    factor = model.factor
    temperature = tf.cast(temperature, high_gumbel.dtype)
    low_images, _ = low_loop(low_gumbel, temperature, values[:, ::factor, ::factor], known[:, ::factor, ::factor])
    grid = tf.constant(model.grid_mask()[None, :, :, None])
    values = tf.where(grid, upsample_nearest(low_images, factor), values)
    known = tf.logical_or(known, tf.broadcast_to(grid, tf.shape(known)))
    return high_loop(high_gumbel, temperature, values, known, model.condition_map(low_images))


def upsample_nearest(images, factor):
    """(N, s, s, C) -> (N, s * factor, s * factor, C), each pixel repeated factor x factor times."""
    return tf.repeat(tf.repeat(images, factor, axis=1), factor, axis=2)
