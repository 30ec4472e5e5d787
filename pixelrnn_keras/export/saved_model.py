"""Export to a TensorFlow SavedModel: log_prob, sampling and completion signatures.

The SavedModel holds the weights and the traced graphs only (no Keras or pixelrnn_keras
objects), so `tf.saved_model.load(path)` in a process without this package runs it. Every
signature takes a dynamic batch; image height, width, channels and dtypes are fixed: TensorFlow
rejects another dtype or shape with InvalidArgumentError (a TypeError when the same function is
called as an attribute, `loaded.log_prob(images)`). Bad values raise InvalidArgumentError too:
images outside [0, levels), num < 1, a temperature not finite and > 0, known of another batch size.

Signatures (inputs -> outputs):
    log_prob(images int32 (N, H, W, C)) -> {"log_prob": float32 (N,)}, nats per image
    sample(num int32 (), seed int64 (), temperature float32 ()) -> {"images": int32 (N, H, W, C)}
    sample_from_noise(noise (N, H, W, C, L), temperature float32 ()) -> {"images": ...}
    complete(images int32 (N, H, W, C), known bool (N, H, W, C), seed int64 (), temperature
        float32 ()) -> {"images": ...}

`sample` and `complete` draw the same images as `model.sample(num, seed, temperature)` and
`model.complete(images, known, seed, temperature)`: the noise is drawn from the seed outside
XLA as in the library, then the cached sampler runs, marked for XLA compilation as in the library
(compiled on the first call of each batch size wherever the SavedModel is loaded). The noise of
`sample_from_noise` is Gumbel(0, 1) of the model's compute dtype, e.g.
`pixelrnn_keras.sampling.gumbel_noise`, as in the ONNX sampling graph.
"""

import os

import numpy as np
import tensorflow as tf

from pixelrnn_keras.export.output import atomic_directory
from pixelrnn_keras.export.source import check_model
from pixelrnn_keras.export.verification import LOG_PROB_RTOL, VerificationError, comparison_inputs, relative_difference
from pixelrnn_keras.sampling import generate, gumbel_noise


def saved_model_functions(model):
    """The signature functions of `model`, {name: tf.function with an input signature}."""
    height, width, channels = model.image_shape
    levels, dtype = model.levels, model.compute_dtype
    images_spec = tf.TensorSpec([None, height, width, channels], tf.int32, name="images")
    known_spec = tf.TensorSpec([None, height, width, channels], tf.bool, name="known")
    noise_spec = tf.TensorSpec([None, height, width, channels, levels], dtype, name="noise")
    num_spec = tf.TensorSpec([], tf.int32, name="num")
    seed_spec = tf.TensorSpec([], tf.int64, name="seed")
    temperature_spec = tf.TensorSpec([], tf.float32, name="temperature")

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

    def checked_temperature(temperature):
        temperature = shaped(temperature, temperature_spec)
        checks = [
            tf.debugging.assert_all_finite(temperature, "temperature must be finite"),
            tf.debugging.assert_greater(temperature, 0.0, message="temperature must be > 0"),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(temperature)

    def draw(noise, temperature, values, known):
        images, _ = generate(model, noise, temperature, values, known, method="cached", jit_compile=True)
        return {"images": images}

    @tf.function(input_signature=[images_spec], autograph=False)
    def log_prob(images):
        images = checked_images(images)
        return {"log_prob": model.log_prob_from_logits(images, model(images))}

    @tf.function(input_signature=[num_spec, seed_spec, temperature_spec], autograph=False)
    def sample(num, seed, temperature):
        num, seed = shaped(num, num_spec), shaped(seed, seed_spec)
        with tf.control_dependencies([tf.debugging.assert_positive(num, message="num must be >= 1")]):
            noise = gumbel_noise(num, model.image_shape, levels, seed, dtype)
        shape = tf.shape(noise)[:4]
        return draw(noise, checked_temperature(temperature), tf.zeros(shape, tf.int32), tf.zeros(shape, tf.bool))

    @tf.function(input_signature=[noise_spec, temperature_spec], autograph=False)
    def sample_from_noise(noise, temperature):
        noise = shaped(noise, noise_spec)
        shape = tf.shape(noise)[:4]
        return draw(noise, checked_temperature(temperature), tf.zeros(shape, tf.int32), tf.zeros(shape, tf.bool))

    @tf.function(input_signature=[images_spec, known_spec, seed_spec, temperature_spec], autograph=False)
    def complete(images, known, seed, temperature):
        images, known, seed = checked_images(images), shaped(known, known_spec), shaped(seed, seed_spec)
        same = tf.debugging.assert_equal(
            tf.shape(known)[0], tf.shape(images)[0], message="known must have the shape of images"
        )
        with tf.control_dependencies([same]):
            noise = gumbel_noise(tf.shape(images)[0], model.image_shape, levels, seed, dtype)
        return draw(noise, checked_temperature(temperature), images, known)

    return {"log_prob": log_prob, "sample": sample, "sample_from_noise": sample_from_noise, "complete": complete}


def to_saved_model(model, path, overwrite=False, verify=True):
    """Writes `model` as a SavedModel directory at `path`; see the module docstring for its signatures.

    Args:
        model: a PixelRNN.
        path: the directory to create (its parent must exist).
        overwrite: replace an existing directory at `path`.
        verify: reload what was written (before it appears at `path`) and compare its
            log_prob, samples and completions with the Keras model's.

    Returns:
        dict: "path", "signatures", and with `verify` the figures of the comparison
        ("log_prob_max_rel_diff", "samples_identical", "completions_identical", "num_images").

    Raises:
        ValueError: bad arguments (nothing is written).
        VerificationError: the reloaded SavedModel disagrees with the model (nothing is written).
    """
    check_model(model)
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
    images, known = comparison_inputs(model, num, seed)
    expected = np.asarray(model.log_prob(images))
    got = loaded.signatures["log_prob"](images=tf.constant(images, tf.int32))["log_prob"].numpy()
    difference = relative_difference(got, expected)
    temperature_tensor = tf.constant(temperature, tf.float32)
    seed_tensor = tf.constant(seed, tf.int64)
    sampled = loaded.signatures["sample"](num=tf.constant(num), seed=seed_tensor, temperature=temperature_tensor)
    samples_identical = bool(np.array_equal(sampled["images"], model.sample(num, seed=seed, temperature=temperature)))
    completed = loaded.signatures["complete"](
        images=tf.constant(images[:num], tf.int32), known=tf.constant(known), seed=seed_tensor,
        temperature=temperature_tensor,
    )
    completions_identical = bool(np.array_equal(
        completed["images"], model.complete(images[:num], known, seed=seed, temperature=temperature)
    ))
    figures = {
        "log_prob_max_rel_diff": difference,
        "samples_identical": samples_identical,
        "completions_identical": completions_identical,
        "num_images": len(images),
    }
    if not (difference <= LOG_PROB_RTOL and samples_identical and completions_identical):
        raise VerificationError(f"the reloaded SavedModel disagrees with the Keras model: {figures}")
    return figures
