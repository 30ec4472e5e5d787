"""Export to a TensorFlow SavedModel: log_prob, sampling and completion signatures.

For a `PixelRNN` or a `MultiScalePixelRNN`. The SavedModel holds the weights and the traced
graphs only (no Keras or pixelrnn_keras objects), so `tf.saved_model.load(path)` in a process
without this package runs it. Every signature takes a dynamic batch; image height, width,
channels and dtypes are fixed: TensorFlow rejects another dtype or shape with
InvalidArgumentError (a TypeError when the same function is called as an attribute,
`loaded.log_prob(images)`). Bad values raise InvalidArgumentError too: images outside
[0, levels), num < 1, a seed < 0, a temperature not finite and > 0, known of another batch
size, noise inputs of different batch sizes.

Signatures (inputs -> outputs):
    log_prob(images int32 (N, H, W, C)) -> {"log_prob": float32 (N,)}, nats per image
    sample(num int32 (), seed int64 (), temperature float32 ()) -> {"images": int32 (N, H, W, C)}
    sample_from_noise(NOISE, temperature float32 ()) -> {"images": ...}
    complete(images int32 (N, H, W, C), known bool (N, H, W, C), seed int64 (), temperature
        float32 ()) -> {"images": ...}

A class-conditional PixelRNN (num_classes K > 0) gives every signature one more input, `labels`
int32 (N,) in [0, K), the class of each image (for `sample`: N = num); other labels are refused
with InvalidArgumentError.

`sample` and `complete` draw the same images as `model.sample(num, seed, temperature,
wavefront=False)` and `model.complete(images, known, seed, temperature, wavefront=False)` (the
raster steps; the library's default steps give the same images but for float32 near-ties): the
noise is drawn from the seed outside XLA as in the library, then the cached sampler runs, marked for XLA compilation as in the library
(compiled on the first call of each batch size wherever the SavedModel is loaded; a multi-scale
model's two stages are compiled apart, as in the library). NOISE is Gumbel(0, 1) of the model's
compute dtype, as in the ONNX sampling graph: `noise (N, H, W, C, G)` for a PixelRNN (e.g.
`pixelrnn_keras.sampling.gumbel_noise`; G = `noise_size(L)`), `low_noise (N, s, s, C, G), high_noise
(N, n, n, C, G)` for a MultiScalePixelRNN (see `pixelrnn_keras.export.adapters`).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from pixelrnn_keras.export import adapters
from pixelrnn_keras.export.output import atomic_directory
from pixelrnn_keras.export.verification import LOG_PROB_RTOL, VerificationError, comparison_inputs, relative_difference


def saved_model_functions(model):
    """The signature functions of `model`, {name: tf.function with an input signature}."""
    height, width, channels = model.image_shape
    levels = model.levels
    images_spec = tf.TensorSpec([None, height, width, channels], tf.int32, name="images")
    known_spec = tf.TensorSpec([None, height, width, channels], tf.bool, name="known")
    noise_specs = adapters.noise_specs(model)
    num_spec = tf.TensorSpec([], tf.int32, name="num")
    seed_spec = tf.TensorSpec([], tf.int64, name="seed")
    temperature_spec = tf.TensorSpec([], tf.float32, name="temperature")
    labels_specs = adapters.labels_spec(model)  # [] for a model without classes

    def shaped(tensor, spec):
        # A signature checks the dtypes of its inputs but not their shapes.
        return tf.ensure_shape(tensor, spec.shape)

    def checked_images(images):
        images = shaped(images, images_spec)
        message = f"images must hold integers in [0, {levels})"
        checks = [
            tf.debugging.assert_greater_equal(images, 0, message=message),
            tf.debugging.assert_less(images, levels, message=message),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(images)

    def checked_seed(seed):
        seed = shaped(seed, seed_spec)
        with tf.control_dependencies([tf.debugging.assert_non_negative(seed, message="seed must be >= 0")]):
            return tf.identity(seed)

    def checked_temperature(temperature):
        temperature = shaped(temperature, temperature_spec)
        checks = [
            tf.debugging.assert_all_finite(temperature, "temperature must be finite"),
            tf.debugging.assert_greater(temperature, 0.0, message="temperature must be > 0"),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(temperature)

    def checked_labels(labels, batch):
        """The `labels` input (a list of one tensor, or none for a model without classes), checked
        to hold `batch` classes in [0, K)."""
        if not labels:
            return None
        (labels,) = labels
        labels = shaped(labels, labels_specs[0])
        in_range = f"labels must hold integers in [0, {model.num_classes})"
        checks = [
            tf.debugging.assert_equal(tf.shape(labels)[0], batch, message="labels must hold one class per image"),
            tf.debugging.assert_greater_equal(labels, 0, message=in_range),
            tf.debugging.assert_less(labels, model.num_classes, message=in_range),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(labels)

    def draw(noise, temperature, labels, values=None, known=None):
        batch = tf.shape(next(iter(noise.values())))[0]
        labels = checked_labels(labels, batch)
        images = adapters.draw_from_noise(model, noise, checked_temperature(temperature), values, known, labels=labels)
        return {"images": images}

    @tf.function(input_signature=[images_spec, *labels_specs], autograph=False)
    def log_prob(images, *labels):
        images = checked_images(images)
        labels = checked_labels(labels, tf.shape(images)[0])
        logits = model(images) if labels is None else model(images, labels=labels)  # a multi-scale call has none
        return {"log_prob": model.log_prob_from_logits(images, logits)}

    @tf.function(input_signature=[num_spec, seed_spec, temperature_spec, *labels_specs], autograph=False)
    def sample(num, seed, temperature, *labels):
        num, seed = shaped(num, num_spec), checked_seed(seed)
        with tf.control_dependencies([tf.debugging.assert_positive(num, message="num must be >= 1")]):
            noise = adapters.noise_from_seed(model, num, seed)
        return draw(noise, temperature, labels)

    @tf.function(input_signature=[*noise_specs.values(), temperature_spec, *labels_specs], autograph=False)
    def sample_from_noise(*inputs):
        noise, (temperature, *labels) = inputs[: len(noise_specs)], inputs[len(noise_specs) :]
        noise = {name: shaped(tensor, noise_specs[name]) for name, tensor in zip(noise_specs, noise)}
        return draw(noise, temperature, labels)

    @tf.function(input_signature=[images_spec, known_spec, seed_spec, temperature_spec, *labels_specs], autograph=False)
    def complete(images, known, seed, temperature, *labels):
        images, known, seed = checked_images(images), shaped(known, known_spec), checked_seed(seed)
        same = tf.debugging.assert_equal(
            tf.shape(known)[0], tf.shape(images)[0], message="known must have the shape of images"
        )
        with tf.control_dependencies([same]):
            noise = adapters.noise_from_seed(model, tf.shape(images)[0], seed)
        return draw(noise, temperature, labels, images, known)

    return {"log_prob": log_prob, "sample": sample, "sample_from_noise": sample_from_noise, "complete": complete}


def to_saved_model(model: keras.Model, path: str, overwrite: bool = False, verify: bool = True) -> dict:
    """Writes `model` as a SavedModel directory at `path`; see the module docstring for its signatures.

    Args:
        model: a PixelRNN or a MultiScalePixelRNN.
        path: the directory to create (its parent must exist).
        overwrite: replace an existing directory at `path`.
        verify: reload what was written (before it appears at `path`) and compare its
            log_prob, samples (from a seed and from its noise) and completions with the Keras model's.

    Returns:
        dict: "path", "signatures", and with `verify` the figures of the comparison
        ("log_prob_max_rel_diff", "samples_identical" (`sample` and `sample_from_noise`),
        "completions_identical", "num_images").

    Raises:
        ValueError: bad arguments (nothing is written).
        VerificationError: the reloaded SavedModel disagrees with the model (nothing is written).
    """
    adapters.check_model(model)
    functions = saved_model_functions(model)
    module = tf.Module()
    # The variables only: tracking the Keras model would add Keras' own serving function.
    module.weights = [v.value for v in model.variables]
    for name, function in functions.items():
        setattr(module, name, function)
    report = {"path": os.path.abspath(os.fspath(path)), "signatures": sorted(functions)}
    with atomic_directory(path, overwrite) as building:
        # No gradients are exported: the recurrences' custom gradients would only add size.
        options = tf.saved_model.SaveOptions(experimental_custom_gradients=False)
        tf.saved_model.save(module, building, signatures=functions, options=options)
        if verify:
            report.update(verify_saved_model(model, building))
    return report


def verify_saved_model(model, path, num=4, seed=0, temperature=0.9):
    """Loads the SavedModel at `path` and compares it with `model`; raises VerificationError on a mismatch."""
    loaded = tf.saved_model.load(path)
    images, known, labels = comparison_inputs(model, num, seed)
    expected = np.asarray(model.log_prob(images, **labels.all))
    got = loaded.signatures["log_prob"](images=tf.constant(images, tf.int32), **labels.all)["log_prob"].numpy()
    difference = relative_difference(got, expected)
    temperature_tensor = tf.constant(temperature, tf.float32)
    seed_tensor = tf.constant(seed, tf.int64)
    sampled = loaded.signatures["sample"](
        num=tf.constant(num), seed=seed_tensor, temperature=temperature_tensor, **labels.first
    )
    # The same images from the noise of that seed, given as input.
    noise = adapters.noise_from_seed(model, num, seed)
    from_noise = loaded.signatures["sample_from_noise"](**noise, temperature=temperature_tensor, **labels.first)
    # The exported sampler takes the raster steps (traced for any batch): compared with Keras's.
    keras_samples = model.sample(num, seed=seed, temperature=temperature, wavefront=False, **labels.first)
    samples_identical = all(np.array_equal(got["images"], keras_samples) for got in (sampled, from_noise))
    completed = loaded.signatures["complete"](
        images=tf.constant(images[:num], tf.int32),
        known=tf.constant(known),
        seed=seed_tensor,
        temperature=temperature_tensor,
        **labels.first,
    )
    keras_completions = model.complete(
        images[:num], known, seed=seed, temperature=temperature, wavefront=False, **labels.first
    )
    completions_identical = bool(np.array_equal(completed["images"], keras_completions))
    figures = {
        "log_prob_max_rel_diff": difference,
        "samples_identical": bool(samples_identical),
        "completions_identical": completions_identical,
        "num_images": len(images),
    }
    if not (difference <= LOG_PROB_RTOL and samples_identical and completions_identical):
        raise VerificationError(f"the reloaded SavedModel disagrees with the Keras model: {figures}")
    return figures
