"""TensorBoard scalars and images, written with TensorFlow alone.

`tf.summary.scalar` and `tf.summary.image` (and so `keras.callbacks.TensorBoard`) need the
`tensorboard` package installed; the event files do not. These write the same records
(`tf.summary.write` with the metadata of TensorBoard's scalar and image plugins), so that
`tensorboard --logdir` shows them wherever TensorBoard is installed, without making it a
dependency. Call them under a default writer::

    with tf.summary.create_file_writer(log_dir).as_default():
        summaries.scalar("epoch_bits_per_dim", 0.17, step=3)
"""

import io

import numpy as np
import tensorflow as tf
from PIL import Image
from tensorflow.core.framework import summary_pb2


def _metadata(plugin_name, data_class):
    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = plugin_name
    metadata.data_class = data_class
    return metadata


def scalar(name, value, step):
    """One float32 point of the curve `name` at `step` (TensorBoard's "scalars" plugin)."""
    metadata = _metadata("scalars", summary_pb2.DATA_CLASS_SCALAR)
    return tf.summary.write(name, tf.constant(float(value), tf.float32), step=step, metadata=metadata)


def image(name, pixels, step):
    """One uint8 image (H, W, C), C in {1, 3}, as a PNG under `name` at `step` ("images" plugin)."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[-1] not in (1, 3):
        raise ValueError(f"pixels must be a uint8 array (H, W, 1 or 3); got {pixels.dtype} {pixels.shape}")
    png = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(png, format="PNG")
    height, width = pixels.shape[:2]
    # The images plugin's layout: [width, height, png, ...] as strings.
    tensor = tf.constant([str(width).encode(), str(height).encode(), png.getvalue()])
    return tf.summary.write(name, tensor, step=step, metadata=_metadata("images", summary_pb2.DATA_CLASS_BLOB_SEQUENCE))
