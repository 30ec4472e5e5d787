"""Every registered core implements the interface of layers/cores.py, and its one-pixel steps
compute what its call computes (a new core is checked here by registering it)."""

import numpy as np
import pytest
import tensorflow as tf

from pixelrnn_keras.layers import core_class, list_archs, register_core
from pixelrnn_keras.layers.lstm_scan import LSTMScan

HIDDEN, GROUPS, KERNEL = 6, 3, 3
BATCH, HEIGHT, WIDTH = 2, 4, 5


def built_core(arch, conditional):
    core = core_class(arch).for_block(HIDDEN, GROUPS, KERNEL, name=arch)
    width_in = HIDDEN if core.reduces_input else 2 * HIDDEN
    inputs = (BATCH, HEIGHT, WIDTH, width_in)
    if core.reads_row_context or core.side_stream:  # the image, as the first block gets it
        core.build(inputs, (BATCH, HEIGHT, WIDTH, GROUPS))
    else:
        core.build(inputs)
    rng = np.random.default_rng(0)
    core.set_weights([rng.normal(0, 0.5, w.shape) for w in core.get_weights()])
    gate_bias = (
        tf.constant(rng.normal(0, 0.5, (BATCH, HEIGHT, WIDTH, core.gate_bias_per_unit * HIDDEN)), tf.float32)
        if conditional
        else None
    )
    return core, tf.constant(rng.normal(0, 1, inputs), tf.float32), gate_bias


def test_the_registry_lists_the_papers_cores_and_refuses_unknown_names_and_duplicates():
    assert {"pixelcnn", "row_lstm", "diagonal_bilstm", "gated_pixelcnn"} <= set(list_archs())
    with pytest.raises(ValueError, match=r"arch must be one of \("):
        core_class("gru")
    with pytest.raises(ValueError, match="'pixelcnn' is registered already"):
        register_core("pixelcnn")(type("Other", (), {}))


@pytest.mark.parametrize("conditional", [False, True])
@pytest.mark.parametrize("arch", list_archs())
def test_the_one_pixel_steps_give_the_call_outputs(arch, conditional):
    core, inputs, gate_bias = built_core(arch, conditional)
    assert core.arch == arch and core.units == HIDDEN
    context = tf.random.stateless_uniform((BATCH, HEIGHT, WIDTH, GROUPS), (1, 2), -1, 1)
    row_context = context if core.reads_row_context or core.side_stream else None
    expected = core(inputs, row_context, gate_bias=gate_bias)
    if core.side_stream:
        expected, expected_side = expected
        assert expected_side.shape == (BATCH, HEIGHT, WIDTH, core.side_features)
    assert expected.shape == (BATCH, HEIGHT, WIDTH, HIDDEN)

    cache = core.init_cache(BATCH, HEIGHT, WIDTH, tf.float32, gate_bias=gate_bias)
    rows, side_rows = [], []
    for i in range(HEIGHT):
        row = []
        for j in range(WIDTH):
            outputs, cache = core.step(cache, inputs[:, i, j], tf.constant(i), tf.constant(j))
            row.append(outputs)
        rows.append(tf.stack(row, axis=1))
        cache = core.end_row(cache, tf.constant(i), None if row_context is None else row_context[:, i])
        if core.side_stream:
            cache, side_row = cache
            side_rows.append(side_row)
    np.testing.assert_allclose(tf.stack(rows, axis=1), expected, rtol=1e-4, atol=1e-5)
    if core.side_stream:
        np.testing.assert_allclose(tf.stack(side_rows, axis=1), expected_side, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("arch", list_archs())
def test_the_flop_count_is_positive_and_grows_with_the_image(arch):
    flops = core_class(arch).forward_flops
    assert 0 < flops(4, 4, 8, 3, 3) < flops(8, 8, 8, 3, 3) < flops(8, 8, 16, 3, 3)


@pytest.mark.parametrize("arch", [arch for arch in list_archs() if core_class(arch).side_stream])
def test_a_side_stream_core_refuses_to_run_without_its_side_map(arch):
    core = core_class(arch).for_block(HIDDEN, GROUPS, KERNEL, name=arch)
    inputs = (BATCH, HEIGHT, WIDTH, 2 * HIDDEN)
    with pytest.raises(ValueError, match="row_context_shape must be given"):
        core.build(inputs)
    core, inputs, _ = built_core(arch, conditional=False)
    with pytest.raises(ValueError, match="row_context must be"):
        core(inputs)


@pytest.mark.parametrize("arch", list_archs())
@pytest.mark.parametrize(
    "argument,value", [("hidden", 0), ("color_groups", 0), ("kernel_size", 2), ("kernel_size", -1)]
)
def test_every_core_refuses_bad_arguments_naming_them(arch, argument, value):
    core = core_class(arch)
    if argument == "kernel_size" and "kernel_size" not in core.for_block(HIDDEN, GROUPS, KERNEL).get_config():
        pytest.skip(f"{arch} has no kernel size of its own")
    args = {"hidden": HIDDEN, "color_groups": GROUPS, "kernel_size": KERNEL, argument: value}
    # A block's hidden size is its core's units (the filters of the PixelCNN core, a convolution).
    name = {"hidden": "units|filters"}.get(argument, argument)
    with pytest.raises(ValueError, match=f"^({name}) must be"):
        core.for_block(**args)


@pytest.mark.parametrize("arch", list_archs())
def test_every_core_s_config_rebuilds_it(arch):
    core = core_class(arch).for_block(HIDDEN, GROUPS, 5, name=arch)
    config = core.get_config()
    assert core.__class__.from_config(config).get_config() == config
    assert config["color_groups"] == GROUPS and HIDDEN in (config.get("units"), config.get("filters"))


@pytest.mark.parametrize("arch", list_archs())
def test_scans_lstm_says_whether_the_core_runs_an_lstm_scan(arch, monkeypatch):
    calls = []
    original = LSTMScan.__call__
    monkeypatch.setattr(
        LSTMScan, "__call__", lambda self, *args, **kwargs: calls.append(1) or original(self, *args, **kwargs)
    )
    core, inputs, _ = built_core(arch, conditional=False)
    core(inputs, inputs[..., :GROUPS] if core.reads_row_context or core.side_stream else None)
    assert core.scans_lstm == bool(calls)
