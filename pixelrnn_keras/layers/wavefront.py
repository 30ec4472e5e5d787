"""Evaluating a causal network a diagonal of pixels at a time: the wavefront steps.

In raster order (layers/incremental.py) a step evaluates one pixel. But where every layer reads
a bounded neighbourhood of earlier pixels (PixelCNN's convolutions, the Row LSTM's k taps of the
row above), pixel (i, j) depends only on pixels (i', j') with j' + slope * i' < j + slope * i,
for a `slope` beyond every kernel's reach to the right in the rows above (a 7 x 7 first
convolution reaches 3 columns right of the row above: slope 4). All pixels of one diagonal
t = j + slope * i, at most ceil(W / slope) of them, are then independent and are evaluated in one
step: an image takes W + slope * (H - 1) steps instead of H * W (156 instead of 1024 at 32 x 32),
each doing the work of several pixels in the same number of operations. The features computed
are those of the raster steps, pixel by pixel (up to float rounding). The Diagonal BiLSTM and the
Gated PixelCNN's vertical stack see whole rows above, so they have no such slope; the Gated
PixelCNN still takes these steps with slope = width (one pixel per step, raster order) for their
colour groups (below), its vertical stack run at each row's end.

Step t holds `slots` pixels, slot s being pixel (first_row + s, t - slope * (first_row + s)); slots
outside the image compute values that are discarded (a layer reads any pixel outside the image as
zero, its padding). Tensors of a step are slot-major: (slots * batch, features), slot s's batch at
rows s * batch ...

A step also goes by colour group: the call for channel c computes colour group c of every
layer's features only, from the groups before it that the earlier calls computed (group g of a
map depends on channels <= g of the pixel, layers/masks.py), so that a pixel's features are
computed once, not once per channel. Layers with wavefront steps have

    wave_init_cache(batch, wave, dtype, *bias_maps) -> cache        (carried from step to step)
    wave_begin(cache, at) -> state                                   (the step's `WaveStep` at)
    wave_group(state, inputs, g) -> (outputs of group g, state)      (g = 0, 1, ... in order)
    wave_end(state) -> cache

`wave_begin` computes what comes from earlier pixels, once per step; `wave_group` is given the
inputs' newest group (g, or g - 1 for a mask-A layer, which sees only groups before its own;
none for g = 0) and returns the outputs' group g, (slots * batch, features of group g). A layer
keeps the features it reads of earlier pixels in a ring of the last few diagonals (`ring_zeros`),
written one step late, when the next step begins.
"""

import numpy as np
import tensorflow as tf

from pixelrnn_keras.layers.masks import channel_groups


