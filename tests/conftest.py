import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from pixelrnn_keras import MultiScalePixelRNN, PixelRNN


@pytest.fixture
def float64():
    """Build models in float64 so that tiny dependencies are not lost to rounding."""
    # The global dtype policy is cached from floatx on first use: set and restore both.
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    try:
        yield
    finally:
        keras.config.set_floatx("float32")
        keras.config.set_dtype_policy("float32")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


DATA = Path(__file__).resolve().parent / "data"
# The size most tests build: small enough to run every arch in seconds.
TINY = dict(num_layers=1, hidden=4, head_units=8)


def _perturbed(model, scale=0.3, seed=1):
    """`model` with N(0, scale) noise from `seed` added to every weight (biases too), so that no
    unit or gate sits at a degenerate value (an exact zero, a uniform output)."""
    rng = np.random.default_rng(seed)
    model.set_weights([w + rng.normal(0, scale, w.shape) for w in model.get_weights()])
    return model


def _redrawn(model, seed):
    """`model` with every weight drawn anew from `seed` at about the fan-in scale (biases at 0.5):
    its distributions far from uniform, unlike a perturbed initialization's."""
    rng = np.random.default_rng(seed)
    scales = [1.5 / np.sqrt(np.prod(w.shape[:-1])) if w.ndim > 1 else 0.5 for w in model.get_weights()]
    model.set_weights([rng.normal(0, scale, w.shape) for scale, w in zip(scales, model.get_weights())])
    return model


def _with_weights(model, weights, scale, seed):
    if weights == "perturbed":
        return _perturbed(model, scale, seed)
    if weights == "redrawn":
        return _redrawn(model, seed)
    assert weights == "initial", weights
    return model


@pytest.fixture(scope="session")
def perturb():
    """`perturb(model, scale=0.3, seed=1)`: `model` with noise added to every weight (see `_perturbed`)."""
    return _perturbed


@pytest.fixture(scope="session")
def tiny_model():
    """`tiny_model(arch, shape, levels, weights="perturbed", scale=0.3, seed=1, **config)`: a
    `PixelRNN` of `TINY` size unless `config` says otherwise, its weights "perturbed" (by
    N(0, scale)), "redrawn" (see `_redrawn`) or "initial"."""

    def build(arch, shape, levels, *, weights="perturbed", scale=0.3, seed=1, **config):
        model = PixelRNN(arch, shape, levels=levels, **{**TINY, **config})
        return _with_weights(model, weights, scale, seed)

    return build


@pytest.fixture(scope="session")
def tiny_multi_scale():
    """`tiny_multi_scale(shape, low_size, levels, low_arch, high_arch, low={}, high={},
    weights="perturbed", scale=0.3, seed=1, **config)`: a `MultiScalePixelRNN` whose two networks
    are of `TINY` size unless `low` and `high` say otherwise; weights as in `tiny_model`."""

    def build(
        shape,
        low_size,
        levels,
        low_arch,
        high_arch,
        *,
        low=(),
        high=(),
        weights="perturbed",
        scale=0.3,
        seed=1,
        **config,
    ):
        model = MultiScalePixelRNN(
            shape,
            low_size,
            levels=levels,
            low={"arch": low_arch, **TINY, **dict(low)},
            high={"arch": high_arch, **TINY, **dict(high)},
            **config,
        )
        return _with_weights(model, weights, scale, seed)

    return build


@pytest.fixture(scope="session")
def real_images():
    """`real_images(shape, levels, num)`: the top-left (H, W) corners of `num` real images: CIFAR-10
    (256 levels, RGB) or 8x8 digits binarized at 6 of 16 (2 levels, one channel)."""

    def load(shape, levels, num):
        if levels == 256:
            return np.load(DATA / "cifar10_small.npz")["x_train"][:num, : shape[0], : shape[1]]
        digits = np.load(DATA / "digits8.npz")["images"][:num, : shape[0], : shape[1], None]
        return (digits > 6).astype("uint8")

    return load


@pytest.fixture(scope="session")
def moved_one_at_a_time():
    """`moved_one_at_a_time(flat, levels)`: the (D + 1, D) batch of the D sub-pixels `flat`
    unchanged, then with each sub-pixel q in turn moved by levels // 2 (row q + 1)."""

    def batch(flat, levels):
        moved = np.repeat(flat[None], flat.size + 1, axis=0)
        for q in range(flat.size):
            moved[q + 1, q] = (flat[q] + levels // 2) % levels
        return moved

    return batch


@pytest.fixture(scope="session")
def changed_outputs():
    """`changed_outputs(logits)`: (Q, P) bool from the logits (Q + 1, P, levels) of a
    `moved_one_at_a_time` batch: whether moving input q changed any logit of output p."""
    return lambda logits: np.abs(logits[1:] - logits[:1]).max(axis=-1) > 0


@pytest.fixture(scope="session")
def h5_arrays():
    """`h5_arrays(path)`: {dataset path: array} of every array in a .weights.h5 file (the model's
    and the optimizer's)."""

    def read(path):
        arrays = {}
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, obj: arrays.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        return arrays

    return read
