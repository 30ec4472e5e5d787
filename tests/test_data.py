"""Tests of pixelrnn_keras.data on the real subsets in tests/data (never ../shared/data)."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from pixelrnn_keras import PixelRNN
from pixelrnn_keras.data import (
    binarize,
    load,
    load_image_folder,
    load_npz,
    load_tfds,
    make_dataset,
    quantize,
    split_holdout,
)

DATA = Path(__file__).resolve().parent / "data"
MNIST = DATA / "binarized_mnist_small.npz"
CIFAR = DATA / "cifar10_small.npz"
DIGITS = DATA / "digits8.npz"


@pytest.fixture(scope="module")
def cifar():
    return load_npz(CIFAR)


def write_pngs(folder, images, mode):
    """Write (N, H, W, C) uint8 images as folder/img_000.png, ... in Pillow `mode`."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray(image[..., 0] if mode == "L" else image, mode=mode).save(folder / f"img_{i:03d}.png")


# --- .npz files -------------------------------------------------------------------------


def test_load_npz_picks_obvious_array_and_adds_channel_axis():
    mnist = load_npz(MNIST)  # "train"
    assert mnist.shape == (2000, 28, 28, 1) and mnist.dtype == np.uint8
    with np.load(MNIST) as raw:
        np.testing.assert_array_equal(mnist[..., 0], raw["train"])
        np.testing.assert_array_equal(load_npz(MNIST, key="valid")[..., 0], raw["valid"])
    assert load_npz(CIFAR).shape == (200, 32, 32, 3)  # "x_train", not "y_train"
    digits = load_npz(DIGITS)  # "images"
    assert digits.shape == (1797, 8, 8, 1) and digits.max() == 16


def test_load_npz_only_array(tmp_path):
    path = tmp_path / "one.npz"
    np.savez(path, some_name=np.zeros((3, 4, 5), np.int64))
    images = load_npz(path)
    assert images.shape == (3, 4, 5, 1) and images.dtype == np.uint8


def test_load_npz_errors(tmp_path):
    path = tmp_path / "two.npz"
    np.savez(path, a=np.zeros((2, 4, 4), np.uint8), b=np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(ValueError, match=r"key must be given.*\['a', 'b'\]"):
        load_npz(path)
    with pytest.raises(ValueError, match=r"key must name one of.*\['a', 'b'\].*'c'"):
        load_npz(path, key="c")
    floats = tmp_path / "floats.npz"
    np.savez(floats, train=np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="must be integer images.*float32"):
        load_npz(floats)
    with pytest.raises(ValueError, match="must be integer images.*shape"):
        np.savez(floats, train=np.zeros((4, 4), np.uint8))
        load_npz(floats)
    with pytest.raises(ValueError, match="path must be a path to an existing file"):
        load_npz(tmp_path / "missing.npz")
    np.save(tmp_path / "single.npy", np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="path must be a .npz archive"):
        load_npz(tmp_path / "single.npy")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="path must be a readable .npz file"):
        load_npz(tmp_path / "junk.npz")


def test_load_dispatches_npz_with_split_as_key():
    with np.load(MNIST) as raw:
        np.testing.assert_array_equal(load(MNIST, split="valid")[..., 0], raw["valid"])
    np.testing.assert_array_equal(load(str(CIFAR), split="train"), load_npz(CIFAR, key="x_train"))
    np.testing.assert_array_equal(load(MNIST), load_npz(MNIST, key="train"))
    assert load(MNIST, split="train", key="valid").shape[0] == 500  # key wins
    with pytest.raises(ValueError, match=r"split must name an array.*'test'"):
        load(CIFAR, split="test")


# --- image folders ----------------------------------------------------------------------


def test_image_folder_round_trip_rgb(tmp_path, cifar):
    images = cifar[:5]
    write_pngs(tmp_path, images, "RGB")
    (tmp_path / "notes.txt").write_text("not an image")
    loaded = load_image_folder(tmp_path)
    assert loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, images)  # PNG is lossless; sorted file order
    np.testing.assert_array_equal(load(tmp_path), images)
    small = load_image_folder(tmp_path, image_shape=(16, 12, 3))
    assert small.shape == (5, 16, 12, 3)