class Wavefront:
    """The diagonals of an image for a network of `slope`: `steps` of them, of up to `slots` pixels."""

    def __init__(self, height, width, slope):
        if int(slope) < 1:
            raise ValueError(f"slope must be a positive int, got {slope}")
        self.height, self.width, self.slope = int(height), int(width), int(slope)
        self.slots = -(-self.width // self.slope)
        self.steps = self.width + self.slope * (self.height - 1)

    def first_row(self, t):
        """The row of slot 0 at step t (an int32 tensor): the first row whose pixel on the diagonal is
        left of the image's right edge."""
        return tf.maximum(0, (t - self.width + self.slope) // self.slope)

    def at(self, t):
        return WaveStep(self, t)

    def slot_of_pixel(self):
        """(H * W,) numpy int: for each pixel in raster order, its index t * slots + s among the steps' slots."""
        i, j = np.divmod(np.arange(self.height * self.width), self.width)
        t = j + self.slope * i
        return t * self.slots + i - np.maximum(0, (t - self.width + self.slope) // self.slope)

    def raster(self, stacked):
        """(steps, slots * batch, ...) values per step and slot -> (batch, H, W, ...) in raster order."""
        batch = stacked.shape[1] // self.slots
        per_slot = tf.reshape(stacked, [self.steps * self.slots, batch, *stacked.shape[2:]])
        pixels = tf.gather(per_slot, self.slot_of_pixel())  # (H * W, batch, ...)
        rest = list(range(2, len(pixels.shape)))
        return tf.reshape(tf.transpose(pixels, [1, 0, *rest]), [batch, self.height, self.width, *pixels.shape[2:]])


class WaveStep:
    """Step t of a `Wavefront`: its pixels' rows and columns, which of them are in the image, and reads
    of whole maps at them."""

    def __init__(self, wave, t):
        self.wave, self.t = wave, t
        self.first_row = wave.first_row(t)
        self.rows = self.first_row + tf.range(wave.slots)  # (slots,), some past the image's last row
        self.columns = t - wave.slope * self.rows  # (slots,), some outside the image
        rows, columns = tf.minimum(self.rows, wave.height - 1), tf.clip_by_value(self.columns, 0, wave.width - 1)
        self._pixel = rows * wave.width + columns
        self._previous = None

    def previous(self):
        """Step t - 1, made once per step: every layer's ring writes at it."""
        if self._previous is None:
            self._previous = WaveStep(self.wave, self.t - 1)
        return self._previous

    def inside(self, dr=0, dc=0):
        """(slots,) bool: whether pixel (row + dr, column + dc) of each slot is in the image."""
        rows, columns = self.rows + dr, self.columns + dc
        return (rows >= 0) & (rows < self.wave.height) & (columns >= 0) & (columns < self.wave.width)

    def read(self, maps):
        """maps (batch, H, W, ...) at this step's pixels: (slots * batch, ...); slots outside the image
        read a pixel of the image's edge."""
        flat = tf.reshape(maps, [maps.shape[0], -1, *maps.shape[3:]])
        return _slot_major(tf.gather(flat, self._pixel, axis=1))

    def read_columns(self, row):
        """row (batch, W, ...), a map of the pixels' row, at their columns: (slots * batch, ...)."""
        columns = tf.clip_by_value(self.columns, 0, self.wave.width - 1)
        return _slot_major(tf.gather(row, columns, axis=1))


def _slot_major(at_slots):
    """(batch, slots, ...) -> (slots * batch, ...)."""
    at_slots = tf.transpose(at_slots, [1, 0, *range(2, len(at_slots.shape))])
    return tf.reshape(at_slots, [-1, *at_slots.shape[2:]])


def kernel_taps(kernel_size):
    """The (row, column) offsets, rows <= 0, of a masked k_h x k_w kernel's taps before the centre
    (rows above, then the centre row's left part), in the kernel's own order."""
    kh, kw = kernel_size
    above = [(dr, dc) for dr in range(-(kh // 2), 0) for dc in range(-(kw // 2), kw // 2 + 1)]
    return above + [(0, dc) for dc in range(-(kw // 2), 0)]


def ring_columns(taps, slope):
    """Diagonals a ring keeps for `taps`: the farthest back one they read. A tap that is not on an
    earlier diagonal (the network's slope is too small for it) raises ValueError."""
    back = [-(dc + slope * dr) for dr, dc in taps]
    if min(back) < 1:
        raise ValueError(f"taps {taps} reach diagonals at or after their pixel's at slope {slope}")
    return max(back)


def ring_zeros(wave, batch, features, taps, dtype):
    """An empty ring for reading `taps` of a map of `features`: (columns, rows above + H + slots - 1,
    batch, features), diagonal d's column in slot d mod columns, pixel (i, j)'s row at the rows
    above + i."""
    above = -min(dr for dr, _ in taps)
    rows = above + wave.height + wave.slots - 1
    return tf.zeros([ring_columns(taps, wave.slope), rows, batch, features], dtype)


def ring_write(ring, values, at, taps):
    """`ring` with `values` (slots * batch, features) written as the diagonal of step `at`: only its
    slots' rows (a slot outside the image writes what it computed; `ring_taps` reads it as zero)."""
    columns, _, batch, features = ring.shape
    above = -min(dr for dr, _ in taps)
    slots = at.wave.slots
    where = tf.stack([tf.fill([slots], at.t % columns), above + at.rows], axis=1)  # (slots, 2)
    return tf.tensor_scatter_nd_update(ring, where, tf.reshape(values, [slots, batch, features]))


def ring_taps(ring, at, taps):
    """The features at `taps` of each of step `at`'s pixels: (slots * batch, len(taps) * features),
    zero where a tap's pixel is outside the image (the convolutions' zero padding)."""
    columns, _, batch, features = ring.shape
    above = -min(dr for dr, _ in taps)
    slope, slots = at.wave.slope, at.wave.slots
    read = [
        tf.slice(
            ring, [(at.t + dc + slope * dr) % columns, above + at.first_row + dr, 0, 0], [1, slots, batch, features]
        )[0]
        * tf.cast(at.inside(dr, dc), ring.dtype)[:, None, None]
        for dr, dc in taps
    ]
    return tf.reshape(tf.concat(read, axis=-1), [slots * batch, len(taps) * features])


def group_columns(num_features, groups, blocks=1):
    """[numpy int array]: the features of each colour group, in order (e.g. [i, f, o, g] gates of
    the group's units for an LSTM's 4 blocks)."""
    of_feature = channel_groups(num_features, groups, blocks)
    return [np.flatnonzero(of_feature == g) for g in range(groups)]


def columns_of(features, columns):
    """features[:, columns] (a contiguous slice where the columns are)."""
    first = int(columns[0])
    if np.array_equal(columns, np.arange(first, first + len(columns))):
        return features[..., first : first + len(columns)]
    return tf.gather(features, columns, axis=-1)


def group_major(features, columns, axis=-1):
    """`features` with the axis's columns reordered group by group (`group_columns`' order), so that
    each group's are one slice (`group_slice`): the identity for features in one block."""
    return tf.gather(features, np.concatenate(columns), axis=axis)


def group_slice(features, columns, group):
    """Group `group`'s columns of `features` laid out `group_major`."""
    start = sum(len(c) for c in columns[:group])
    return features[..., start : start + len(columns[group])]
