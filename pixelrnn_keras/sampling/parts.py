"""A batch stepped as independent parts in one compiled loop, so that a CPU's cores share the steps.

A step's products are small (a batch by a few hundred features), and XLA's CPU runtime runs each
on one thread; it runs independent ones side by side. Split into parts with caches of their own,
the batch's steps become independent chains that it spreads over the cores (bench/steps.py).
Each image is computed exactly as in a whole batch, by the same operations on its own rows.
"""

import functools
import os

import tensorflow as tf

from pixelrnn_keras.sampling.conditioned import Conditioned

# Images per part below which splitting costs more than it gains (the products' fixed costs).
MIN_PART = 8


def default_parts(batch):
    """How many parts to step `batch` images in: two on a CPU with two or more cores (measured
    best on this project's two-core machine; four were slower for two of three networks), one on a GPU,
    whose kernels are large already, or for a batch too small to split."""
    if _on_gpu_or_one_core():
        return 1
    return 2 if batch >= 2 * MIN_PART else 1


@functools.cache
def _on_gpu_or_one_core():
    """Asked once: the devices do not change once TensorFlow has started."""
    return bool(tf.config.list_logical_devices("GPU")) or (os.cpu_count() or 1) < 2


class BatchParts:
    """`PixelSteps` over a batch made of parts, each stepped by its own `PixelSteps` (models/steps.py).

    Args:
        steppers: one per part, e.g. the same network, or a conditional network with that part's
            condition (`split`).
        sizes: the parts' batch sizes, in order.
    """

    def __init__(self, steppers, sizes):
        if len(steppers) != len(sizes) or not steppers:
            raise ValueError(f"one stepper per part size: got {len(steppers)} steppers and sizes {sizes}")
        self.steppers, self.sizes = list(steppers), [int(size) for size in sizes]

    @classmethod
    def split(cls, network, batch, parts, condition=None):
        """`network` (with `condition` (batch, H, W, c) fixed, for a conditional one) over `batch`
        images in `parts` parts as even as possible."""
        sizes = [batch // parts + (k < batch % parts) for k in range(parts)]
        if condition is None:
            return cls([network] * parts, sizes)
        return cls([Conditioned(network, part) for part in tf.split(condition, sizes)], sizes)

    @property
    def image_shape(self):
        return self.steppers[0].image_shape

    @property
    def levels(self):
        return self.steppers[0].levels

    def _parts(self, batched):
        return tf.split(batched, self.sizes)

    def init_cache(self, batch):
        if batch != sum(self.sizes):
            raise ValueError(f"these parts hold {sum(self.sizes)} images; batch is {batch}")
        return tuple(stepper.init_cache(size) for stepper, size in zip(self.steppers, self.sizes))

    def step(self, cache, pixel, i, j, channel):
        steps = [s.step(c, p, i, j, channel) for s, c, p in zip(self.steppers, cache, self._parts(pixel))]
        return tf.concat([logits for logits, _ in steps], 0), tuple(part_cache for _, part_cache in steps)

    def end_pixel(self, cache, pixel, i, j):
        return tuple(s.end_pixel(c, p, i, j) for s, c, p in zip(self.steppers, cache, self._parts(pixel)))

    def end_row(self, cache, i, row):
        return tuple(s.end_row(c, i, r) for s, c, r in zip(self.steppers, cache, self._parts(row)))

    # A diagonal of pixels at a time (layers/wavefront.py): a step's tensors are slot-major.

    def wavefront(self):
        return self.steppers[0].wavefront()

    def _slot_join(self, parts):
        slots = parts[0].shape[0] // self.sizes[0]
        per_slot = [tf.reshape(part, [slots, size, *part.shape[1:]]) for part, size in zip(parts, self.sizes)]
        joined = tf.concat(per_slot, axis=1)
        return tf.reshape(joined, [-1, *joined.shape[2:]])

    def wave_init_cache(self, batch, wave):
        if batch != sum(self.sizes):
            raise ValueError(f"these parts hold {sum(self.sizes)} images; batch is {batch}")
        return tuple(stepper.wave_init_cache(size, wave) for stepper, size in zip(self.steppers, self.sizes))

    def wave_step(self, cache, at, draw):
        """Each part's step, its `draw` told the part's first image and size: draw(channel, logits,
        first, size)."""
        firsts = [sum(self.sizes[:k]) for k in range(len(self.sizes))]
        steps = [
            stepper.wave_step(part_cache, at, lambda c, logits, first=first, size=size: draw(c, logits, first, size))
            for stepper, part_cache, first, size in zip(self.steppers, cache, firsts, self.sizes)
        ]
        return tuple(part_cache for part_cache, _ in steps), self._slot_join([pixels for _, pixels in steps])

    def wave_end_row(self, cache, i):
        return tuple(stepper.wave_end_row(part_cache, i) for stepper, part_cache in zip(self.steppers, cache))
