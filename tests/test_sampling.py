"""Exact sampling: the cached sampler draws the same images as the naive reference, from the same logits.

Both samplers draw by Gumbel-max from noise fixed by the seed, so equal logits give equal images.
The matrix runs in float64, where the two samplers' logits (matmuls per pixel vs. full
convolutions and scans) differ by ~1e-15 and an argmax can never flip on rounding.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from pixelrnn_keras.layers import list_archs
from pixelrnn_keras.sampling import generate, gumbel_noise, sample, two_stage

ARCHS = list_archs()
CASES = [((8, 8, 3), 256), ((8, 8, 1), 2)]
NUM = 4  # one batch size throughout (training too): each model compiles each loop once


HEAD_UNITS = 12


def train_a_few_steps(model, real_images):
    model.compile(keras.optimizers.Adam(3e-2), jit_compile=False)
    model.fit(real_images(model.image_shape, model.levels, 4 * NUM), batch_size=NUM, epochs=1, verbose=0)


def assert_exact(model, seed, temperature=1.0, values=None, known=None, jit_compile=True):
    """Cached and naive draw the same images from the same logits, which are a forward pass's logits."""
    shape = (NUM, *model.image_shape)
    values = tf.zeros(shape, tf.int32) if values is None else tf.constant(values, tf.int32)
    known = tf.zeros(shape, tf.bool) if known is None else tf.constant(known)
    gumbel = gumbel_noise(NUM, model.image_shape, model.levels, seed, model.compute_dtype)
    run = {
        method: map(np.asarray, generate(model, gumbel, temperature, values, known, method, jit_compile))
        for method in ("cached", "naive")
    }
    (cached, cached_logits), (naive, naive_logits) = run["cached"], run["naive"]
    np.testing.assert_array_equal(cached, naive)
    # The naive loop runs no pass where a sub-pixel is known in every image.
    drawn = ~np.all(np.asarray(known), axis=0)
    np.testing.assert_allclose(cached_logits[:, drawn], naive_logits[:, drawn], atol=1e-4, rtol=0)
    np.testing.assert_allclose(cached_logits, model(cached), atol=1e-4, rtol=0)
    assert cached.dtype == np.int32 and cached.shape == shape
    assert 0 <= cached.min() and cached.max() < model.levels
    return cached


