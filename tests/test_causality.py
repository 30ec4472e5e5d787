"""Perturbation tests: which logits change when one input sub-pixel changes.

Sub-pixel order: raster over pixels, then channels. dependence[p, q] is True when changing
input sub-pixel q changes any logit of output sub-pixel p.
"""

import numpy as np
import pytest

from pixelrnn_keras.layers import list_archs

ARCHS = list_archs()
CASES = [((8, 8, 3), 256), ((8, 8, 1), 2)]


@pytest.fixture(scope="module")
def dependence(moved_one_at_a_time, changed_outputs):
    """`dependence(model, rng, num_images=6)`: boolean (D, D) matrix over sub-pixels, D = H * W * C,
    from D + 1 forward passes per image.

    ReLUs can hide a dependence at one input, so the matrix is the union over a few random images.
    """

    def at(model, image):
        flat = image.reshape(-1)
        batch = moved_one_at_a_time(flat, model.levels).reshape(-1, *image.shape)
        return changed_outputs(np.asarray(model(batch)).reshape(flat.size + 1, flat.size, model.levels)).T

    def union(model, rng, num_images=6):
        images = rng.integers(0, model.levels, (num_images, *model.image_shape))
        return np.any([at(model, image) for image in images], axis=0)

    return union


@pytest.fixture(scope="module")
def random_model(tiny_model):
    """`random_model(arch, shape, levels, num_layers=2, hidden=6, kernel_size=3)`, with perturbed weights."""

    def build(arch, shape, levels, num_layers=2, hidden=6, kernel_size=3):
        return tiny_model(
            arch, shape, levels, num_layers=num_layers, hidden=hidden, head_units=24, kernel_size=kernel_size
        )

    return build


def sub_pixel_coords(shape):
    h, w, c = shape
    idx = np.arange(h * w * c)
    return idx // (w * c), (idx // c) % w, idx % c


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("shape,levels", CASES)
def test_no_output_depends_on_its_own_or_a_later_sub_pixel(dependence, random_model, arch, shape, levels, float64, rng):
    model = random_model(arch, shape, levels)
    dep = dependence(model, rng)
    p, q = np.meshgrid(np.arange(dep.shape[0]), np.arange(dep.shape[0]), indexing="ij")
    leaks = np.argwhere(dep & (q >= p))
    assert leaks.size == 0, f"{arch}: outputs depend on own/later sub-pixels, e.g. (p, q) = {leaks[:5].tolist()}"
    # Within a pixel: G sees R, B sees R and G (mask A at the first layer, then mask B).
    rows, cols, chans = sub_pixel_coords(shape)
    same_pixel_earlier = (rows[:, None] == rows[None]) & (cols[:, None] == cols[None]) & (chans[None] < chans[:, None])
    assert dep[same_pixel_earlier].all()


@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("shape,levels", CASES)
def test_diagonal_bilstm_sees_every_earlier_sub_pixel(
    dependence, random_model, num_layers, shape, levels, float64, rng
):
    model = random_model("diagonal_bilstm", shape, levels, num_layers=num_layers)
    dep = dependence(model, rng)
    p, q = np.meshgrid(np.arange(dep.shape[0]), np.arange(dep.shape[0]), indexing="ij")
    missing = np.argwhere(~dep & (q < p))
    assert missing.size == 0, f"blind spot: {len(missing)} earlier pairs unseen, e.g. {missing[:5].tolist()}"


@pytest.mark.parametrize("shape,levels", CASES)
def test_row_lstm_sees_the_triangle_above(dependence, random_model, shape, levels, float64, rng):
    """Pixel (i, j) sees every (i', j') with i' < i and |j' - j| <= i - i' (the paper's triangle), and
    the pixels of its own row that the first 7x7 convolution reaches (not the whole row to the left)."""
    model = random_model("row_lstm", shape, levels, num_layers=1)
    dep = dependence(model, rng)
    rows, cols, _ = sub_pixel_coords(shape)
    di = rows[:, None] - rows[None]
    triangle = ((di > 0) & (np.abs(cols[:, None] - cols[None]) <= di)) | (
        (di == 0) & (cols[None] < cols[:, None]) & (cols[None] >= cols[:, None] - 3)
    )
    assert dep[triangle].all()


