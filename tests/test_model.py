"""The PixelRNN model's contract: outputs, likelihoods, training, saving, configs, presets, input checks."""

import math
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from pixelrnn_keras import PixelRNN
from pixelrnn_keras.layers import list_archs
from pixelrnn_keras.models import PAPER_PRESETS, preset_config

ARCHS = list_archs()
SHAPE = (4, 5, 3)  # non-square on purpose
LEVELS = 16
TINY = dict(levels=LEVELS, num_layers=1, hidden=4, head_units=8)  # what tiny_model builds
SCALE = 0.2  # the weight perturbation this module's checks were written against


def images(n, shape=SHAPE, levels=LEVELS, seed=0, dtype="int32"):
    return np.random.default_rng(seed).integers(0, levels, (n, *shape)).astype(dtype)


def log_softmax_np(logits):
    logits = logits.astype("float64")
    top = logits.max(axis=-1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))


def numpy_log_prob(x, logits):
    """-sum of the sparse categorical cross-entropy over every sub-pixel, in float64 numpy."""
    logp = np.take_along_axis(log_softmax_np(np.asarray(logits)), x[..., None].astype("int64"), axis=-1)[..., 0]
    return logp.reshape(len(x), -1).sum(axis=1)


@pytest.fixture(scope="module")
def models(tiny_model):
    """One tiny randomized model per arch, built once for the module."""
    return {arch: tiny_model(arch, SHAPE, LEVELS, scale=SCALE) for arch in ARCHS}


# --------------------------------------------------------------------------------------------
# Outputs and likelihood
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
def test_logits_shape_and_dtype(arch, models):
    model = models[arch]
    logits = model(images(3))
    assert tuple(logits.shape) == (3, *SHAPE, LEVELS)
    assert logits.dtype == tf.float32
    assert np.all(np.isfinite(np.asarray(logits)))
    assert model.num_dims == int(np.prod(SHAPE))
    assert model.channels == SHAPE[-1]


@pytest.mark.parametrize("arch", ARCHS)
def test_log_prob_equals_negative_summed_cross_entropy(arch, models):
    model = models[arch]
    x = images(3, seed=2)
    logits = np.asarray(model(x))
    expected = numpy_log_prob(x, logits)
    log_prob = model.log_prob(x)
    assert tuple(log_prob.shape) == (3,)
    assert log_prob.dtype == tf.float32
    np.testing.assert_allclose(np.asarray(log_prob), expected, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(model.log_prob_from_logits(x, logits)), expected, rtol=1e-5)
    assert np.all(expected < 0)


@pytest.mark.parametrize("arch", ARCHS)
def test_fresh_model_is_near_uniform(arch):
    model = PixelRNN(arch, (4, 4, 3), levels=256, num_layers=1, hidden=4, head_units=8)
    x = images(4, shape=(4, 4, 3), levels=256, dtype="uint8")
    log_prob = np.asarray(model.log_prob(x))
    assert log_prob.shape == (4,)
    assert np.all(np.isfinite(log_prob))
    bits_per_dim = np.asarray(model.nats_to_bits_per_dim(-log_prob))
    np.testing.assert_allclose(bits_per_dim, 8.0, atol=0.25)


def test_nats_to_bits_per_dim():
    model = PixelRNN("pixelcnn", (2, 3, 1), levels=2, num_layers=1, hidden=2, head_units=2)
    assert model.nats_to_bits_per_dim(6 * math.log(2.0)) == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def _check_history(history, shape):
    assert set(history.history) >= {"loss", "bits_per_dim"}
    loss, bits = history.history["loss"][-1], history.history["bits_per_dim"][-1]
    assert np.isfinite(loss) and np.isfinite(bits)
    expected = loss / (int(np.prod(shape)) * math.log(2.0))
    assert bits == pytest.approx(expected, rel=1e-4)


FIT_CASES = [
    (arch, jit)
    if (arch, jit) != ("diagonal_bilstm", True)
    else pytest.param(arch, jit, marks=pytest.mark.slow)  # ~14 s of XLA compilation on 2 CPU cores
    for arch in ARCHS
    for jit in (False, True)
]