def bottom_half_unknown(model, seed=0):
    images = np.random.default_rng(seed).integers(0, model.levels, (NUM, *model.image_shape))
    known = np.zeros(images.shape, bool)
    known[:, : model.image_shape[0] // 2] = True
    return images, known


# Every arch on binary images; on 256-level colour they are slow (~15-40 s each, mostly compiling the
# loops): colour groups in their steps are also checked at 16 levels below (every arch), in
# tests/test_wavefront.py and by the codec's round trips.
SAMPLER_CASES = [
    pytest.param(arch, shape, levels, marks=[pytest.mark.slow] if levels > 2 else [])
    for shape, levels in CASES
    for arch in ARCHS
]


@pytest.mark.parametrize("arch,shape,levels", SAMPLER_CASES)
def test_cached_sampler_equals_naive_before_and_after_training(tiny_model, real_images, arch, shape, levels, float64):
    # One layer keeps CI fast; two where a layer's caches are fed most intricately (the Diagonal
    # BiLSTM's rows, three colours; the Gated PixelCNN's vertical stack, from block to block).
    # Every arch runs two layers in the test without XLA below.
    intricate = (arch, shape[-1]) == ("diagonal_bilstm", 3) or arch == "gated_pixelcnn"
    model = tiny_model(arch, shape, levels, num_layers=2 if intricate else 1, head_units=HEAD_UNITS)
    for weights in ("random", "trained"):
        if weights == "trained":
            train_a_few_steps(model, real_images)
        sampled = assert_exact(model, seed=1)
        images, known = bottom_half_unknown(model)
        completed = assert_exact(model, seed=3, temperature=0.7, values=images, known=known)
        np.testing.assert_array_equal(completed[known], images[known])
        assert (completed[~known] != images[~known]).any()
        # The public API runs the same compiled loops on the same noise.
        for method in ("cached", "naive"):
            np.testing.assert_array_equal(model.sample(NUM, seed=1, method=method), sampled)
            completed_here = model.complete(images, known, seed=3, temperature=0.7, method=method)
            np.testing.assert_array_equal(completed_here, completed)


@pytest.mark.parametrize("arch", ARCHS)
def test_28x28_binary_model_cached_equals_naive_in_float32(tiny_model, arch):
    """The real dtype and a real size; with two levels, a near-tie within float32 rounding over
    these 3136 draws is ~1e-3 likely."""
    assert_exact(tiny_model(arch, (28, 28, 1), 2, head_units=HEAD_UNITS), seed=4)


@pytest.mark.parametrize("arch", ARCHS)
def test_loops_without_xla_on_a_non_square_image_and_other_options(tiny_model, arch, float64):
    """Both loops run without XLA too; a non-square image catches mixed-up rows and columns;
    skip connections and other kernel sizes change the caches."""
    model = tiny_model(
        arch,
        (4, 5, 3),
        16,
        num_layers=2,
        head_units=HEAD_UNITS,
        skip_connections=True,
        kernel_size=5,
        first_kernel_size=3,
    )
    images, _ = bottom_half_unknown(model)
    # Known sub-pixels at random: some pixels partly known, a different pattern in every image.
    known = np.random.default_rng(0).random(images.shape) < 0.5
    assert_exact(model, seed=6, values=images, known=known, jit_compile=False)


@pytest.fixture(scope="module")
def model(tiny_model):
    return tiny_model("pixelcnn", (8, 8, 1), 2, head_units=HEAD_UNITS)


def test_seeds_are_reproducible(model):
    first = np.asarray(model.sample(NUM, seed=7))
    np.testing.assert_array_equal(model.sample(NUM, seed=7), first)
    assert (np.asarray(model.sample(NUM, seed=8)) != first).any()
    assert (np.asarray(model.sample(NUM)) != np.asarray(model.sample(NUM))).any()


@pytest.mark.parametrize("method", ["cached", "naive"])
def test_a_loop_that_keeps_no_logits_draws_the_same_images(model, method):
    """`sample` runs the loops without recording every sub-pixel's logits (bench/steps.py: 5-9%
    faster at 256 levels); the images are those of the loop that records them."""
    gumbel = gumbel_noise(NUM, model.image_shape, model.levels, seed=3)
    values, known = tf.zeros([NUM, *model.image_shape], tf.int32), tf.zeros([NUM, *model.image_shape], tf.bool)
    images, logits = generate(model, gumbel, 1.0, values, known, method, keep_logits=False)
    kept_images, kept_logits = generate(model, gumbel, 1.0, values, known, method)
    assert logits is None and kept_logits.shape == (NUM, *model.image_shape, model.levels)
    np.testing.assert_array_equal(images, kept_images)
    np.testing.assert_array_equal(model.sample(NUM, seed=3), images)


def test_cached_sampler_without_xla_equals_with(model):
    np.testing.assert_array_equal(sample(model, NUM, seed=5, jit_compile=False), sample(model, NUM, seed=5))


def test_complete_accepts_images_without_a_channel_axis(model):
    images, known = bottom_half_unknown(model)
    completed = model.complete(images[..., 0].astype("uint8"), known[..., 0], seed=3)
    np.testing.assert_array_equal(completed, model.complete(images, known, seed=3))


BAD_SAMPLE = [
    (dict(num=0), "num"),
    (dict(num=-2), "num"),
    (dict(num=2.0), "num"),
    (dict(num=True), "num"),
    (dict(temperature=0.0), "temperature"),
    (dict(temperature=-1.0), "temperature"),
    (dict(temperature=float("nan")), "temperature"),
    (dict(temperature=float("inf")), "temperature"),
    (dict(temperature="1"), "temperature"),
    (dict(seed=-1), "seed"),
    (dict(seed=1.5), "seed"),
    (dict(method="fast"), "method"),
]


@pytest.mark.parametrize("kwargs,name", BAD_SAMPLE)
def test_bad_sample_arguments_raise_value_error_naming_them(model, kwargs, name):
    kwargs = {"num": 2, **kwargs}
    with pytest.raises(ValueError, match=name):
        model.sample(**kwargs)


BAD_COMPLETE = {  # case -> (images, known, levels -> bad images, known), the argument the error names
    "known of another shape": (lambda x, k, levels: (x, k[:, :4]), "known"),
    "known not bool": (lambda x, k, levels: (x, k.astype("int32")), "known"),
    "known a list": (lambda x, k, levels: (x, k.tolist()), "known"),
    "images too large": (lambda x, k, levels: (x + levels, k), "images"),
    "images negative": (lambda x, k, levels: (x - levels, k), "images"),
    "images float": (lambda x, k, levels: (x.astype("float32"), k), "images"),
    "images of another shape": (lambda x, k, levels: (x[:, :4], k[:, :4]), "images"),
    "no images": (lambda x, k, levels: (x[:0], k[:0]), "images"),
}


@pytest.mark.parametrize("case", BAD_COMPLETE)
def test_bad_complete_arguments_raise_value_error_naming_them(model, case):
    make_bad, name = BAD_COMPLETE[case]
    images, known = make_bad(*bottom_half_unknown(model), model.levels)
    with pytest.raises(ValueError, match=name):
        model.complete(images, known, seed=0)


def test_complete_checks_temperature_and_method(model):
    with pytest.raises(ValueError, match="temperature"):
        model.complete(*bottom_half_unknown(model), temperature=0)
    with pytest.raises(ValueError, match="method"):
        model.complete(*bottom_half_unknown(model), method="fast")


def test_a_pixel_rnn_drawn_as_its_one_stage_gives_its_samples(model):
    """The stage loop (sampling/two_stage.py) draws a one-stage model as `sample` does, from the same seed."""
    shape = (NUM, *model.image_shape)
    images, _ = two_stage.draw(model, tf.zeros(shape, tf.int32), tf.zeros(shape, tf.bool), 7, 1.0)
    np.testing.assert_array_equal(images, model.sample(NUM, seed=7))


@pytest.mark.parametrize("arch", ARCHS)
def test_a_batch_stepped_in_parts_draws_the_same_images_from_the_same_logits(tiny_model, arch, float64):
    """`generate(parts=...)` (sampling/parts.py): each image's steps are those of the whole batch, on
    its own rows; uneven parts (3 + 2 images) and a class-conditional model's labels split with them."""
    model = tiny_model(arch, (4, 4, 3), 16, num_layers=2, head_units=HEAD_UNITS, num_classes=3)
    num = 5
    condition = model.label_condition(np.arange(num) % 3)
    gumbel = gumbel_noise(num, model.image_shape, model.levels, seed=2, dtype=model.compute_dtype)
    images, known = np.zeros((num, *model.image_shape), np.int32), np.zeros((num, *model.image_shape), bool)
    known[:, 0] = True  # the first row given: completion too
    images[:, 0] = 5
    whole, whole_logits = generate(model, gumbel, 1.0, images, known, condition=condition, parts=1)
    parts, parts_logits = generate(model, gumbel, 1.0, images, known, condition=condition, parts=2)
    np.testing.assert_array_equal(parts, whole)
    np.testing.assert_allclose(parts_logits, whole_logits, atol=1e-12, rtol=0)
    np.testing.assert_array_equal(whole[:, 0], 5)


@pytest.mark.parametrize("parts", [0, 6, 1.5, True])
def test_a_bad_number_of_parts_is_refused_naming_parts(model, parts):
    gumbel = gumbel_noise(5, model.image_shape, model.levels, seed=0)
    zeros = tf.zeros([5, *model.image_shape], tf.int32)
    with pytest.raises(ValueError, match="parts must be an int from 1 to the batch size 5"):
        generate(model, gumbel, 1.0, zeros, tf.cast(zeros, tf.bool), parts=parts)


def test_noise_of_another_shape_is_refused_naming_gumbel(model):
    """Noise of another width (as 256 numbers per sub-pixel at 256 levels, the one-step form, would be) or
    for another image is refused, not reshaped into other sub-pixels' noise."""
    zeros = tf.zeros([2, *model.image_shape], tf.int32)
    for shape in [(2, *model.image_shape, model.levels + 1), (2, 3, 3, model.image_shape[-1], 2)]:
        with pytest.raises(ValueError, match=r"gumbel must have shape \(N, "):
            generate(model, tf.zeros(shape), 1.0, zeros, tf.cast(zeros, tf.bool))


def test_default_parts_split_a_cpu_batch_in_two_and_keep_small_ones_whole():
    from pixelrnn_keras.sampling.parts import MIN_PART, default_parts

    assert default_parts(1) == default_parts(2 * MIN_PART - 1) == 1
    assert default_parts(64) == (1 if tf.config.list_logical_devices("GPU") or os.cpu_count() < 2 else 2)
