"""The fast sampler: per sub-pixel, one pixel's column through the network, from per-layer caches.

Generic over the model's one-pixel steps (the `PixelSteps` protocol, models/steps.py: `init_cache`,
`step`, `end_pixel`, `end_row`): the work per image grows linearly with its pixels.
"""

import tensorflow as tf

from pixelrnn_keras.layers.incremental import read_at, write_at
from pixelrnn_keras.sampling.noise import choose
from pixelrnn_keras.sampling.record import batch_first, gather_steps, steps_record


def cached_loop(model, gumbel, temperature, values, known, portable=False):
    """Draws the sub-pixels in order; arguments and results as `naive_loop`'s (and the same images).

    Per pixel, the network's column runs once per channel c, each time from the cache before
    the pixel: the masks make channel c's logits independent of channels >= c, which hold
    zeros or known values meanwhile. The last run's cache, with the complete pixel recorded
    (`end_pixel`), carries on. The logits are returned for every sub-pixel, known ones too.

    With `portable`, the images are kept in one (batch, H, W, C) tensor updated by a scatter
    per pixel and no logits are recorded (None is returned for them): tf2onnx cannot convert
    TensorArrays carried through nested loops, this form it can (see `pixelrnn_keras.export`).
    Same images; without XLA, each scatter copies the images.
    """
    height, width, channels = model.image_shape
    batch = gumbel.shape[0] or tf.shape(gumbel)[0]

    def pixel_body(j, i, images, used, cache):
        noise, pixel_known, pixel_values = read_at(gumbel, i, j), read_at(known, i, j), read_at(values, i, j)
        pixel = tf.where(pixel_known, pixel_values, tf.zeros_like(pixel_values))  # (batch, C)
        # Every call starts from the cache before this pixel; only the last one's is kept.
        pixel_logits = []
        for c in range(channels):
            logits, new_cache = model.step(cache, pixel, i, j)  # (batch, C, L)
            pixel_logits.append(logits[:, c])
            drawn = choose(logits[:, c], noise[:, c], temperature, pixel_known[:, c], pixel_values[:, c])
            pixel = tf.concat([pixel[:, :c], drawn[:, None], pixel[:, c + 1 :]], axis=1)
        cache = model.end_pixel(new_cache, pixel, i, j)
        if portable:
            return j + 1, i, write_at(images, pixel, i, j), used, cache
        t = i * width + j
        return j + 1, i, images.write(t, pixel), used.write(t, tf.stack(pixel_logits, axis=1)), cache

    def row_body(i, images, used, cache):
        _, _, images, used, cache = tf.while_loop(
            lambda j, *_: j < width, pixel_body, (tf.constant(0), i, images, used, cache)
        )
        row = read_at(images, i) if portable else gather_steps(images, i * width, width)
        return i + 1, images, used, model.end_row(cache, i, row)

    if portable:
        images, used = tf.zeros([batch, height, width, channels], tf.int32), ()
    else:
        images = steps_record(height * width, tf.int32, [gumbel.shape[0], channels])
        used = steps_record(height * width, gumbel.dtype, [gumbel.shape[0], channels, model.levels])
    loop_vars = (tf.constant(0), images, used, model.init_cache(batch))
    _, images, used, _ = tf.while_loop(lambda i, *_: i < height, row_body, loop_vars)
    if portable:
        return images, None
    return batch_first(images, (height, width)), batch_first(used, (height, width))
