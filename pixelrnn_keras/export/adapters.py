"""What the exports need of each model class, so that the rest of the export code serves both.

For a `PixelRNN` and a `MultiScalePixelRNN`: the Gumbel noise its sampler takes (names and
shapes of the graph inputs), that noise drawn from a seed exactly as `model.sample` draws it,
the images drawn from given noise (the library's XLA-marked cached sampler, or its portable
form for ONNX), log p(x) in ops that tf2onnx converts, and a description for the metadata.

Noise inputs (standard Gumbel, the model's compute dtype; N images, G = `noise_size(levels)` numbers
per sub-pixel: 32 at 256 levels, 2 at 2, see `pixelrnn_keras.sampling.noise`):

    PixelRNN, (H, W, C) images:
        noise (N, H, W, C, G)
    MultiScalePixelRNN, (n, n, C) images subsampled to (s, s, C):
        low_noise (N, s, s, C, G): stage 1, the subsampled image x_s = x[:, ::n/s, ::n/s];
        high_noise (N, n, n, C, G): stage 2, the other pixels given x_s (the entries at the
            grid pixels, fixed by stage 1, are not used).
        Both must have the same N. `pixelrnn_keras.sampling.two_stage.stage_noise(model, N,
        seed)` draws the pair that `model.sample(N, seed=seed)` uses.

A class-conditional PixelRNN (num_classes K > 0) takes one more input, `labels` int32 (N,) in
[0, K), the class of every image, in every graph.
"""

import tensorflow as tf

from pixelrnn_keras.models import MultiScalePixelRNN, PixelRNN
from pixelrnn_keras.sampling import two_stage
from pixelrnn_keras.sampling.cached import cached_loop
from pixelrnn_keras.sampling.conditioned import Conditioned
from pixelrnn_keras.sampling.noise import noise_size


def check_model(model):
    """`model`, or ValueError if the exports cannot handle it."""
    if not isinstance(model, (PixelRNN, MultiScalePixelRNN)):
        raise ValueError(f"model must be a pixelrnn_keras PixelRNN or MultiScalePixelRNN, got {type(model).__name__}")
    return model


def noise_names(model):
    """The names of the noise inputs, one per stage, in stage order: "noise" for a one-stage
    model, else "<stage name>_noise" ("low_noise", "high_noise")."""
    stages = model.stages()
    return ["noise"] if len(stages) == 1 else [f"{stage.name}_noise" for stage in stages]


def noise_specs(model):
    """{input name: TensorSpec (None, ..., G)} of the noise a draw takes, in input order."""
    return {
        name: tf.TensorSpec(
            [None, *stage.network.image_shape, noise_size(model.levels)], model.compute_dtype, name=name
        )
        for name, stage in zip(noise_names(model), model.stages())
    }


def labels_spec(model):
    """[TensorSpec (None,) int32 "labels"] for a class-conditional model, else []: the inputs to append."""
    return [tf.TensorSpec([None], tf.int32, name="labels")] if model.num_classes else []


def noise_from_seed(model, num, seed):
    """{input name: noise}: the noise `model.sample(num, seed=seed)` draws with.

    `num` and `seed` may be ints or scalar tensors (int32 and int64) in a graph without XLA.
    """
    return dict(zip(noise_names(model), two_stage.stage_noise(model, num, seed)))


def draw_from_noise(model, noise, temperature, values=None, known=None, portable=False, labels=None):
    """(N, H, W, C) int32 images drawn with `noise` ({input name: tensor}), `values` kept where `known`.

    Without `values` and `known`, every sub-pixel is drawn (sampling). `labels`: the (N,) classes
    of a class-conditional model's images. The sampler is the
    library's cached loop in raster order marked for XLA compilation (the same images as
    `model.sample` and `model.complete` with `wavefront=False` from the same noise; a graph traced
    for any batch takes those steps anyway), or with `portable` the same loop in its portable
    form, without XLA and TensorArrays, that tf2onnx converts (see `cached_loop`).
    """
    gumbels = _same_batch([(name, noise[name]) for name in noise_names(model)])
    values, known = _defaults(values, known, gumbels[-1])
    if not portable:
        images, _ = two_stage.draw_from_noise(
            model, gumbels, temperature, values, known, "cached", True, labels, keep_logits=False, wavefront=False
        )
        return images

    def loop(network, gumbel, temperature, values, known, condition):
        network = network if condition is None else Conditioned(network, condition)
        return cached_loop(network, gumbel, temperature, values, known, portable=True)

    images, _ = two_stage.run_stages(model, gumbels, temperature, values, known, loop, labels)
    return images


def _same_batch(named_noise):
    """The noise tensors of `named_noise` [(name, tensor)], each checked to have the last one's batch."""
    last_name, last = named_noise[-1]
    batch = tf.shape(last)[0]
    checked = []
    for name, gumbel in named_noise[:-1]:
        same = tf.debugging.assert_equal(
            tf.shape(gumbel)[0], batch, message=f"{name} and {last_name} must have the same batch size"
        )
        with tf.control_dependencies([same]):
            # The reshape fails too where the batches differ: in ONNX, which drops assertions.
            checked.append(
                tf.reshape(gumbel, [batch, *gumbel.shape[1:]], name=f"{name}_batch_must_equal_{last_name}_batch")
            )
    return [*checked, last]


def _defaults(values, known, gumbel):
    if values is None:
        shape = tf.shape(gumbel)[:4]
        values, known = tf.zeros(shape, tf.int32), tf.zeros(shape, tf.bool)
    return values, known


def log_prob_by_comparison(model, images, labels=None):
    """(N,) float32 log p(images) (given the class `labels` of a class-conditional model) in nats,
    in ops that tf2onnx converts: each stage's log-probabilities of the sub-pixels it codes, summed
    (for a `MultiScalePixelRNN`, log p(x_s) + the off-grid terms of log p(x | x_s), as its `log_prob`).

    The log-softmax at each label is picked by comparison (tf2onnx's rank-4 one-hot fails);
    images must hold values in [0, levels) (the caller handles the others).
    """
    levels = model.levels

    def log_probs(logits, labels):  # (N, H, W, C)
        picked = tf.cast(tf.equal(labels[..., None], tf.range(levels)), tf.float32)
        return tf.reduce_sum(tf.nn.log_softmax(tf.cast(logits, tf.float32)) * picked, axis=-1)

    total = 0.0
    for stage in model.stages():
        f = stage.factor
        stage_images = images[:, ::f, ::f]
        condition = None if stage.condition is None else stage.condition(images, labels)
        terms = log_probs(stage.network(stage_images, condition), stage_images)
        if not stage.coded.all():
            terms = terms * tf.constant(stage.coded[None, :, :, None], tf.float32)
        total += tf.reduce_sum(terms, axis=[1, 2, 3])
    return total


def describe(model):
    """{key: text} metadata of the model: its class, its stages' architectures, and the size of a
    multi-scale model's first stage or a class-conditional model's number of classes."""
    stages = model.stages()
    if len(stages) == 1:
        archs, sizes = stages[0].network.arch, {}
    else:
        archs = ", ".join(f"{stage.name} {stage.network.arch}" for stage in stages)
        sizes = {"pixelrnn.low_size": str(stages[0].network.image_shape[0])}
    classes = {"pixelrnn.num_classes": str(model.num_classes)} if model.num_classes else {}
    return {"pixelrnn.model": type(model).__name__, "pixelrnn.arch": archs, **sizes, **classes}
