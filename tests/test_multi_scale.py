"""Multi-Scale PixelRNN: causality in the n x n image, dependence on every pixel of the s x s image,
an exact normalized likelihood, exact two-stage sampling, training with fit, serialization."""

import itertools
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from pixelrnn_keras import MultiScalePixelRNN
from pixelrnn_keras.data import make_dataset
from pixelrnn_keras.evaluation import evaluate_nll
from pixelrnn_keras.layers import list_archs
from pixelrnn_keras.sampling import two_stage

ARCHS = list_archs()
# The Diagonal BiLSTM's colour case is the slowest check here (tens of seconds): kept out of the default run.
CAUSALITY_CASES = [
    pytest.param(arch, shape, levels, marks=[pytest.mark.slow] if arch == "diagonal_bilstm" and levels == 256 else [])
    for shape, levels in [((8, 8, 1), 2), ((8, 8, 3), 256)]
    for arch in ARCHS
]
DATA = os.path.join(os.path.dirname(__file__), "data")


@pytest.fixture(scope="module")
def random_model(tiny_multi_scale):
    """`random_model(high_arch, shape, levels, low_size=4, low_arch="pixelcnn", condition_layers=1,
    **high)`: 1-layer networks with perturbed weights, 3 condition features, initialized from a
    fixed seed whatever ran before (the checks of what the condition reaches need live ReLUs)."""

    def build(high_arch, shape, levels, low_size=4, low_arch="pixelcnn", condition_layers=1, **high):
        keras.utils.set_random_seed(1)
        return tiny_multi_scale(
            shape,
            low_size,
            levels,
            low_arch,
            high_arch,
            high={"head_units": 12, **high},
            condition_features=3,
            condition_layers=condition_layers,
        )

    return build


@pytest.mark.parametrize("arch,shape,levels", CAUSALITY_CASES)
def test_high_network_is_causal_in_the_full_image_and_sees_all_of_the_small_one(
    moved_one_at_a_time, changed_outputs, random_model, arch, shape, levels, float64, rng
):
    model = random_model(arch, shape, levels)
    low_shape = model.low.image_shape
    d, d_low = int(np.prod(shape)), int(np.prod(low_shape))
    image_dep, low_dep = np.zeros((d, d), bool), np.zeros((d_low, d), bool)
    for _ in range(3):  # ReLUs can hide a dependence at one input: union over a few images
        image = rng.integers(0, levels, shape).reshape(-1)
        small = rng.integers(0, levels, low_shape).reshape(-1)
        # The n x n image varies, the condition image stays fixed...
        condition = model.condition_map(small.reshape(1, *low_shape))
        batch = moved_one_at_a_time(image, levels).reshape(-1, *shape)
        logits = np.asarray(model.high(batch, tf.repeat(condition, len(batch), 0))).reshape(d + 1, d, levels)
        image_dep |= changed_outputs(logits)
        # ...and the other way round.
        smalls = moved_one_at_a_time(small, levels).reshape(-1, *low_shape)
        images = np.repeat(image.reshape(1, *shape), len(smalls), 0)
        logits = np.asarray(model.high(images, model.condition_map(smalls))).reshape(d_low + 1, d, levels)
        low_dep |= changed_outputs(logits)
    q, p = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
    leaks = np.argwhere(image_dep & (q >= p))
    assert leaks.size == 0, f"{arch}: outputs depend on own/later sub-pixels, e.g. (q, p) = {leaks[:5].tolist()}"
    assert image_dep[q < p].any()
    unused = np.flatnonzero(~low_dep.any(axis=1))
    assert unused.size == 0, f"{arch}: sub-pixels {unused.tolist()} of the small image change no logit"


@pytest.mark.parametrize("arch", ["pixelcnn", "row_lstm", "gated_pixelcnn"])
def test_first_pixel_depends_on_every_pixel_of_the_small_image(moved_one_at_a_time, random_model, arch, float64, rng):
    """With 3 conditioning 3x3 convolutions at 4x4, the map at (0, 0) sees the whole 4x4 image.

    (The first pixel's bias is the same for every arch; the Diagonal BiLSTM's plumbing is checked
    above, where every small-image pixel must change some logit.)"""
    model = random_model(arch, (8, 8, 1), 2, condition_layers=3)
    image = rng.integers(0, 2, (1, 8, 8, 1))
    seen = np.zeros(16, bool)
    for _ in range(3):
        small = rng.integers(0, 2, 16)
        smalls = moved_one_at_a_time(small, 2).reshape(-1, 4, 4, 1)
        logits = np.asarray(model.high(np.repeat(image, 17, 0), model.condition_map(smalls)))[:, 0, 0, 0]
        seen |= np.abs(logits[1:] - logits[:1]).max(axis=-1) > 0
    assert seen.all(), f"{arch}: pixel (0, 0) misses small-image pixels {np.flatnonzero(~seen).tolist()}"