def test_image_folder_round_trip_grayscale_and_split(tmp_path):
    images = load_npz(MNIST, key="valid")[:4] * 255
    write_pngs(tmp_path / "valid", images, "L")
    np.testing.assert_array_equal(load_image_folder(tmp_path / "valid", color_mode="grayscale"), images)
    np.testing.assert_array_equal(load(tmp_path, split="valid", color_mode="grayscale"), images)
    assert load_image_folder(tmp_path / "valid", image_shape=(8, 8), color_mode="grayscale").shape == (4, 8, 8, 1)
    assert load_image_folder(tmp_path / "valid").shape == (4, 28, 28, 3)  # grey -> RGB


def test_image_folder_errors(tmp_path, cifar):
    with pytest.raises(ValueError, match="path must be a folder with .* has none"):
        load_image_folder(tmp_path)
    with pytest.raises(ValueError, match="path must be a path to an existing folder"):
        load_image_folder(tmp_path / "missing")
    write_pngs(tmp_path, cifar[:2], "RGB")
    with pytest.raises(ValueError, match="color_mode must be one of"):
        load_image_folder(tmp_path, color_mode="cmyk")
    with pytest.raises(ValueError, match=r"image_shape must be .*\(height, width, 1\)"):
        load_image_folder(tmp_path, image_shape=(8, 8, 3), color_mode="grayscale")
    with pytest.raises(ValueError, match="image_shape must be"):
        load_image_folder(tmp_path, image_shape=(0, 8))
    Image.fromarray(cifar[2, :16]).save(tmp_path / "img_002.png")
    with pytest.raises(ValueError, match="differ in size.*pass image_shape"):
        load_image_folder(tmp_path)
    assert load_image_folder(tmp_path, image_shape=(32, 32)).shape == (3, 32, 32, 3)
    (tmp_path / "img_003.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="unreadable image file .*img_003.png"):
        load_image_folder(tmp_path, image_shape=(32, 32))


# --- tensorflow-datasets ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name, split, shape",
    [("binarized_mnist", "valid", (28, 28, 1)), ("mnist", "train", (28, 28, 1)), ("cifar10", "test", (32, 32, 3))],
)
def test_load_tfds_with_mock_data(tmp_path, name, split, shape):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=6, policy=tfds.testing.MockPolicy.USE_CODE):
        images = load_tfds(name, split, data_dir=tmp_path)
        assert images.shape == (6, *shape) and images.dtype == np.uint8
        np.testing.assert_array_equal(load(name, split=split, data_dir=tmp_path), images)


