"""Mixed precision (bfloat16 convolutions, float32 recurrences and logits) and forward-only inference."""

import numpy as np
import pytest
import tensorflow as tf

from pixelrnn_keras.codec import compress, decompress
from pixelrnn_keras.layers import list_archs

ARCHS = list_archs()
SHAPE, LEVELS = (5, 4, 3), 8


@pytest.fixture(scope="module")
def small_model(tiny_model):
    """`small_model(arch, dtype=None)`: 2 layers of 6 units, as initialized."""

    def build(arch, dtype=None):
        kwargs = {} if dtype is None else {"dtype": dtype}
        return tiny_model(arch, SHAPE, LEVELS, weights="initial", num_layers=2, hidden=6, **kwargs)

    return build


def images(num=3, seed=0):
    return tf.constant(np.random.default_rng(seed).integers(0, LEVELS, (num, *SHAPE)), tf.int32)


@pytest.mark.parametrize("arch", ARCHS)
def test_a_mixed_bfloat16_model_has_float32_logits_and_loads_into_a_float32_one(small_model, arch):
    mixed = small_model(arch, "mixed_bfloat16")
    assert mixed.compute_dtype == "bfloat16"
    assert all(w.dtype == "float32" for w in mixed.weights)
    x = images()
    assert mixed(x).dtype == tf.float32
    mixed.compile(optimizer="adam")
    assert np.isfinite(mixed.train_on_batch(x)).all()
    plain = small_model(arch)
    plain.set_weights(mixed.get_weights())
    # bfloat16 rounds the activations: the same weights give about the same likelihood.
    np.testing.assert_allclose(mixed.log_prob(x), plain.log_prob(x), rtol=0.02)


@pytest.mark.parametrize("arch", ARCHS)
def test_the_codec_is_exact_for_a_mixed_bfloat16_model(small_model, arch):
    model = small_model(arch, "mixed_bfloat16")
    x = images(num=2, seed=1).numpy()
    np.testing.assert_array_equal(decompress(model, compress(model, x)), x)


@pytest.mark.parametrize("arch", ["row_lstm", "diagonal_bilstm"])
def test_forward_only_log_prob_equals_the_training_forward_and_keeps_its_gradient(small_model, arch):
    model = small_model(arch)
    x = images()
    with tf.GradientTape() as tape:
        fast = model.log_prob(x)  # the scans save no activations here
        total = tf.reduce_sum(fast)
    fast_grads = tape.gradient(total, model.trainable_variables)
    with tf.GradientTape() as tape:
        full = model.log_prob_from_logits(x, model(x))
        total = tf.reduce_sum(full)
    full_grads = tape.gradient(total, model.trainable_variables)
    np.testing.assert_array_equal(fast, full)
    for fast_grad, full_grad in zip(fast_grads, full_grads):
        np.testing.assert_allclose(fast_grad, full_grad, rtol=1e-5, atol=1e-6)