def test_log_prob_is_the_small_image_term_plus_the_off_grid_term(random_model, rng):
    model = random_model("row_lstm", (8, 8, 3), 16)
    images = rng.integers(0, 16, (3, 8, 8, 3))
    small = images[:, ::2, ::2]
    low = np.asarray(model.low.log_prob(small))
    logits = np.asarray(model.high(images, model.condition_map(small)), np.float64)
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, images[..., None], axis=-1)[..., 0]  # (N, 8, 8, 3)
    rows, cols = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
    off_grid = (rows % 2 == 1) | (cols % 2 == 1)
    high = picked[:, off_grid].sum(axis=(1, 2))
    terms = [np.asarray(t) for t in model.log_prob_terms(images)]
    np.testing.assert_allclose(terms[0], low, rtol=1e-5)
    np.testing.assert_allclose(terms[1], high, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(model.log_prob(images)), low + high, rtol=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
def test_probabilities_of_all_images_sum_to_one(random_model, arch):
    """2x2 images with 3 levels, s = 1: all 3**4 images."""
    model = random_model(arch, (2, 2, 1), 3, low_size=1)
    images = np.array(list(itertools.product(range(3), repeat=4))).reshape(-1, 2, 2, 1)
    total = np.exp(np.asarray(model.log_prob(images), np.float64)).sum()
    assert abs(total - 1.0) < 1e-4, total
    # The paper's form, which also predicts the grid pixel, is not normalized.
    low, high = model.log_prob_terms(images)
    grid_logits = np.asarray(model.high(images, model.condition_map(images[:, :1, :1])), np.float64)[:, 0, 0, 0]
    grid = grid_logits[np.arange(len(images)), images[:, 0, 0, 0]] - np.log(np.exp(grid_logits).sum(-1))
    assert np.exp(np.asarray(low) + np.asarray(high) + grid).sum() < 1 - 1e-3


@pytest.mark.parametrize("arch", ARCHS)
def test_two_stage_cached_sampler_equals_naive(random_model, arch, float64):
    """Each arch at the upper scale (the single-scale loops are checked per arch in test_sampling.py)."""
    shape, levels = (8, 8, 1), 2
    model = random_model(arch, shape, levels, low_arch="row_lstm" if arch == "pixelcnn" else "pixelcnn")
    num = 3
    values, known = tf.zeros((num, *shape), tf.int32), tf.zeros((num, *shape), tf.bool)
    runs = {
        method: [np.asarray(t) for t in two_stage.draw(model, values, known, 7, 1.0, method, jit_compile=False)]
        for method in ("cached", "naive")
    }
    (cached, cached_logits), (naive, naive_logits) = runs["cached"], runs["naive"]
    np.testing.assert_array_equal(cached, naive)
    # Stage 2's logits are those of a forward pass given the stage-1 image (off the grid, where drawn).
    forward = np.asarray(model.high(cached, model.condition_map(cached[:, ::2, ::2])))
    off_grid = ~model.grid_mask()
    np.testing.assert_allclose(cached_logits[:, off_grid], forward[:, off_grid], atol=1e-6)
    np.testing.assert_allclose(naive_logits[:, off_grid], forward[:, off_grid], atol=1e-6)
    assert len({cached[k].tobytes() for k in range(num)}) == num  # distinct noise per image


def test_sample_and_complete(random_model, float64, rng):
    model = random_model("pixelcnn", (8, 8, 1), 2, low_arch="row_lstm")
    first = np.asarray(model.sample(2, seed=3, method="cached"))
    assert first.shape == (2, 8, 8, 1) and first.dtype == np.int32 and set(np.unique(first)) <= {0, 1}
    np.testing.assert_array_equal(first, np.asarray(model.sample(2, seed=3, method="cached")))
    assert not np.array_equal(first, np.asarray(model.sample(2, seed=4, method="cached")))
    # Completion: known sub-pixels stay, cached equals naive.
    images = rng.integers(0, 2, (2, 8, 8, 1))
    known = np.zeros(images.shape, bool)
    known[:, :3] = True
    cached = np.asarray(model.complete(images, known, seed=5, method="cached"))
    naive = np.asarray(model.complete(images, known, seed=5, method="naive"))
    np.testing.assert_array_equal(cached, naive)
    np.testing.assert_array_equal(cached[known], images[known])
    # Everything known: nothing changes.
    everything = np.asarray(model.complete(images, np.ones(images.shape, bool), seed=5))
    np.testing.assert_array_equal(everything, images)


def test_bad_arguments_name_what_was_expected(random_model):
    with pytest.raises(ValueError, match="low_size"):
        MultiScalePixelRNN((8, 8, 1), 3, levels=2)
    with pytest.raises(ValueError, match="low_size"):
        MultiScalePixelRNN((8, 8, 1), 8, levels=2)
    with pytest.raises(ValueError, match="image_shape"):
        MultiScalePixelRNN((8, 6, 1), 4, levels=2)
    with pytest.raises(ValueError, match="high must be"):
        MultiScalePixelRNN((8, 8, 1), 4, levels=2, high={"arch": "pixelcnn", "levels": 2})
    model = random_model("pixelcnn", (4, 4, 1), 2, low_size=2)
    with pytest.raises(ValueError, match="images must be"):
        model.log_prob(np.zeros((1, 2, 2, 1), int))
    with pytest.raises(ValueError, match="condition must be"):
        model.high(np.zeros((1, 4, 4, 1), int))
    with pytest.raises(ValueError, match="seed"):
        model.sample(1, seed=-1)
    with pytest.raises(ValueError, match="known"):
        model.complete(np.zeros((1, 4, 4, 1), int), np.zeros((1, 4, 4, 1), int))


def test_keras_file_round_trip(random_model, tmp_path, rng):
    model = random_model("row_lstm", (8, 8, 1), 2, low_arch="pixelcnn")
    path = str(tmp_path / "multi.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, MultiScalePixelRNN) and loaded.get_config() == model.get_config()
    images = rng.integers(0, 2, (2, 8, 8, 1))
    np.testing.assert_array_equal(np.asarray(loaded.log_prob(images)), np.asarray(model.log_prob(images)))


@pytest.mark.slow  # ~10 s; kept out of the default run for the suite's 10-minute budget
def test_fit_on_full_images_learns_binarized_mnist():
    """Trained on 28x28 images alone (s = 14), a tiny model beats the independent-pixel baseline."""
    # The best context-free model (see test_learning.py): per-pixel histograms, Laplace-smoothed.
    data = np.load(os.path.join(DATA, "binarized_mnist_small.npz"))
    train, valid = data["train"][..., None], data["valid"][:200, ..., None]
    p_one = (train.sum(axis=0) + 1.0) / (len(train) + 2.0)
    baseline = -np.mean(np.sum(np.log(np.where(valid == 1, p_one, 1 - p_one)), axis=(1, 2, 3)))
    keras.utils.set_random_seed(0)
    config = {"arch": "pixelcnn", "num_layers": 1, "hidden": 8, "head_units": 16}
    model = MultiScalePixelRNN((28, 28, 1), 14, levels=2, low=config, high=config, condition_features=8)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), jit_compile=False)
    history = model.fit(make_dataset(train, 16, seed=0, repeat=True), epochs=1, steps_per_epoch=100, verbose=0)
    assert "bits_per_dim" in history.history
    nats = evaluate_nll(model, valid)["nats"]
    assert nats < 0.8 * baseline, f"{nats:.1f} nats vs independent-pixel baseline {baseline:.1f}"