@pytest.mark.parametrize("arch,jit_compile", FIT_CASES)
def test_fit_uint8_reports_loss_and_bits_per_dim(tiny_model, arch, jit_compile):
    model = tiny_model(arch, SHAPE, LEVELS, weights="initial")
    model.compile(keras.optimizers.RMSprop(1e-3), jit_compile=jit_compile)
    x = images(16, dtype="uint8")
    history = model.fit(x, batch_size=16, epochs=1, verbose=0)
    _check_history(history, SHAPE)
    assert np.all(np.isfinite(np.asarray(model(x[:2]))))


def test_fit_several_batches_keeps_bits_per_dim_consistent(tiny_model):
    """Uneven batches (16 = 6 + 6 + 4): both metrics are per-image means over the epoch."""
    model = tiny_model("pixelcnn", SHAPE, LEVELS, weights="initial")
    model.compile(keras.optimizers.RMSprop(1e-3))
    history = model.fit(images(16, dtype="uint8"), batch_size=6, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    _check_history(history, SHAPE)


def test_fit_accepts_dataset_of_images_and_anything(tiny_model):
    x = images(8, dtype="uint8")
    y = np.array(["anything"] * 8)  # never read: the images are their own target
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    model = tiny_model("pixelcnn", SHAPE, LEVELS, weights="initial")
    model.compile(keras.optimizers.Adam(1e-3))
    _check_history(model.fit(dataset, epochs=1, verbose=0), SHAPE)
    # A dataset of images alone works too.
    images_only = tf.data.Dataset.from_tensor_slices(x).batch(8)
    _check_history(model.fit(images_only, epochs=1, verbose=0), SHAPE)


@pytest.mark.parametrize("optimizer", [lambda: keras.optimizers.RMSprop(1e-2), lambda: keras.optimizers.Adam(1e-2)])
def test_optimizers_reduce_the_loss_on_a_fixed_batch(tiny_model, optimizer):
    """One batch per epoch: epoch 1 reports the loss before any update, the last epoch after 7 updates."""
    x = images(8, dtype="uint8", seed=5)
    model = tiny_model("pixelcnn", SHAPE, LEVELS, weights="initial")
    model.compile(optimizer())
    losses = model.fit(x, batch_size=8, epochs=8, verbose=0, shuffle=False).history["loss"]
    assert losses[-1] < losses[0] - 1.0, losses
    assert all(np.isfinite(losses))


def test_fit_rejects_float_images(tiny_model):
    model = tiny_model("pixelcnn", SHAPE, LEVELS, weights="initial")
    model.compile(keras.optimizers.Adam(1e-3))
    with pytest.raises(ValueError, match="images"):
        model.fit(images(4).astype("float32"), epochs=1, verbose=0)


# --------------------------------------------------------------------------------------------
# Saving and configs
# --------------------------------------------------------------------------------------------


def test_keras_file_loads_in_a_fresh_process(models, tmp_path):
    x = images(2, seed=3)
    np.save(tmp_path / "images.npy", x)
    for arch in ARCHS:
        models[arch].save(tmp_path / f"{arch}.keras")
        np.save(tmp_path / f"{arch}_expected.npy", np.asarray(models[arch](x)))
    script = textwrap.dedent(
        f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
        import keras, numpy as np
        import pixelrnn_keras  # registers the classes
        x = np.load({str(tmp_path / "images.npy")!r})
        for arch in {ARCHS!r}:
            model = keras.saving.load_model(os.path.join({str(tmp_path)!r}, arch + ".keras"))
            assert type(model).__name__ == "PixelRNN", type(model)
            assert model.arch == arch
            np.save(os.path.join({str(tmp_path)!r}, arch + "_loaded.npy"), np.asarray(model(x)))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    for arch in ARCHS:
        expected = np.load(tmp_path / f"{arch}_expected.npy")
        loaded = np.load(tmp_path / f"{arch}_loaded.npy")
        np.testing.assert_array_equal(loaded, expected, err_msg=arch)


@pytest.mark.parametrize("arch", ARCHS)
def test_keras_file_round_trip_in_process(arch, models, tmp_path):
    model = models[arch]
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, PixelRNN)
    assert loaded.get_config() == model.get_config()
    x = images(2, seed=4)
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))


