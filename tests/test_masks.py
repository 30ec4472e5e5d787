"""Unit tests of the causal masks, `MaskedConv2D`'s use of them, and the reference skew/unskew."""

import numpy as np
import pytest
import tensorflow as tf
from skew_reference import skew, unskew

from pixelrnn_keras.layers import MaskedConv2D, causal_mask, channel_groups
from pixelrnn_keras.layers.masked_conv import every_tap

# --------------------------------------------------------------------------------------------
# channel_groups
# --------------------------------------------------------------------------------------------


def test_channel_groups_one_feature_per_group():
    np.testing.assert_array_equal(channel_groups(3, 3), [0, 1, 2])
    np.testing.assert_array_equal(channel_groups(1, 1), [0])


def test_channel_groups_contiguous_and_equal_when_divisible():
    np.testing.assert_array_equal(channel_groups(6, 3), [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(channel_groups(5, 1), [0] * 5)


@pytest.mark.parametrize(
    "n,groups,expected_counts", [(1024, 3, [342, 341, 341]), (10, 3, [4, 3, 3]), (4, 3, [2, 1, 1])]
)
def test_channel_groups_unequal_sizes(n, groups, expected_counts):
    g = channel_groups(n, groups)
    assert g.shape == (n,)
    assert g.min() == 0 and g.max() == groups - 1
    assert np.all(np.diff(g) >= 0), "groups must be contiguous (non-decreasing)"
    np.testing.assert_array_equal(np.bincount(g, minlength=groups), expected_counts)
    # Sizes differ by at most one.
    counts = np.bincount(g)
    assert counts.max() - counts.min() <= 1


def test_channel_groups_blocks_repeat_the_same_layout():
    g = channel_groups(12, 3, blocks=4)
    np.testing.assert_array_equal(g, np.tile([0, 1, 2], 4))
    g = channel_groups(4 * 10, 3, blocks=4)
    for b in range(4):
        np.testing.assert_array_equal(g[b * 10 : (b + 1) * 10], channel_groups(10, 3))


@pytest.mark.parametrize("n,groups,blocks", [(2, 3, 1), (0, 1, 1), (8, 3, 4), (11, 1, 4), (5, 3, 2)])
def test_channel_groups_rejects_too_few_features_or_bad_blocks(n, groups, blocks):
    with pytest.raises(ValueError):
        channel_groups(n, groups, blocks)


# --------------------------------------------------------------------------------------------
# causal_mask: spatial layout
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mask_type", ["A", "B"])
@pytest.mark.parametrize("groups", [1, 3])
@pytest.mark.parametrize("kernel_size", [(3, 3), (5, 5), (7, 7), (3, 5), (1, 3), (5, 1), (1, 1)])
def test_taps_above_and_left_open_right_and_below_closed(kernel_size, groups, mask_type):
    mask = causal_mask(kernel_size, 6, 9, groups, mask_type)
    kh, kw = kernel_size
    assert mask.shape == (kh, kw, 6, 9)
    assert mask.dtype == np.float32
    assert set(np.unique(mask)) <= {0.0, 1.0}
    ch, cw = kh // 2, kw // 2
    assert np.all(mask[:ch] == 1), "rows above the centre must be fully open"
    assert np.all(mask[ch, :cw] == 1), "taps left of the centre must be open"
    assert np.all(mask[ch, cw + 1 :] == 0), "taps right of the centre must be closed"
    assert np.all(mask[ch + 1 :] == 0), "rows below the centre must be closed"


# --------------------------------------------------------------------------------------------
# causal_mask: centre tap, (in_group, out_group)
# --------------------------------------------------------------------------------------------


def _centre(mask):
    kh, kw = mask.shape[:2]
    return mask[kh // 2, kw // 2]


def test_centre_tap_rgb_mask_a_one_feature_per_group():
    # [in, out]: R -> G, R -> B, G -> B open; nothing sees its own colour.
    expected = np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]], dtype="float32")
    np.testing.assert_array_equal(_centre(causal_mask((3, 3), 3, 3, 3, "A")), expected)


def test_centre_tap_rgb_mask_b_one_feature_per_group():
    expected = np.array([[1, 1, 1], [0, 1, 1], [0, 0, 1]], dtype="float32")
    np.testing.assert_array_equal(_centre(causal_mask((3, 3), 3, 3, 3, "B")), expected)