def test_load_tfds_not_prepared(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(FileNotFoundError, match="'mnist' is not prepared in data_dir=.*never downloads"):
        load_tfds("mnist", "train", data_dir=tmp_path)
    assert not any(tmp_path.rglob("*.tfrecord*"))


def test_load_tfds_and_load_errors(tmp_path):
    with pytest.raises(ValueError, match="name must be one of"):
        load_tfds("imagenet", "train", data_dir=tmp_path)
    with pytest.raises(ValueError, match="split must be a non-empty"):
        load_tfds("mnist", "", data_dir=tmp_path)
    with pytest.raises(ValueError, match="data_dir must be None or a path"):
        load_tfds("mnist", "train", data_dir=3)
    with pytest.raises(ValueError, match="source must be an existing .npz file"):
        load(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="source must be"):
        load(np.zeros(3))
    with pytest.raises(ValueError, match="key applies only to npz sources"):
        load("mnist", key="x_train")
    with pytest.raises(ValueError, match="data_dir applies only to tfds sources"):
        load(MNIST, data_dir=tmp_path)
    with pytest.raises(ValueError, match="image_shape applies only to folder sources"):
        load(MNIST, image_shape=(8, 8))
    with pytest.raises(ValueError, match="split must be None or a non-empty string"):
        load(MNIST, split=1)


# --- quantize / binarize ----------------------------------------------------------------


def test_quantize():
    values = np.array([0, 63, 64, 127, 128, 191, 192, 255], np.uint8)
    np.testing.assert_array_equal(quantize(values, 4), [0, 0, 1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(quantize(values, 256), values)
    cifar = load_npz(CIFAR)
    q = quantize(cifar, 8)
    assert q.shape == cifar.shape and q.dtype == np.uint8 and set(np.unique(q)) == set(range(8))
    digits = quantize(load_npz(DIGITS), 2, in_levels=17)  # 0..8 -> 0, 9..16 -> 1
    np.testing.assert_array_equal(digits, load_npz(DIGITS) >= 9)


def test_quantize_errors():
    with pytest.raises(ValueError, match="levels must be an int in"):
        quantize(np.zeros(3, np.uint8), 1)
    with pytest.raises(ValueError, match="levels must be an int in"):
        quantize(np.zeros(3, np.uint8), 32, in_levels=17)
    with pytest.raises(ValueError, match="in_levels must be an int"):
        quantize(np.zeros(3, np.uint8), 2, in_levels=1000)
    with pytest.raises(ValueError, match=r"images must be .*values in \[0, 16\]; got values in \[0, 17\]"):
        quantize(np.array([0, 17]), 2, in_levels=17)
    with pytest.raises(ValueError, match="images must be an integer array.*float"):
        quantize(np.zeros(3), 2)


def test_binarize_deterministic_and_stochastic(rng):
    values = np.array([0, 127, 128, 255], np.uint8)
    np.testing.assert_array_equal(binarize(values), [0, 0, 1, 1])
    np.testing.assert_array_equal(binarize(values, threshold=255), [0, 0, 0, 1])
    images = rng.integers(0, 256, size=(50, 8, 8, 1)).astype(np.uint8)
    a = binarize(images, stochastic=True, seed=1)
    assert a.dtype == np.uint8 and a.shape == images.shape and set(np.unique(a)) <= {0, 1}
    np.testing.assert_array_equal(a, binarize(images, stochastic=True, seed=1))
    assert not np.array_equal(a, binarize(images, stochastic=True, seed=2))
    np.testing.assert_array_equal(binarize(np.array([0, 255]), stochastic=True), [0, 1])
    half = binarize(np.full(20000, 128, np.uint8), stochastic=True, seed=0).mean()
    assert abs(half - 128 / 255) < 0.02
    np.testing.assert_array_equal(binarize(np.array([0, 8, 16]), threshold=8, max_value=16), [0, 1, 1])


def test_binarize_errors():
    with pytest.raises(ValueError, match="threshold must be a number in"):
        binarize(np.zeros(3, np.uint8), threshold=0)
    with pytest.raises(ValueError, match="threshold must be a number in"):
        binarize(np.zeros(3, np.uint8), threshold="128")
    with pytest.raises(ValueError, match="max_value must be an int"):
        binarize(np.zeros(3, np.uint8), max_value=0)
    with pytest.raises(ValueError, match="seed must be None or an int"):
        binarize(np.zeros(3, np.uint8), stochastic=True, seed=-1)
    with pytest.raises(ValueError, match="stochastic must be a bool"):
        binarize(np.zeros(3, np.uint8), stochastic="yes")
    with pytest.raises(ValueError, match="images must be"):
        binarize(np.array([-1, 3]))


# --- tf.data pipeline -------------------------------------------------------------------


def epoch(dataset):
    return [batch.numpy() for batch in dataset]


def test_make_dataset_shapes_and_order():
    images = load_npz(DIGITS)[:50]
    dataset = make_dataset(images, batch_size=16)
    assert dataset.element_spec == tf.TensorSpec((None, 8, 8, 1), tf.uint8)
    assert dataset.options().autotune.enabled is False
    batches = epoch(dataset)
    assert [len(b) for b in batches] == [16, 16, 16, 2]
    seen = np.concatenate(batches)
    assert not np.array_equal(seen, images)  # shuffled ...
    np.testing.assert_array_equal(np.sort(seen.reshape(50, -1), axis=0), np.sort(images.reshape(50, -1), axis=0))
    np.testing.assert_array_equal(seen, np.concatenate(epoch(make_dataset(images, batch_size=16))))  # ... by seed
    np.testing.assert_array_equal(np.concatenate(epoch(make_dataset(images, 16, shuffle=False))), images)
    dropped = make_dataset(images, batch_size=16, drop_remainder=True)
    assert dropped.element_spec.shape == (16, 8, 8, 1) and len(epoch(dropped)) == 3
    repeated = make_dataset(images, batch_size=16, repeat=True, seed=3)
    assert [len(b) for b in epoch(repeated.take(9))] == [16, 16, 16, 2] * 2 + [16]


def test_make_dataset_from_nhw_binary_images():
    with np.load(MNIST) as raw:
        dataset = make_dataset(raw["valid"][:10], batch_size=4, shuffle=False)
    assert dataset.element_spec == tf.TensorSpec((None, 28, 28, 1), tf.uint8)
    assert sum(len(b) for b in epoch(dataset)) == 10


def test_make_dataset_errors():
    images = np.zeros((4, 8, 8, 1), np.uint8)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        make_dataset(images, 0)
    with pytest.raises(ValueError, match="batch_size must be <= the number of images"):
        make_dataset(images, 8, drop_remainder=True)
    with pytest.raises(ValueError, match="images must hold at least one image"):
        make_dataset(images[:0], 2)
    with pytest.raises(ValueError, match="images must be integer images.*float"):
        make_dataset(images.astype(np.float32), 2)
    with pytest.raises(ValueError, match=r"images must be integer images.*got values in \[300, 300\]"):
        make_dataset(np.full((4, 8, 8), 300), 2)
    with pytest.raises(ValueError, match="seed must be None or an int"):
        make_dataset(images, 2, seed=1.5)
    with pytest.raises(ValueError, match="shuffle must be a bool"):
        make_dataset(images, 2, shuffle="yes")


# --- hold-out splits --------------------------------------------------------------------


def test_split_holdout_is_deterministic_and_partitions():
    index = np.arange(100)
    train, holdout = split_holdout(index, 0.2, seed=5)
    assert len(train) == 80 and len(holdout) == 20
    np.testing.assert_array_equal(np.sort(np.concatenate([train, holdout])), index)
    assert np.all(np.diff(train) > 0) and np.all(np.diff(holdout) > 0)  # original order kept
    again = split_holdout(index, 0.2, seed=5)
    np.testing.assert_array_equal(again[1], holdout)
    assert not np.array_equal(split_holdout(index, 0.2, seed=6)[1], holdout)
    images = load_npz(DIGITS)
    train, holdout = split_holdout(images, 0.1, seed=0)
    assert train.shape == (1617, 8, 8, 1) and holdout.shape == (180, 8, 8, 1)


def test_split_holdout_errors():
    with pytest.raises(ValueError, match=r"fraction must be a number in \(0, 1\)"):
        split_holdout(np.arange(10), 1.0)
    with pytest.raises(ValueError, match="fraction must leave both parts non-empty"):
        split_holdout(np.arange(10), 0.01)
    with pytest.raises(ValueError, match="seed must be an int"):
        split_holdout(np.arange(10), 0.5, seed=None)
    with pytest.raises(ValueError, match="images must be an array"):
        split_holdout(np.float32(3), 0.5)


# --- feeding model.fit ------------------------------------------------------------------


def test_make_dataset_feeds_model_fit():
    keras.utils.set_random_seed(0)
    images = quantize(load_npz(DIGITS)[:16], 2, in_levels=17)
    model = PixelRNN("pixelcnn", (8, 8, 1), levels=2, num_layers=1, hidden=4, head_units=8)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(make_dataset(images, batch_size=16), epochs=1, shuffle=False, verbose=0)
    loss = history.history["loss"]
    assert len(loss) == 1 and np.isfinite(loss[0]) and 0 < loss[0] < 64 * np.log(2) * 1.5
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