@pytest.mark.parametrize("arch", ARCHS)
def test_weights_file_round_trip_into_a_new_model(tiny_model, arch, models, tmp_path):
    model = models[arch]
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    fresh = tiny_model(arch, SHAPE, LEVELS, weights="initial")
    x = images(2, seed=6)
    assert not np.array_equal(np.asarray(fresh(x)), np.asarray(model(x)))
    fresh.load_weights(path)
    np.testing.assert_array_equal(np.asarray(fresh(x)), np.asarray(model(x)))


@pytest.mark.parametrize("arch", ARCHS)
def test_config_round_trip(arch, models):
    model = models[arch]
    config = model.get_config()
    for key, value in dict(arch=arch, image_shape=SHAPE, **TINY).items():
        assert config[key] == value, key
    assert config["skip_connections"] is False
    clone = PixelRNN.from_config(config)
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    x = images(2, seed=7)
    np.testing.assert_array_equal(np.asarray(clone(x)), np.asarray(model(x)))
    # Through JSON (image_shape becomes a list) as well.
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    assert isinstance(revived, PixelRNN)
    assert revived.image_shape == SHAPE


def test_skip_connections_build_and_round_trip(tiny_model, tmp_path):
    model = tiny_model("pixelcnn", SHAPE, LEVELS, scale=SCALE, num_layers=2, skip_connections=True)
    assert len(model.skips) == 2
    x = images(2)
    logits = np.asarray(model(x))
    assert logits.shape == (2, *SHAPE, LEVELS)
    model.save(tmp_path / "skip.keras")
    loaded = keras.saving.load_model(tmp_path / "skip.keras")
    assert loaded.skip_connections
    np.testing.assert_array_equal(np.asarray(loaded(x)), logits)


# --------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PAPER_PRESETS))
def test_presets_build_small(name):
    config = preset_config(name, num_layers=1, hidden=4, head_units=8)
    assert config["num_layers"] == 1 and config["hidden"] == 4
    for key in ("arch", "image_shape", "levels"):
        assert config[key] == PAPER_PRESETS[name][key]
    model = PixelRNN(**config)
    assert model.arch == PAPER_PRESETS[name]["arch"]
    assert model.image_shape == tuple(PAPER_PRESETS[name]["image_shape"])
    assert model.levels == PAPER_PRESETS[name]["levels"]
    assert model.count_params() > 0
    # The preset table itself is left untouched by overrides.
    assert PAPER_PRESETS[name]["num_layers"] > 1


def _expected_params(arch, image_shape, levels, num_layers, hidden, head_units, kernel_size=3, first_kernel_size=7):
    """Parameter count from the documented layout (paper, Table 1)."""
    c, h, w = image_shape[-1], hidden, 2 * hidden
    total = first_kernel_size**2 * c * w + w  # 7x7 mask A
    total += w * head_units + head_units + head_units * c * levels + c * levels  # 1x1 head
    if arch == "pixelcnn":
        block = (w * h + h) + (kernel_size**2 * h * h + h)
    elif arch == "row_lstm":
        block = (kernel_size * w * 4 * h + 4 * h) + kernel_size * h * 4 * h  # input-to-state + state-to-state
    else:
        # left 1x1 input-to-state, right input-to-state (also reading the image), 2x1 state kernels
        block = (w * 4 * h + 4 * h) + ((w + c) * 4 * h + 4 * h) + 2 * 2 * h * 4 * h
    block += h * w + w  # 1x1 back to 2h
    return total + num_layers * block


@pytest.mark.parametrize("name", sorted(PAPER_PRESETS))
def test_full_size_preset_parameter_counts(name):
    """Builds the full paper-size models (weights only, no forward pass: well under a second each)."""
    config = preset_config(name)
    model = PixelRNN(**config)
    assert model.count_params() == _expected_params(**config)


def test_unknown_preset():
    with pytest.raises(ValueError, match="name"):
        preset_config("imagenet_row_lstm")


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------

