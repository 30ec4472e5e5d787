"""Shapes, dtypes, graph/XLA agreement, config round trips, registration and saving of the layers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from pixelrnn_keras import PixelRNN
from pixelrnn_keras.layers import DiagonalBiLSTM, MaskedConv2D, ResidualBlock, RowLSTM

B, H, W = 2, 4, 5  # non-square on purpose: catches mixed-up height / width


def _inputs(features, context=None, seed=0, dtype="float32"):
    rng = np.random.default_rng(seed)
    args = [rng.normal(size=(B, H, W, features)).astype(dtype)]
    if context is not None:
        args.append(rng.normal(size=(B, H, W, context)).astype(dtype))
    return args


# name -> (factory(**kwargs) -> layer, input features, context features or None, output features)
CASES = {
    "masked_conv_3x3_B": (lambda **kw: MaskedConv2D(9, 3, "B", 3, **kw), 6, None, 9),
    "masked_conv_1x1_A_blocks_nobias": (
        lambda **kw: MaskedConv2D(12, 1, "A", 3, output_blocks=4, use_bias=False, **kw),
        6,
        None,
        12,
    ),
    "row_lstm": (lambda **kw: RowLSTM(6, 3, 3, **kw), 6, None, 6),
    "diagonal_bilstm_context": (lambda **kw: DiagonalBiLSTM(6, 3, **kw), 6, 3, 6),
    "residual_pixelcnn": (lambda **kw: ResidualBlock("pixelcnn", 6, 3, **kw), 12, None, 12),
    "residual_row_lstm_grey": (lambda **kw: ResidualBlock("row_lstm", 4, 1, kernel_size=5, **kw), 8, None, 8),
    "residual_diagonal_bilstm": (lambda **kw: ResidualBlock("diagonal_bilstm", 6, 3, **kw), 12, 3, 12),
}
NAMES = list(CASES)


def _make(name, **kwargs):
    factory, features, context, out = CASES[name]
    return factory(**kwargs), _inputs(features, context), out


def _randomize(layer, seed=1):
    """Random values in every weight (biases too), so that nothing sits at an exact zero."""
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 0.5, w.shape).astype(w.dtype) for w in layer.get_weights()])


@pytest.fixture(scope="module")
def built():
    """Each case's layer, built and randomized once, with its inputs and eager outputs."""
    cache = {}

    def get(name):
        if name not in cache:
            layer, args, out = _make(name)
            layer(*args)
            _randomize(layer)
            cache[name] = (layer, args, out, np.asarray(layer(*args)))
        return cache[name]

    return get


@pytest.mark.parametrize("name", NAMES)
def test_eager_shape_and_dtype(name, built):
    layer, args, out, eager = built(name)
    assert eager.shape == (B, H, W, out)
    assert eager.dtype == np.float32
    assert np.all(np.isfinite(eager))
    shapes = [a.shape for a in args]
    assert tuple(layer.compute_output_shape(*shapes)) == (B, H, W, out)
    assert layer.built
    assert len(layer.trainable_weights) > 0


FLOAT64_CASES = [
    "masked_conv_3x3_B",
    "masked_conv_1x1_A_blocks_nobias",
    "row_lstm",
    "residual_diagonal_bilstm",
]


@pytest.mark.parametrize("name", FLOAT64_CASES)
def test_float64_layer(name):
    layer, args, out = _make(name, dtype="float64")
    args = [a.astype("float64") for a in args]
    result = layer(*args)
    assert result.dtype == tf.float64
    assert tuple(result.shape) == (B, H, W, out)
    assert all(w.dtype == "float64" for w in layer.weights)


@pytest.mark.parametrize("name", NAMES)
def test_tf_function_with_unknown_batch_matches_eager(name, built):
    layer, args, out, eager = built(name)
    signature = [tf.TensorSpec([None, *a.shape[1:]], tf.float32) for a in args]
    fn = tf.function(lambda *xs: layer(*xs), input_signature=signature)
    np.testing.assert_allclose(np.asarray(fn(*args)), eager, atol=1e-5, rtol=1e-5)
    concrete = fn.get_concrete_function()
    assert concrete.structured_outputs.shape.as_list() == [None, H, W, out]


