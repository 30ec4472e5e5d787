"""The cached sampler along diagonals: the pixels of one diagonal drawn in one step (layers/wavefront.py).

For networks with a `wavefront()` (PixelCNN, Row LSTM; the Gated PixelCNN a pixel per step): the
same sub-pixels from the same logits as `cached_loop` (up to float rounding), in W + slope * (H - 1)
steps instead of H * W.
"""

import tensorflow as tf

from pixelrnn_keras.sampling.noise import choose
from pixelrnn_keras.sampling.record import steps_record


def wavefront_loop(model, gumbel, temperature, values, known, keep_logits=True):
    """Draws the sub-pixels a diagonal at a time; arguments and results as `cached_loop`'s.

    `model` has the wavefront steps (`PixelRNN.wavefront`, `wave_init_cache`, `wave_step`,
    `wave_end_row`), and the batch size is known when the loop is traced.
    """
    wave = model.wavefront()
    batch = gumbel.shape[0]
    if batch is None:
        raise ValueError("the wavefront loop needs the batch size when it is traced")

    def images_of(slot_major, first, size):
        """Rows of images first .. first + size - 1 of a (slots * batch, ...) tensor."""
        per_slot = tf.reshape(slot_major, [wave.slots, batch, *slot_major.shape[1:]])
        return tf.reshape(per_slot[:, first : first + size], [-1, *slot_major.shape[1:]])

    def body(t, images, records, cache):
        at = wave.at(t)
        noise, pixel_known, pixel_values = at.read(gumbel), at.read(known), at.read(values)
        kept = {}

        def draw(c, logits, first=0, size=batch):
            kept[c, first] = tf.reshape(logits, [wave.slots, size, -1])
            return choose(
                logits,
                images_of(noise[:, c], first, size),
                temperature,
                images_of(pixel_known[:, c], first, size),
                images_of(pixel_values[:, c], first, size),
            )

        cache, pixels = model.wave_step(cache, at, draw)
        if keep_logits:
            channels = sorted({c for c, _ in kept})
            logits = [tf.concat([kept[key] for key in sorted(kept) if key[0] == c], axis=1) for c in channels]
            records = records.write(t, tf.reshape(tf.stack(logits, axis=2), [wave.slots * batch, len(channels), -1]))
        return t + 1, images.write(t, pixels), records, cache

    channels = model.image_shape[-1]
    images = steps_record(wave.steps, tf.int32, [wave.slots * batch, channels])
    records = (
        steps_record(wave.steps, gumbel.dtype, [wave.slots * batch, channels, model.levels]) if keep_logits else ()
    )
    loop_vars = (tf.constant(0), images, records, model.wave_init_cache(batch, wave))
    if wave.slots == 1:  # a pixel per step: row i's steps are slope * i ..., then the network ends the row

        def row_body(i, images, records, cache):
            end = tf.minimum(wave.slope * (i + 1), wave.steps)
            _, images, records, cache = tf.while_loop(
                lambda t, *_: t < end, body, (wave.slope * i, images, records, cache)
            )
            return i + 1, images, records, model.wave_end_row(cache, i)

        _, images, records, _ = tf.while_loop(lambda i, *_: i < wave.height, row_body, loop_vars)
    else:
        _, images, records, _ = tf.while_loop(lambda t, *_: t < wave.steps, body, loop_vars)
    return wave.raster(images.stack()), wave.raster(records.stack()) if keep_logits else None
