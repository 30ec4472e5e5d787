"""What the exports need of each model class, so that the rest of the export code serves both.

For a `PixelRNN` and a `MultiScalePixelRNN`: the Gumbel noise its sampler takes (names and
shapes of the graph inputs), that noise drawn from a seed exactly as `model.sample` draws it,
the images drawn from given noise (the library's XLA-marked cached sampler, or its portable
form for ONNX), log p(x) in ops that tf2onnx converts, and a description for the metadata.

Noise inputs (standard Gumbel, the model's compute dtype; N images, L levels):

    PixelRNN, (H, W, C) images:
        noise (N, H, W, C, L)
    MultiScalePixelRNN, (n, n, C) images subsampled to (s, s, C):
        low_noise (N, s, s, C, L): stage 1, the subsampled image x_s = x[:, ::n/s, ::n/s];
        high_noise (N, n, n, C, L): stage 2, the other pixels given x_s (the entries at the
            grid pixels, fixed by stage 1, are not used).
        Both must have the same N. `pixelrnn_keras.sampling.two_stage.stage_noise(model, N,
        seed)` draws the pair that `model.sample(N, seed=seed)` uses.

A class-conditional PixelRNN (num_classes K > 0) takes one more input, `labels` int32 (N,) in
[0, K), the class of every image, in every graph.
"""

import tensorflow as tf

from pixelrnn_keras.models import MultiScalePixelRNN, PixelRNN
from pixelrnn_keras.sampling import generate, gumbel_noise, two_stage
from pixelrnn_keras.sampling.cached import cached_loop
from pixelrnn_keras.sampling.conditioned import Conditioned


def check_model(model):
    """`model`, or ValueError if the exports cannot handle it."""
    if not isinstance(model, (PixelRNN, MultiScalePixelRNN)):
        raise ValueError(f"model must be a pixelrnn_keras PixelRNN or MultiScalePixelRNN, got {type(model).__name__}")
    return model


def noise_specs(model):
    """{input name: TensorSpec (None, ..., L)} of the noise a draw takes, in input order."""

    def spec(image_shape, name):
        return tf.TensorSpec([None, *image_shape, model.levels], model.compute_dtype, name=name)

    if isinstance(model, MultiScalePixelRNN):
        return {
            "low_noise": spec(model.low.image_shape, "low_noise"),
            "high_noise": spec(model.image_shape, "high_noise"),
        }
    return {"noise": spec(model.image_shape, "noise")}


def labels_spec(model):
    """[TensorSpec (None,) int32 "labels"] for a class-conditional model, else []: the inputs to append."""
    return [tf.TensorSpec([None], tf.int32, name="labels")] if model.num_classes else []


def noise_from_seed(model, num, seed):
    """{input name: noise}: the noise `model.sample(num, seed=seed)` draws with.

    `num` and `seed` may be ints or scalar tensors (int32 and int64) in a graph without XLA.
    """
    if isinstance(model, MultiScalePixelRNN):
        low, high = two_stage.stage_noise(model, num, seed)
        return {"low_noise": low, "high_noise": high}
    return {"noise": gumbel_noise(num, model.image_shape, model.levels, seed, model.compute_dtype)}


def draw_from_noise(model, noise, temperature, values=None, known=None, portable=False, labels=None):
    """(N, H, W, C) int32 images drawn with `noise` ({input name: tensor}), `values` kept where `known`.

    Without `values` and `known`, every sub-pixel is drawn (sampling). `labels`: the (N,) classes
    of a class-conditional model's images. The sampler is the
    library's cached loop marked for XLA compilation (the same images as `model.sample` and
    `model.complete` from the same noise), or with `portable` the same loop in its portable
    form, without XLA and TensorArrays, that tf2onnx converts (see `cached_loop`).
    """
    if isinstance(model, MultiScalePixelRNN):
        low, high = noise["low_noise"], noise["high_noise"]
        batch = tf.shape(high)[0]
        same = tf.debugging.assert_equal(
            tf.shape(low)[0], batch, message="low_noise and high_noise must have the same batch size"
        )
        with tf.control_dependencies([same]):
            # The reshape fails too where the batches differ: in ONNX, which drops assertions.
            low = tf.reshape(low, [batch, *low.shape[1:]], name="low_noise_batch_must_equal_high_noise_batch")
        values, known = _defaults(values, known, high)
        if not portable:
            images, _ = two_stage.draw_from_noise(model, low, high, temperature, values, known, "cached", True)
            return images

        def high_loop(gumbel, temperature, values, known, condition):
            return cached_loop(Conditioned(model.high, condition), gumbel, temperature, values, known, portable=True)

        images, _ = two_stage.two_stages(model, low, high, temperature, values, known, _portable(model.low), high_loop)
        return images
    gumbel = noise["noise"]
    values, known = _defaults(values, known, gumbel)
    condition = None if labels is None else model.label_condition(labels)
    if portable:
        network = model if condition is None else Conditioned(model, condition)
        images, _ = _portable(network)(gumbel, temperature, values, known)
    else:
        images, _ = generate(model, gumbel, temperature, values, known, "cached", True, condition)
    return images


def _defaults(values, known, gumbel):
    if values is None:
        shape = tf.shape(gumbel)[:4]
        values, known = tf.zeros(shape, tf.int32), tf.zeros(shape, tf.bool)
    return values, known


def _portable(network):
    def loop(gumbel, temperature, values, known):
        return cached_loop(network, gumbel, tf.cast(temperature, gumbel.dtype), values, known, portable=True)

    return loop


def log_prob_by_comparison(model, images, labels=None):
    """(N,) float32 log p(images) (given the class `labels` of a class-conditional model) in nats,
    in ops that tf2onnx converts.

    The log-softmax at each label is picked by comparison (tf2onnx's rank-4 one-hot fails);
    images must hold values in [0, levels) (the caller handles the others).
    """
    levels = model.levels

    def log_probs(logits, labels):  # (N, H, W, C)
        picked = tf.cast(tf.equal(labels[..., None], tf.range(levels)), tf.float32)
        return tf.reduce_sum(tf.nn.log_softmax(tf.cast(logits, tf.float32)) * picked, axis=-1)

    if isinstance(model, MultiScalePixelRNN):
        # log p(x_s) + the off-grid terms of log p(x | x_s), as `MultiScalePixelRNN.log_prob`.
        low_logits, high_logits = model(images)
        factor = model.factor
        off_grid = tf.constant(~model.grid_mask()[None, :, :, None], tf.float32)
        low = tf.reduce_sum(log_probs(low_logits, images[:, ::factor, ::factor]), axis=[1, 2, 3])
        return low + tf.reduce_sum(log_probs(high_logits, images) * off_grid, axis=[1, 2, 3])
    return tf.reduce_sum(log_probs(model(images, labels=labels), images), axis=[1, 2, 3])


def describe(model):
    """{key: text} metadata of the model: its class and architecture."""
    if isinstance(model, MultiScalePixelRNN):
        return {
            "pixelrnn.model": "MultiScalePixelRNN",
            "pixelrnn.arch": f"low {model.low.arch}, high {model.high.arch}",
            "pixelrnn.low_size": str(model.low_size),
        }
    classes = {"pixelrnn.num_classes": str(model.num_classes)} if model.num_classes else {}
    return {"pixelrnn.model": "PixelRNN", "pixelrnn.arch": model.arch, **classes}