def test_zoo_card_builds_a_multi_scale_model():
    from pixelrnn_keras import zoo

    card = zoo.get_card("mnist_multiscale")
    assert card.model == "MultiScalePixelRNN" and card.training["command"].startswith("pixelrnn train mnist_multiscale")
    for weights in ("pretrained", None):
        model = zoo.load("mnist_multiscale", weights=weights)
        assert isinstance(model, MultiScalePixelRNN) and model.count_params() == card.params
        assert model.low.image_shape == (14, 14, 1) and model.factor == 2


@pytest.mark.slow  # ~9 s; as above
def test_training_recipe_runs_a_multi_scale_card(tmp_path, monkeypatch):
    """`pixelrnn train` builds the card's class through the registry (a tiny config, two steps)."""
    import dataclasses

    from pixelrnn_keras import zoo
    from pixelrnn_keras.training import card_data, train
    from pixelrnn_keras.zoo import registry

    base = zoo.get_card("mnist_multiscale")
    tiny = {"arch": "pixelcnn", "num_layers": 1, "hidden": 4, "head_units": 8}
    config = {**base.config, "low": tiny, "high": tiny, "condition_features": 4}
    card = dataclasses.replace(base, name="tiny_multiscale", config=config)
    card = dataclasses.replace(card, training={**card.training, "batch_size": 8, "validation_images": 16})
    monkeypatch.setitem(registry._CARDS, card.name, card)
    train_images, eval_images = card_data(card, os.path.join(DATA, "binarized_mnist_small.npz"))
    model, final = train(card, train_images[:64], eval_images, str(tmp_path), epochs=1, steps_per_epoch=2, verbose=0)
    assert isinstance(model, MultiScalePixelRNN) and os.path.isfile(final)
    loaded = zoo.load(card.name, weights=final)
    images = eval_images[:4]
    np.testing.assert_array_equal(np.asarray(loaded.log_prob(images)), np.asarray(model.log_prob(images)))


def test_the_stages_are_the_low_network_over_the_grid_then_the_high_one_off_it(random_model, rng):
    model = random_model("row_lstm", (8, 8, 1), 2)
    low, high = model.stages()
    assert (low.name, low.network, low.factor, low.condition) == ("low", model.low, 2, None)
    assert low.coded.shape == (4, 4) and low.coded.all()
    assert (high.name, high.network, high.factor) == ("high", model.high, 1)
    np.testing.assert_array_equal(high.coded, ~model.grid_mask())
    images = rng.integers(0, 2, (2, 8, 8, 1))
    condition = np.asarray(high.condition(images, None))
    np.testing.assert_array_equal(condition, model.condition_map(images[:, ::2, ::2]))
    # The high stage's condition reads the low stage's sub-pixels only.
    off_grid = ~model.grid_mask()[None, :, :, None]
    np.testing.assert_array_equal(high.condition(np.where(off_grid, 1 - images, images), None), condition)