@pytest.mark.parametrize("mask_type", ["A", "B"])
@pytest.mark.parametrize("in_f,out_f", [(3, 6), (6, 9), (9, 3), (7, 11)])
def test_centre_tap_rgb_every_group_pair(mask_type, in_f, out_f):
    centre = _centre(causal_mask((5, 5), in_f, out_f, 3, mask_type))
    g_in, g_out = channel_groups(in_f, 3), channel_groups(out_f, 3)
    for a in range(3):
        for b in range(3):
            block = centre[np.ix_(g_in == a, g_out == b)]
            open_ = a < b if mask_type == "A" else a <= b
            assert block.size > 0
            assert np.all(block == (1.0 if open_ else 0.0)), (mask_type, a, b)


def test_centre_tap_single_group():
    np.testing.assert_array_equal(_centre(causal_mask((3, 3), 4, 5, 1, "A")), np.zeros((4, 5)))
    np.testing.assert_array_equal(_centre(causal_mask((3, 3), 4, 5, 1, "B")), np.ones((4, 5)))
    # The rest of the kernel does not depend on the mask type.
    a, b = causal_mask((3, 3), 4, 5, 1, "A"), causal_mask((3, 3), 4, 5, 1, "B")
    a[1, 1] = b[1, 1] = 0
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_output_blocks_each_grouped_the_same_way(mask_type):
    block = 6
    mask = causal_mask((3, 3), 3, 4 * block, 3, mask_type, out_blocks=4)
    single = causal_mask((3, 3), 3, block, 3, mask_type)
    for b in range(4):
        np.testing.assert_array_equal(mask[..., b * block : (b + 1) * block], single)
    # Without blocks the same 24 outputs would be grouped 8/8/8, which differs.
    assert not np.array_equal(mask, causal_mask((3, 3), 3, 4 * block, 3, mask_type))


def test_unequal_groups_1024_features():
    mask = causal_mask((1, 1), 1024, 1024, 3, "B")
    centre = mask[0, 0]
    g = channel_groups(1024, 3)
    np.testing.assert_array_equal(centre, (g[:, None] <= g[None, :]).astype("float32"))
    # First R-group feature sees only R inputs: 342 of them.
    assert centre[:, 0].sum() == 342
    # Last (B-group) feature sees everything.
    assert centre[:, -1].sum() == 1024
    mask_a = causal_mask((1, 1), 1024, 1024, 3, "A")[0, 0]
    assert mask_a[:, 0].sum() == 0
    assert mask_a[:, -1].sum() == 342 + 341


# --------------------------------------------------------------------------------------------
# causal_mask / MaskedConv2D errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel_size", [(2, 3), (3, 2), (4, 4), (2, 2)])
def test_causal_mask_rejects_even_kernel(kernel_size):
    with pytest.raises(ValueError, match="odd"):
        causal_mask(kernel_size, 3, 3, 3, "B")


@pytest.mark.parametrize("mask_type", ["C", "a", "b", "", None, "AB"])
def test_causal_mask_rejects_bad_mask_type(mask_type):
    with pytest.raises(ValueError, match="mask_type"):
        causal_mask((3, 3), 3, 3, 3, mask_type)


@pytest.mark.parametrize("in_f,out_f,blocks", [(2, 3, 1), (3, 2, 1), (3, 8, 4), (3, 6, 4)])
def test_causal_mask_rejects_too_few_features_per_group(in_f, out_f, blocks):
    with pytest.raises(ValueError):
        causal_mask((3, 3), in_f, out_f, 3, "B", blocks)


@pytest.mark.parametrize("kernel_size", [2, 4, (2, 3), (3, 4), 0, -1, (3, 3, 3)])
def test_masked_conv_rejects_bad_kernel_size(kernel_size):
    with pytest.raises(ValueError, match="kernel_size"):
        MaskedConv2D(6, kernel_size)


@pytest.mark.parametrize("mask_type", ["C", "a", None])
def test_masked_conv_rejects_bad_mask_type(mask_type):
    with pytest.raises(ValueError, match="mask_type"):
        MaskedConv2D(6, 3, mask_type=mask_type)


