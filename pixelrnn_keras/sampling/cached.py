"""The fast sampler: per sub-pixel, one pixel's column through the network, from per-layer caches.

Generic over the model's one-pixel steps (the `PixelSteps` protocol, models/steps.py: `init_cache`,
`step`, `end_pixel`, `end_row`): the work per image grows linearly with its pixels.
"""

import tensorflow as tf

from pixelrnn_keras.layers.incremental import read_at, write_at
from pixelrnn_keras.sampling.noise import choose
from pixelrnn_keras.sampling.record import batch_first, gather_steps, steps_record


def cached_loop(model, gumbel, temperature, values, known, keep_logits=True, portable=False):
    """Draws the sub-pixels in order; arguments and results as `naive_loop`'s (and the same images).

    The logits are returned for every sub-pixel, known ones too, if `keep_logits` (else None: at
    256 levels they are 200 MB for 64 CIFAR-10 images; bench/steps.py: sampling 5-9% faster without). With `portable`, the images are
    kept in one (batch, H, W, C) tensor updated by a scatter per pixel and no logits are recorded:
    tf2onnx cannot convert TensorArrays carried through nested loops, this form it can (see
    `pixelrnn_keras.export`). Same images; without XLA, each scatter copies the images.
    """

    def draw(logits, i, j, c, pixel_known, pixel_values, carried):
        noise = read_at(gumbel, i, j)[:, c]
        return choose(logits, noise, temperature, pixel_known, pixel_values), logits, carried

    record = (gumbel.dtype, [model.levels]) if keep_logits and not portable else None
    batch = gumbel.shape[0] or tf.shape(gumbel)[0]
    images, logits, _ = step_loop(model, batch, values, known, draw, (), record, portable)
    return images, logits


def step_loop(model, batch, values, known, choose_value, carried, record=None, portable=False):
    """Runs the model's one-pixel steps over its image in raster order, a value chosen for each
    sub-pixel as it is reached: the loop of the cached sampler and of the codec.

    Per pixel, the network's column runs once per channel c, each time from the cache before
    the pixel, with the pixel's channels >= c zero, known or not: the masks make channel c's
    logits independent of them, and so the steps see the same inputs whatever is known (the
    codec's encoder and decoder rely on that). The last run's cache, with the complete pixel
    recorded (`end_pixel`), carries on.

    Args:
        model: a `PixelSteps` model (models/steps.py).
        batch: the batch size (an int, or a scalar tensor in a graph traced for any batch).
        values, known: (batch, H, W, C) int32 and bool, the sub-pixels given.
        choose_value: (logits (batch, levels), i, j, c, known (batch,), values (batch,), carried)
            -> (the sub-pixel's values (batch,) int32, what to record of it, carried).
        carried: tensors `choose_value` carries from sub-pixel to sub-pixel.
        record: (dtype, shape) of what `choose_value` records per image and sub-pixel, or None
            to record nothing.
        portable: keep the images in one tensor updated by a scatter per pixel (the form tf2onnx
            converts) rather than in a TensorArray; nothing is recorded.

    Returns:
        (images (batch, H, W, C) int32, the records (batch, H, W, C, *shape) or None, carried).
    """
    height, width, channels = model.image_shape
    record = None if portable else record

    def pixel_body(j, i, images, records, cache, carried):
        pixel_known, pixel_values = read_at(known, i, j), read_at(values, i, j)
        pixel = tf.zeros_like(pixel_values)  # (batch, C), its channels filled in one by one
        # Every call starts from the cache before this pixel; only the last one's is kept.
        kept = []
        for c in range(channels):
            logits, new_cache = model.step(cache, pixel, i, j, c)  # (batch, L)
            chosen, recorded, carried = choose_value(logits, i, j, c, pixel_known[:, c], pixel_values[:, c], carried)
            kept.append(recorded)
            pixel = tf.concat([pixel[:, :c], chosen[:, None], pixel[:, c + 1 :]], axis=1)
        cache = model.end_pixel(new_cache, pixel, i, j)
        if portable:
            return j + 1, i, write_at(images, pixel, i, j), records, cache, carried
        t = i * width + j
        if record is not None:
            records = records.write(t, tf.stack(kept, axis=1))
        return j + 1, i, images.write(t, pixel), records, cache, carried

    def row_body(i, images, records, cache, carried):
        _, _, images, records, cache, carried = tf.while_loop(
            lambda j, *_: j < width, pixel_body, (tf.constant(0), i, images, records, cache, carried)
        )
        row = read_at(images, i) if portable else gather_steps(images, i * width, width)
        return i + 1, images, records, model.end_row(cache, i, row), carried

    static_batch = batch if isinstance(batch, int) else None
    if portable:
        images = tf.zeros([batch, height, width, channels], tf.int32)
    else:
        images = steps_record(height * width, tf.int32, [static_batch, channels])
    records = () if record is None else steps_record(height * width, record[0], [static_batch, channels, *record[1]])
    loop_vars = (tf.constant(0), images, records, model.init_cache(batch), carried)
    _, images, records, _, carried = tf.while_loop(lambda i, *_: i < height, row_body, loop_vars)
    if not portable:
        images = batch_first(images, (height, width))
    return images, None if record is None else batch_first(records, (height, width)), carried
