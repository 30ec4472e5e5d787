"""The one-pixel step protocols (layers/incremental.py, models/steps.py), checked on every core and
on every kind of network the samplers and the codec drive: a plain `PixelRNN` of each arch, a
class-conditional one with its labels fixed, and both stages of a `MultiScalePixelRNN`.

Driven step by step, a network gives the logits of its full forward pass."""

import numpy as np
import pytest
import tensorflow as tf

from pixelrnn_keras.layers import MaskedConv2D, core_class, list_archs
from pixelrnn_keras.layers.incremental import PixelStepLayer, RowStepLayer
from pixelrnn_keras.models import PixelSteps
from pixelrnn_keras.sampling.conditioned import Conditioned

SHAPE, LEVELS, BATCH = (4, 4, 3), 5, 2


@pytest.mark.parametrize("arch", list_archs())
def test_every_core_is_a_row_step_layer(arch):
    assert isinstance(core_class(arch).for_block(4, 3, 3), RowStepLayer)


def test_the_first_convolution_is_a_pixel_step_layer_that_writes():
    conv = MaskedConv2D(4, 3, "A", 3)
    assert isinstance(conv, PixelStepLayer) and not isinstance(conv, RowStepLayer) and callable(conv.write)


def networks(arch, tiny_model, tiny_multi_scale):
    """{name: (PixelSteps network, images it is driven over)}."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, LEVELS, (BATCH, *SHAPE)).astype("int32")
    plain = tiny_model(arch, SHAPE, LEVELS, num_layers=2)
    classes = tiny_model(arch, SHAPE, LEVELS, num_layers=2, num_classes=3)
    two_layers = {"num_layers": 2}
    two_scales = tiny_multi_scale(SHAPE, 2, LEVELS, arch, arch, low=two_layers, high=two_layers)
    low_images = np.asarray(two_scales.subsample(images))
    return {
        "plain": (plain, images),
        "class-conditional": (Conditioned(classes, classes.label_condition(np.array([0, 2]))), images),
        "multi-scale, low stage": (two_scales.low, low_images),
        "multi-scale, high stage": (Conditioned(two_scales.high, two_scales.condition_map(low_images)), images),
    }


@pytest.mark.parametrize("arch", list_archs())
def test_every_network_follows_the_pixel_steps_protocol(tiny_model, tiny_multi_scale, arch):
    for name, (network, images) in networks(arch, tiny_model, tiny_multi_scale).items():
        assert isinstance(network, PixelSteps), name
        height, width, channels = network.image_shape
        expected = np.asarray(network(images))
        cache = network.init_cache(BATCH)
        logits = np.zeros_like(expected)
        for i in range(height):
            for j in range(width):
                pixel, at = tf.constant(images[:, i, j]), (tf.constant(i), tf.constant(j))
                for c in range(channels):
                    out, stepped = network.step(cache, pixel, *at, c)
                    logits[:, i, j, c] = np.asarray(out)
                cache = network.end_pixel(stepped, pixel, *at)
                if j == width - 1:
                    cache = network.end_row(cache, at[0], tf.constant(images[:, i]))
        np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4, err_msg=f"{arch}, {name}")
