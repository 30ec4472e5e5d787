"""The reference sampler: one full forward pass of the model per sub-pixel."""

import tensorflow as tf

from pixelrnn_keras.layers.incremental import read_at, write_at
from pixelrnn_keras.sampling.noise import choose
from pixelrnn_keras.sampling.record import batch_first, steps_record


def naive_loop(model, gumbel, temperature, values, known, keep_logits=True):
    """Draws the sub-pixels in order, each from the logits of a forward pass of the image so far.

    Args:
        model: a PixelRNN (image_shape (H, W, C), levels L).
        gumbel: (batch, H, W, C, G) noise from `gumbel_noise` (G = `noise_size(L)`), in the model's
            compute dtype.
        temperature: float scalar tensor > 0.
        values: (batch, H, W, C) int32; kept where `known`.
        known: (batch, H, W, C) bool.

        keep_logits: return the logits too (else None).

    Returns:
        images (batch, H, W, C) int32, and the logits each sub-pixel was drawn from,
        (batch, H, W, C, L); zeros at sub-pixels known in every image, where no pass runs.
    """
    height, width, channels = model.image_shape
    num_sub_pixels = height * width * channels
    images = tf.where(known, values, tf.zeros_like(values))

    def body(t, images, used):
        i, j, c = t // (width * channels), t // channels % width, t % channels
        sub_known, sub_values, noise = read_at(known, i, j, c), read_at(values, i, j, c), read_at(gumbel, i, j, c)

        def draw():
            logits = read_at(model(images), i, j, c)  # (batch, L)
            drawn = choose(logits, noise, temperature, sub_known, sub_values)
            return write_at(images, drawn, i, j, c), used.write(t, logits)

        def keep():
            return images, used.write(t, tf.zeros_like(noise[:, :1]) + tf.zeros([model.levels], noise.dtype))

        images, used = tf.cond(tf.reduce_all(sub_known), keep, draw)
        return t + 1, images, used

    used = steps_record(num_sub_pixels, gumbel.dtype, [gumbel.shape[0], model.levels])
    _, images, used = tf.while_loop(lambda t, *_: t < num_sub_pixels, body, (tf.constant(0), images, used))
    return images, batch_first(used, model.image_shape) if keep_logits else None
