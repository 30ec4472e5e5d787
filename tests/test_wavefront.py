"""The cached sampler along diagonals (layers/wavefront.py, sampling/wavefront.py): the raster steps' images
from the same logits, for the archs that have it (the Gated PixelCNN's: a pixel per step, by colour group);
the diagonals' geometry."""

import numpy as np
import pytest
import tensorflow as tf

from pixelrnn_keras.layers.wavefront import Wavefront, kernel_taps, ring_columns
from pixelrnn_keras.models import WavefrontSteps
from pixelrnn_keras.sampling import generate, gumbel_noise
from pixelrnn_keras.sampling.conditioned import Conditioned
from pixelrnn_keras.sampling.parts import BatchParts

WAVE_ARCHS = ("pixelcnn", "row_lstm", "gated_pixelcnn")


def draw_both_ways(model, num, parts, condition=None, seed=2):
    """(wavefront images, logits), (raster images, logits) from the same noise, the first row known."""
    gumbel = gumbel_noise(num, model.image_shape, model.levels, seed=seed, dtype=model.compute_dtype)
    values = np.random.default_rng(seed).integers(0, model.levels, (num, *model.image_shape)).astype(np.int32)
    known = np.random.default_rng(seed).random(values.shape) < 0.3
    known[:, 0] = True
    return [
        generate(model, gumbel, 1.0, values, known, condition=condition, parts=parts, wavefront=wavefront)
        for wavefront in (True, False)
    ], (values, known)


@pytest.mark.parametrize("arch", WAVE_ARCHS)
def test_wavefront_steps_draw_the_raster_steps_images_from_the_same_logits(tiny_model, arch, float64):
    """A non-square image (rows and columns mixed up would show), other kernel sizes (another slope),
    skip connections, class labels, known sub-pixels, and uneven batch parts (3 + 2 images; one part
    is in tests/test_sampling.py, which also compares one with two parts)."""
    model = tiny_model(
        arch,
        (5, 4, 3),
        16,
        num_layers=2,
        head_units=12,
        skip_connections=True,
        kernel_size=5,
        first_kernel_size=3,
        num_classes=3,
    )
    # The Gated PixelCNN's vertical stack runs at each row's end: its slope is the width.
    assert model.wavefront().slope == (4 if arch == "gated_pixelcnn" else 3)
    num = 5
    condition = model.label_condition(np.arange(num) % 3)
    ((wave, wave_logits), (raster, raster_logits)), (values, known) = draw_both_ways(model, num, 2, condition)
    np.testing.assert_array_equal(wave, raster)
    np.testing.assert_allclose(wave_logits, raster_logits, atol=1e-12, rtol=0)
    np.testing.assert_array_equal(np.asarray(wave)[known], values[known])


@pytest.mark.parametrize("arch", WAVE_ARCHS)
def test_a_network_conditioned_on_a_map_steps_along_diagonals_too(tiny_model, arch, float64):
    """The upper stage of a multi-scale model: its condition map enters every block's gates."""
    model = tiny_model(arch, (6, 6, 1), 2, num_layers=2, head_units=12, condition_features=2)
    condition = tf.constant(np.random.default_rng(0).normal(size=(4, 6, 6, 2)), model.compute_dtype)
    ((wave, wave_logits), (raster, raster_logits)), _ = draw_both_ways(model, 4, 1, condition)
    np.testing.assert_array_equal(wave, raster)
    np.testing.assert_allclose(wave_logits, raster_logits, atol=1e-12, rtol=0)


def test_the_diagonal_bilstm_which_reads_whole_rows_above_at_every_step_has_no_wavefront(tiny_model):
    assert tiny_model("diagonal_bilstm", (4, 4, 1), 2).wavefront() is None


def test_the_gated_pixelcnn_refuses_a_wavefront_of_several_pixels_per_step(tiny_model):
    core = tiny_model("gated_pixelcnn", (4, 4, 1), 2).blocks[0].core
    with pytest.raises(ValueError, match="one pixel at a time"):
        core.wave_init_cache(2, Wavefront(4, 4, 2), "float32")


def test_the_networks_the_sampler_drives_follow_the_wavefront_protocol(tiny_model):
    model = tiny_model("row_lstm", (4, 4, 1), 2, num_classes=2)
    condition = model.label_condition(np.arange(4) % 2)
    for network in (model, Conditioned(model, condition), BatchParts.split(model, 4, 2, condition)):
        assert isinstance(network, WavefrontSteps) and network.wavefront().slope == 4


@pytest.mark.parametrize("height,width,slope", [(32, 32, 4), (5, 4, 3), (4, 9, 2), (1, 6, 4), (7, 1, 2)])
def test_every_pixel_is_one_slot_of_the_step_of_its_diagonal(height, width, slope):
    wave = Wavefront(height, width, slope)
    slots = wave.slot_of_pixel()
    assert len(np.unique(slots)) == height * width and slots.max() < wave.steps * wave.slots
    inside = np.concatenate([wave.at(tf.constant(t)).inside().numpy() for t in range(wave.steps)])
    np.testing.assert_array_equal(np.flatnonzero(inside), np.sort(slots))
    i, j = np.divmod(np.arange(height * width), width)
    np.testing.assert_array_equal(slots // wave.slots, j + slope * i)


def test_every_tap_of_a_kernel_is_on_an_earlier_diagonal_at_its_slope():
    for kernel_size in [(7, 7), (3, 3), (1, 3), (5, 5), (3, 5)]:
        slope = kernel_size[1] // 2 + 1
        assert ring_columns(kernel_taps(kernel_size), slope) == slope * (kernel_size[0] // 2) + kernel_size[1] // 2
        if kernel_size[0] > 1:
            with pytest.raises(ValueError, match="slope"):
                ring_columns(kernel_taps(kernel_size), slope - 1)


def test_a_wavefront_argument_that_is_not_a_bool_is_refused_naming_it(tiny_model):
    model = tiny_model("pixelcnn", (4, 4, 1), 2)
    gumbel = gumbel_noise(2, model.image_shape, model.levels, seed=0)
    zeros = tf.zeros([2, *model.image_shape], tf.int32)
    with pytest.raises(ValueError, match="wavefront must be True or False"):
        generate(model, gumbel, 1.0, zeros, tf.cast(zeros, tf.bool), wavefront="no")


def test_sample_and_complete_take_the_raster_steps_on_request(tiny_model, tiny_multi_scale, monkeypatch):
    """`wavefront=False` (what the exports are compared with) reaches the loop from every entry point; the
    default takes the wavefront steps."""
    from pixelrnn_keras.sampling import api

    asked = []

    def spy(*args, wavefront=True, **kwargs):
        asked.append(wavefront)
        return generate(*args, wavefront=wavefront, **kwargs)

    monkeypatch.setattr(api, "generate", spy)
    monkeypatch.setattr("pixelrnn_keras.sampling.two_stage.generate", spy)
    model = tiny_model("pixelcnn", (4, 4, 1), 2)
    multi_scale = tiny_multi_scale((4, 4, 1), 2, 2, "pixelcnn", "pixelcnn")
    known = np.zeros((2, 4, 4, 1), bool)
    for network in (model, multi_scale):
        for wavefront in (True, False):
            before = len(asked)
            network.sample(2, seed=0, wavefront=wavefront)
            network.complete(np.zeros((2, 4, 4, 1), np.int32), known, seed=0, wavefront=wavefront)
            assert asked[before:] and set(asked[before:]) == {wavefront}