def test_masked_conv_rejects_bad_filters_and_groups():
    with pytest.raises(ValueError, match="filters"):
        MaskedConv2D(0, 3)
    with pytest.raises(ValueError, match="color_groups"):
        MaskedConv2D(6, 3, color_groups=0)


@pytest.mark.parametrize(
    "filters,in_f,blocks",
    [(2, 3, 1), (6, 2, 1), (8, 3, 4), (10, 3, 4)],  # too few outputs, too few inputs, 2 per block, not a multiple
)
def test_masked_conv_build_rejects_too_few_features_per_group(filters, in_f, blocks):
    layer = MaskedConv2D(filters, 3, color_groups=3, output_blocks=blocks)
    with pytest.raises(ValueError):
        layer.build((None, 8, 8, in_f))


# --------------------------------------------------------------------------------------------
# MaskedConv2D applies its mask
# --------------------------------------------------------------------------------------------


def _reference_conv(x, kernel, bias):
    out = tf.nn.conv2d(tf.constant(x, tf.float64), tf.constant(kernel, tf.float64), strides=1, padding="SAME")
    return out.numpy() + bias


@pytest.mark.parametrize(
    "kernel_size,mask_type,groups,blocks",
    [
        ((3, 3), "A", 3, 1),
        ((5, 5), "B", 3, 1),
        ((1, 1), "B", 3, 1),
        ((1, 1), "A", 3, 4),
        ((1, 3), "B", 3, 4),
        ((3, 3), "B", 1, 1),
        ((7, 7), "A", 1, 1),
        ((1, 5), "A", 1, 1),
        ((5, 3), "B", 3, 4),
    ],
)
def test_masked_conv_ignores_values_at_masked_taps(kernel_size, mask_type, groups, blocks, rng):
    in_f, filters = 6, 12
    layer = MaskedConv2D(filters, kernel_size, mask_type, groups, output_blocks=blocks)
    x = rng.normal(size=(2, 6, 7, in_f)).astype("float32")
    layer.build(x.shape)
    mask = causal_mask(kernel_size, in_f, filters, groups, mask_type, blocks)
    np.testing.assert_array_equal(np.asarray(layer.mask), mask)
    kernel = rng.normal(size=layer.kernel.shape).astype("float32")  # random at masked taps too
    bias = rng.normal(size=(filters,)).astype("float32")
    layer.kernel.assign(kernel)
    layer.bias.assign(bias)
    out = np.asarray(layer(x))
    assert out.shape == (2, 6, 7, filters)
    np.testing.assert_allclose(out, _reference_conv(x, kernel * mask, bias), atol=1e-4, rtol=1e-4)
    # Skipping the always-masked taps gives the sums of the whole kernel's convolution.
    with every_tap():
        np.testing.assert_allclose(np.asarray(layer(x)), out, atol=1e-5, rtol=1e-5)
    # Changing only the masked entries changes nothing.
    layer.kernel.assign(kernel + (1 - mask) * rng.normal(size=kernel.shape).astype("float32") * 100)
    np.testing.assert_array_equal(np.asarray(layer(x)), out)
    np.testing.assert_array_equal(np.asarray(layer.masked_kernel()), kernel * mask)


def test_masked_conv_without_bias(rng):
    layer = MaskedConv2D(3, 3, "A", 3, use_bias=False)
    x = rng.normal(size=(1, 4, 4, 3)).astype("float32")
    layer.build(x.shape)
    assert layer.bias is None
    assert len(layer.weights) == 1
    kernel = rng.normal(size=layer.kernel.shape).astype("float32")
    layer.kernel.assign(kernel)
    mask = causal_mask((3, 3), 3, 3, 3, "A")
    np.testing.assert_allclose(np.asarray(layer(x)), _reference_conv(x, kernel * mask, 0.0), atol=1e-5)


def test_mask_a_first_pixel_red_output_is_bias_only(rng):
    """With mask A, the R output of pixel (0, 0) has nothing to read: it equals the bias."""
    layer = MaskedConv2D(3, 7, "A", 3, bias_initializer="ones")
    x = rng.normal(size=(2, 5, 5, 3)).astype("float32")
    out = np.asarray(layer(x))
    np.testing.assert_allclose(out[:, 0, 0, 0], 1.0)


