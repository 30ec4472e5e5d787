"""Learning on real data: small models trained for a fixed budget beat a justified baseline.

The baseline is the best model that ignores context: independent sub-pixels, each with its
own histogram fitted on the same training images (Laplace smoothing). A model below it has
learned to use the pixels before each sub-pixel. Uniform would be 543.4 nats (28x28 binary)
and 8 bits/dim (8-bit colour).
"""

import os

import keras
import numpy as np
import pytest

from pixelrnn_keras import PixelRNN
from pixelrnn_keras.data import make_dataset
from pixelrnn_keras.evaluation import evaluate_nll

DATA = os.path.join(os.path.dirname(__file__), "data")


def independent_nll(train, test, levels):
    """Mean NLL (nats/image) of test images under per-sub-pixel histograms fitted on train."""
    counts = np.stack([(train == v).sum(axis=0) for v in range(levels)], axis=-1) + 1.0
    probs = counts / counts.sum(axis=-1, keepdims=True)
    picked = np.take_along_axis(probs[None], test[..., None].astype(int), axis=-1)[..., 0]
    return float(-np.log(picked).reshape(len(test), -1).sum(axis=1).mean())


def fit(model, images, steps, batch_size, jit):
    keras.utils.set_random_seed(0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), jit_compile=jit)
    dataset = make_dataset(images, batch_size, seed=0, repeat=True)
    model.fit(dataset, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)


@pytest.mark.parametrize(
    "arch,steps",
    [("pixelcnn", 150), ("row_lstm", 150), ("diagonal_bilstm", 120)],
)
def test_binarized_mnist_beats_the_independent_pixel_baseline(arch, steps):
    data = np.load(os.path.join(DATA, "binarized_mnist_small.npz"))
    train, valid = data["train"][..., None], data["valid"][:200, ..., None]
    baseline = independent_nll(train, valid, 2)
    assert 150 < baseline < 543.4  # fitted marginals are far better than uniform, far worse than context
    keras.utils.set_random_seed(0)
    model = PixelRNN(arch, (28, 28, 1), levels=2, num_layers=1, hidden=8, head_units=16)
    fit(model, train, steps, 16, jit=False)
    nats = evaluate_nll(model, valid)["nats"]
    assert nats < 0.8 * baseline, f"{arch}: {nats:.1f} nats vs independent-pixel baseline {baseline:.1f}"


def channel_histogram_bits(train, test):
    """Bits/dim of test images under one 256-level histogram per colour channel, fitted on train.

    (Per-position histograms overfit 160 images and come out above 8 bits.)"""
    bits = 0.0
    for c in range(train.shape[-1]):
        counts = np.bincount(train[..., c].ravel(), minlength=256) + 1.0
        bits -= np.log2(counts / counts.sum())[test[..., c].ravel()].sum()
    return bits / test.size


def test_colour_images_fall_well_below_8_bits_per_dim():
    images = np.load(os.path.join(DATA, "cifar10_small.npz"))["x_train"]
    train, held = images[:160], images[160:]
    baseline = channel_histogram_bits(train, held)
    assert 7.0 < baseline < 8.0
    keras.utils.set_random_seed(0)
    model = PixelRNN("pixelcnn", (32, 32, 3), levels=256, num_layers=1, hidden=12, head_units=48)
    fit(model, train, 80, 16, jit=False)
    bits = evaluate_nll(model, held)["bits_per_dim"]
    assert bits < baseline - 0.5, f"{bits:.2f} bits/dim vs channel-histogram baseline {baseline:.2f}"
