"""Image data for PixelRNN models: loading, level reduction, splits and tf.data pipelines.

All loaders return uint8 arrays (N, H, W, C); `quantize` / `binarize` bring them to the
model's `levels`, and `make_dataset` batches them for `model.fit`::

    from pixelrnn_keras import data
    train = data.load("../shared/data/binarized_mnist.npz", split="train")  # (50000, 28, 28, 1)
    model.fit(data.make_dataset(train, batch_size=64), epochs=1)
"""

from pixelrnn_keras.data.for_model import load_for_model
from pixelrnn_keras.data.pipeline import make_dataset, make_step_dataset
from pixelrnn_keras.data.sources import TFDS_NAMES, load, load_image_folder, load_labels, load_npz, load_tfds
from pixelrnn_keras.data.splits import split_holdout
from pixelrnn_keras.data.transforms import binarize, quantize

__all__ = [
    "TFDS_NAMES",
    "binarize",
    "load",
    "load_for_model",
    "load_image_folder",
    "load_labels",
    "load_npz",
    "load_tfds",
    "make_dataset",
    "make_step_dataset",
    "quantize",
    "split_holdout",
]