# --------------------------------------------------------------------------------------------
# skew / unskew
# --------------------------------------------------------------------------------------------


def test_skew_placement_and_zeros(rng):
    x = rng.normal(size=(2, 5, 7, 3)).astype("float32")
    out = np.asarray(skew(tf.constant(x)))
    assert out.shape == (2, 5, 7 + 5 - 1, 3)
    expected = np.zeros_like(out)
    for i in range(5):
        for j in range(7):
            expected[:, i, i + j] = x[:, i, j]
    np.testing.assert_array_equal(out, expected)
    # Explicitly: everything off the band is zero.
    for i in range(5):
        assert np.all(out[:, i, :i] == 0)
        assert np.all(out[:, i, i + 7 :] == 0)


def test_skew_unskew_exact_round_trip(rng):
    x = rng.normal(size=(2, 5, 7, 3)).astype("float32")
    back = np.asarray(unskew(skew(tf.constant(x)), 7))
    assert back.shape == x.shape
    np.testing.assert_array_equal(back, x)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 1, 4, 2), (2, 4, 1, 2), (1, 6, 6, 1), (2, 7, 5, 3)])
def test_skew_unskew_round_trip_other_shapes(shape, rng):
    x = rng.normal(size=shape).astype("float64")
    s = skew(tf.constant(x))
    assert tuple(s.shape) == (shape[0], shape[1], shape[1] + shape[2] - 1, shape[3])
    np.testing.assert_array_equal(np.asarray(unskew(s, shape[2])), x)


def test_skew_unskew_in_tf_function_with_unknown_batch(rng):
    @tf.function(input_signature=[tf.TensorSpec([None, 5, 7, 3], tf.float32)])
    def round_trip(x):
        s = skew(x)
        assert tuple(s.shape.as_list()) == (None, 5, 11, 3)
        u = unskew(s, 7)
        assert tuple(u.shape.as_list()) == (None, 5, 7, 3)
        return s, u

    for batch in (1, 4):
        x = rng.normal(size=(batch, 5, 7, 3)).astype("float32")
        s, u = round_trip(tf.constant(x))
        np.testing.assert_array_equal(np.asarray(s), np.asarray(skew(tf.constant(x))))
        np.testing.assert_array_equal(np.asarray(u), x)


def test_skew_unskew_in_tf_function_with_unknown_spatial_shape(rng):
    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 2], tf.float32)])
    def round_trip(x):
        return unskew(skew(x), tf.shape(x)[2])

    for shape in [(2, 3, 4, 2), (1, 5, 2, 2)]:
        x = rng.normal(size=shape).astype("float32")
        np.testing.assert_array_equal(np.asarray(round_trip(tf.constant(x))), x)


def test_skew_unskew_under_xla(rng):
    x = rng.normal(size=(2, 5, 7, 3)).astype("float32")
    fn = tf.function(lambda t: (skew(t), unskew(skew(t), 7)), jit_compile=True)
    s, u = fn(tf.constant(x))
    np.testing.assert_array_equal(np.asarray(s), np.asarray(skew(tf.constant(x))))
    np.testing.assert_array_equal(np.asarray(u), x)


def test_skew_gradient_is_unskew(rng):
    x = tf.constant(rng.normal(size=(2, 4, 3, 2)).astype("float32"))
    upstream = tf.constant(rng.normal(size=(2, 4, 6, 2)).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(skew(x) * upstream)
    np.testing.assert_allclose(np.asarray(tape.gradient(y, x)), np.asarray(unskew(upstream, 3)), rtol=1e-6)


@pytest.mark.parametrize("kernel_size", [(3, 3), (1, 3), (5, 5)])
def test_masked_conv_traces_no_explicit_padding(kernel_size):
    # conv2d with explicit padding has no oneDNN bfloat16 kernel here and ran a bfloat16
    # training step 3-4x slower than padding first and convolving VALID.
    layer = MaskedConv2D(4, kernel_size, "B", 1)
    layer.build((1, 6, 6, 4))
    graph = tf.function(layer).get_concrete_function(tf.TensorSpec([1, 6, 6, 4], tf.bfloat16)).graph
    paddings = [op.get_attr("padding") for op in graph.get_operations() if op.type == "Conv2D"]
    assert paddings and all(p in (b"VALID", b"SAME") for p in paddings), paddings