BAD_INPUTS = {
    "rank_3_with_3_channels": np.zeros((2, 4, 5), "int32"),
    "single_image_without_batch": np.zeros(SHAPE, "int32"),
    "rank_5": np.zeros((2, *SHAPE, 1), "int32"),
    "rank_2": np.zeros((4, 5), "int32"),
    "wrong_channels": np.zeros((2, 4, 5, 1), "int32"),
    "wrong_height": np.zeros((2, 5, 5, 3), "int32"),
    "wrong_width": np.zeros((2, 4, 4, 3), "int32"),
    "transposed": np.zeros((2, 5, 4, 3), "int32"),
    "negative": np.full((2, *SHAPE), -1, "int32"),
    "too_large": np.full((2, *SHAPE), LEVELS, "int32"),
    "one_too_large_value": np.concatenate([np.zeros((1, *SHAPE), "int64"), np.full((1, *SHAPE), LEVELS, "int64")]),
    "float32": np.zeros((2, *SHAPE), "float32"),
    "float64_integral": np.ones((2, *SHAPE), "float64"),
    "float16": np.zeros((2, *SHAPE), "float16"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_images_raise_value_error_naming_images(case, models):
    model = models["pixelcnn"]
    x = BAD_INPUTS[case]
    with pytest.raises(ValueError, match="images"):
        model(x)
    with pytest.raises(ValueError, match="images"):
        model.log_prob(x)
    with pytest.raises(ValueError, match="images"):
        model.log_prob(tf.constant(x))


def test_uint8_and_int64_inputs_accepted(models):
    model = models["pixelcnn"]
    x = images(2)
    expected = np.asarray(model(x))
    for dtype in ("uint8", "int64", "int16"):
        np.testing.assert_array_equal(np.asarray(model(x.astype(dtype))), expected)
    # Values at both ends of the range are fine.
    np.asarray(model.log_prob(np.full((1, *SHAPE), LEVELS - 1, "uint8")))
    np.asarray(model.log_prob(np.zeros((1, *SHAPE), "uint8")))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(arch="gru"),
        dict(arch="PixelCNN"),
        dict(levels=1),
        dict(levels=0),
        dict(image_shape=(4, 5)),
        dict(image_shape=(4, 5, 3, 1)),
        dict(image_shape=(4, 0, 3)),
        dict(num_layers=0),
        dict(hidden=2),  # fewer than the 3 channels
    ],
)
def test_constructor_errors(kwargs):
    args = dict(arch="pixelcnn", image_shape=SHAPE, **TINY)
    args.update(kwargs)
    with pytest.raises(ValueError):
        PixelRNN(**args)


def test_rank_3_input_accepted_when_single_channel(tiny_model):
    model = tiny_model("pixelcnn", (4, 5, 1), 2, scale=SCALE, hidden=2, head_units=4)
    x4 = images(2, shape=(4, 5, 1), levels=2)
    x3 = x4[..., 0]
    logits = np.asarray(model(x4))
    assert logits.shape == (2, 4, 5, 1, 2)
    np.testing.assert_array_equal(np.asarray(model(x3)), logits)
    np.testing.assert_allclose(np.asarray(model.log_prob(x3)), np.asarray(model.log_prob(x4)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(model.log_prob(x3)), numpy_log_prob(x4, logits), rtol=1e-5)
    # Binary images as booleans too.
    np.testing.assert_array_equal(np.asarray(model(x3.astype(bool))), logits)
    # And a rank-3 array trains.
    model.compile(keras.optimizers.Adam(1e-3))
    _check_history(model.fit(x3.astype("uint8"), batch_size=2, epochs=1, verbose=0), (4, 5, 1))


def test_a_pixel_rnn_is_one_stage_over_the_whole_image(models):
    model = models["pixelcnn"]
    (stage,) = model.stages()
    assert stage.network is model and stage.factor == 1 and stage.condition is None
    assert stage.coded.shape == SHAPE[:2] and stage.coded.all()
    # A network conditioned from outside has no stages of its own: the model that conditions it does.
    with pytest.raises(ValueError, match="condition comes from outside"):
        PixelRNN("pixelcnn", SHAPE, **TINY, condition_features=2).stages()
