"""What the sampling loops keep of each step: TensorArrays, stacked once the loop is done.

Without XLA, scattering a step's values into a whole (batch, H, W, ...) map copies the map
at every step; a TensorArray write does not (and XLA turns it into an in-place update).
"""

import tensorflow as tf


def steps_record(num_steps, dtype, element_shape):
    """An empty record of `num_steps` elements of shape (batch, ...), one per step."""
    return tf.TensorArray(dtype, size=num_steps, element_shape=element_shape)


def batch_first(record, steps):
    """The stacked record, (batch, *steps, ...), for steps in raster order over `steps`, e.g. (H, W)."""
    stacked = record.stack()  # (prod(steps), batch, ...)
    grid = tf.reshape(stacked, [*steps, -1, *stacked.shape[2:]])
    n = len(steps)
    return tf.transpose(grid, [n, *range(n), *range(n + 1, len(grid.shape))])


def gather_steps(record, first, count):
    """Elements first .. first + count - 1, batch first: (batch, count, ...)."""
    gathered = record.gather(first + tf.range(count))
    return tf.transpose(gathered, [1, 0, *range(2, len(gathered.shape))])