@pytest.mark.parametrize("name", NAMES)
def test_xla_matches_eager(name, built):
    layer, args, out, eager = built(name)
    fn = tf.function(lambda *xs: layer(*xs), jit_compile=True)
    result = fn(*[tf.constant(a) for a in args])
    assert tuple(result.shape) == (B, H, W, out)
    assert result.dtype == tf.float32
    np.testing.assert_allclose(np.asarray(result), eager, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["row_lstm", "residual_pixelcnn"])
def test_unknown_spatial_shape_in_tf_function(name, built):
    layer, args, out, eager = built(name)
    signature = [tf.TensorSpec([None, None, None, a.shape[-1]], tf.float32) for a in args]
    fn = tf.function(lambda *xs: layer(*xs), input_signature=signature)
    np.testing.assert_allclose(np.asarray(fn(*args)), eager, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["diagonal_bilstm_context"])
def test_diagonal_bilstm_unknown_spatial_shape_in_tf_function(name, built):
    layer, args, out, eager = built(name)
    signature = [tf.TensorSpec([None, None, None, a.shape[-1]], tf.float32) for a in args]
    fn = tf.function(lambda *xs: layer(*xs), input_signature=signature)
    np.testing.assert_allclose(np.asarray(fn(*args)), eager, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "name",
    [
        "masked_conv_3x3_B",
        "residual_pixelcnn",
        "residual_row_lstm_grey",
        "diagonal_bilstm_context",
    ],
)
def test_eager_gradients_reach_every_weight(name, built):
    layer, args, out, eager = built(name)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(layer(*args)))
    grads = tape.gradient(loss, layer.trainable_weights)
    for w, g in zip(layer.trainable_weights, grads):
        assert g is not None, w.path
        assert np.all(np.isfinite(np.asarray(g))), w.path


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip(name, built):
    layer, args, out, eager = built(name)
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    clone(*args)
    assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(np.asarray(clone(*args)), eager)


@pytest.mark.parametrize("name", NAMES)
def test_serialize_deserialize(name, built):
    layer, args, out, eager = built(name)
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(clone) is type(layer)
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize("cls", [MaskedConv2D, RowLSTM, DiagonalBiLSTM, ResidualBlock, PixelRNN])
def test_registered(cls):
    key = f"pixelrnn_keras>{cls.__name__}"
    assert keras.saving.get_registered_object(key) is cls
    assert keras.saving.get_registered_name(cls) == key


@pytest.mark.parametrize("name", NAMES)
def test_functional_model_keras_file_round_trip(name, built, tmp_path):
    layer, args, out, eager = built(name)
    inputs = [keras.Input(shape=a.shape[1:], name=f"in_{i}") for i, a in enumerate(args)]
    outputs = layer(*inputs)
    assert tuple(outputs.shape) == (None, H, W, out)
    model = keras.Model(inputs, outputs)
    np.testing.assert_allclose(np.asarray(model(args)), eager, atol=1e-6)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.layers[-1]) is type(layer)
    assert loaded.layers[-1].get_config() == layer.get_config()
    np.testing.assert_array_equal(np.asarray(loaded(args)), np.asarray(model(args)))


def test_diagonal_bilstm_row_context_must_be_consistent():
    with_context = DiagonalBiLSTM(4, 1)
    x, ctx = _inputs(4, 1)
    with_context(x, ctx)
    with pytest.raises(ValueError, match="row_context"):
        with_context(x)
    without = DiagonalBiLSTM(4, 1)
    without(x)
    with pytest.raises(ValueError, match="row_context"):
        without(x, ctx)


def test_row_lstm_rejects_even_kernel():
    for k in (0, 2, 4):
        with pytest.raises(ValueError, match="kernel_size"):
            RowLSTM(4, k)


def test_residual_block_rejects_bad_arch():
    with pytest.raises(ValueError, match="arch"):
        ResidualBlock("gru", 4)


def test_lstm_layers_reject_too_few_units_per_group():
    x = _inputs(6)[0]
    for layer in (RowLSTM(2, 3, 3), DiagonalBiLSTM(2, 3)):
        with pytest.raises(ValueError):
            layer(x)