def test_pixelcnn_has_the_documented_blind_spot(dependence, random_model, float64, rng):
    """Stacked masked convolutions never see pixels up and to the right beyond their growing cone."""
    shape = (8, 8, 1)
    model = random_model("pixelcnn", shape, 2, num_layers=1)
    dep = dependence(model, rng)
    # 7x7 mask A then one 3x3 mask B: (7, 0) cannot see (0, 7), but sees its left neighbour.
    w = shape[1]
    assert not dep[7 * w + 0, 0 * w + 7]
    assert dep[7 * w + 1, 7 * w + 0]


@pytest.mark.parametrize("shape,levels", CASES)
def test_gated_pixelcnn_sees_every_earlier_sub_pixel(dependence, random_model, shape, levels, float64, rng):
    """No blind spot: with L * (k//2) >= max(H - 2, W - 1) (here 4 * 2 >= 7), the stacks' field
    covers every earlier sub-pixel, up and to the right too (pixelcnn misses them: see below)."""
    model = random_model("gated_pixelcnn", shape, levels, num_layers=4, kernel_size=5)
    dep = dependence(model, rng)
    p, q = np.meshgrid(np.arange(dep.shape[0]), np.arange(dep.shape[0]), indexing="ij")
    missing = np.argwhere(~dep & (q < p))
    assert missing.size == 0, f"blind spot: {len(missing)} earlier pairs unseen, e.g. {missing[:5].tolist()}"


@pytest.mark.parametrize("num_layers,kernel_size", [(1, 3), (2, 3), (1, 5)])
def test_gated_pixelcnn_sees_exactly_its_documented_field(
    dependence, random_model, num_layers, kernel_size, float64, rng
):
    """After L blocks of kernel k (r = k//2), pixel (i, j) sees (i', j') iff: i' = i and
    0 < j - j' <= 3 + L * r (the 7x7 mask-A convolution's 3, then r per 1 x k layer); or
    1 <= i - i' <= L * r + 1 and |j' - j| <= L * r (the vertical stack, shifted down a row); or
    i - i' <= 3 and -3 - L * r <= j' - j <= 3 (the 7x7 convolution at the pixels to its left)."""
    shape = (8, 8, 1)
    model = random_model("gated_pixelcnn", shape, 2, num_layers=num_layers, kernel_size=kernel_size)
    dep = dependence(model, rng)
    reach = num_layers * (kernel_size // 2)
    rows, cols, _ = sub_pixel_coords(shape)
    di, dj = rows[:, None] - rows[None], cols[None] - cols[:, None]  # (p, q): output p, input q
    field = (
        ((di == 0) & (dj < 0) & (dj >= -3 - reach))
        | ((di >= 1) & (di <= reach + 1) & (np.abs(dj) <= reach))
        | ((di >= 1) & (di <= 3) & (dj >= -3 - reach) & (dj <= 3))
    )
    np.testing.assert_array_equal(dep, field)


def test_literal_paper_diagonal_bilstm_would_miss_the_end_of_the_previous_row(rng):
    """Guard for the check above: without the row context, the blind spot is real and detected."""
    from pixelrnn_keras.layers import DiagonalBiLSTM

    layer = DiagonalBiLSTM(4, color_groups=1)
    x = rng.normal(size=(1, 8, 8, 2)).astype("float32")
    base = np.asarray(layer(x))
    moved = x.copy()
    moved[0, 3, 7] += 1.0  # the input feature at the end of row 3
    change = np.abs(np.asarray(layer(moved)) - base).max(axis=-1)[0]
    # The layer's own row-3 features and row-4 features see it (shifted right-to-left map)...
    assert change[4].min() > 0
    # ...but with a mask-A input map, pixel (3, 7) itself lives only in features of later
    # positions; the model closes that gap with `row_context` (see the test above).
    assert change[3, :7].max() == 0
