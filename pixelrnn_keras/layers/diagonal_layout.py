"""Where the Diagonal BiLSTM's skewed scan keeps each pixel: chunks of columns of the skewed map
(paper, section 3.2, figure 3), and the gathers that move maps between them and the image."""

import functools

import tensorflow as tf

# Columns per chunk of the skewed scan (see `column_chunks`): smaller chunks skip more padding,
# but each is one more loop to compile. At 28x28, one layer's training step, measured side by
# side: 3 chunks 15% and 6 chunks 28% faster than one, compiling 3x and 6x as long.
COLUMNS_PER_CHUNK = 16


def column_chunks(height, width, num_chunks):
    """Chunks of the skewed scan for `LSTMScan`: ((t0, t1, r0, r1), ...) over W + H - 1 columns.

    Column t holds pixels of rows t - W + 1 .. t only, so about half of the skewed map is
    padding; each chunk of columns runs on the rows that hold a pixel in it or in the
    column before it (whose states it reads), which skips most of the padding.
    """
    steps = height + width - 1
    bounds = sorted({round(steps * k / num_chunks) for k in range(num_chunks + 1)})
    return tuple((t0, t1, max(0, t0 - width), min(height, t1)) for t0, t1 in zip(bounds[:-1], bounds[1:]))


class DiagonalLayout:
    """Moves maps between the image and the chunks of the skewed scan, both directions at once.

    The skewed map (`skew`) shifts row i right by i, so that its column t holds the pixels
    (i, t - i); the right-to-left direction does the same on the mirrored image. Rather than
    building that (H, W + H - 1) map, half of it padding, and slicing the chunks out of it,
    `to_chunks` gathers each chunk's slots straight from the image (padding slots read
    zeros) and `to_image` gathers them back. Every pixel has exactly one slot, so each
    gather's gradient is the other gather. (The reshape-and-pad skew and its gradient took
    about as long as the scan itself in XLA on CPU.)

    Args:
        chunks: ((t0, t1, r0, r1), ...) as from `column_chunks` for the image's size, or None:
            one chunk over the whole skewed map, for images whose size is only known at run time.
    """

    def __init__(self, chunks=None):
        self.chunks = None if chunks is None else tuple(tuple(int(x) for x in chunk) for chunk in chunks)

    def chunk_bounds(self, height, width):
        """The chunks, with the whole skewed map ((0, W + H - 1, 0, H),) as tensors if there are none."""
        return self.chunks or ((0, height + width - 1, 0, height),)

    def valid(self, height, width, dtype):
        """Per chunk (t1 - t0, 1, r1 - r0, 1, 1): 1 where a slot holds a pixel, 0 on padding."""
        return tuple(
            tf.cast(_slots(height, width, chunk)[1], dtype)[:, None, :, None, None]
            for chunk in self.chunk_bounds(height, width)
        )

    def to_chunks(self, left, right):
        """Maps (B, H, W, F) of each direction -> per chunk (t1 - t0, 2, r1 - r0, B, F)."""

        @tf.custom_gradient
        def run(maps):
            def grad(*d_chunks):
                return self._gather_image(d_chunks, tf.shape(maps)[2], tf.shape(maps)[3])

            return self._gather_chunks(maps), grad

        return run(tf.stack([left, right]))

    def to_image(self, chunks, height, width):
        """Per chunk (t1 - t0, 2, r1 - r0, B, F) -> (2, B, H, W, F): each direction's map in image
        coordinates (the right-to-left one mirrored back)."""

        @tf.custom_gradient
        def run(*chunks):
            def grad(d_maps):
                return self._gather_chunks(d_maps)

            return self._gather_image(chunks, height, width), grad

        return run(*chunks)

    # Both gathers move whole (B, F) blocks: the pixels are laid out first, the batch after them.

    @functools.cached_property
    def _gather_chunks(self):
        @tf.function(jit_compile=True, autograph=False)
        def gather(maps):
            _, batch, height, width = tf.unstack(tf.shape(maps)[:4])
            pixels = tf.reshape(tf.transpose(maps, [0, 2, 3, 1, 4]), [2 * height * width, batch, maps.shape[-1]])
            pixels = tf.pad(pixels, [[0, 1], [0, 0], [0, 0]])  # the padding slots' zero block
            return tuple(
                tf.gather(pixels, _slots(height, width, chunk)[0]) for chunk in self.chunk_bounds(height, width)
            )

        return gather

    @functools.cached_property
    def _gather_image(self):
        @tf.function(jit_compile=True, autograph=False)
        def gather(chunks, height, width):
            batch, features = tf.shape(chunks[0])[3], chunks[0].shape[-1]
            slots = tf.concat([tf.reshape(c, [-1, batch, features]) for c in chunks], axis=0)
            maps = tf.gather(slots, _slot_of_pixels(height, width, self.chunk_bounds(height, width)))
            return tf.transpose(maps, [0, 3, 1, 2, 4])  # (2, H, W, B, F) -> (2, B, H, W, F)

        return gather


def _slots(height, width, chunk):
    """The pixel of each (column t, direction, row i) slot of a chunk, (t1 - t0, 2, r1 - r0): index
    i * W + j of the left-to-right map, H * W + i * W + (W - 1 - j) of the (mirrored) right-to-left
    one, 2 * H * W on padding; and where the slots hold pixels, (t1 - t0, r1 - r0)."""
    t0, t1, r0, r1 = chunk
    t, i = tf.meshgrid(tf.range(t0, t1), tf.range(r0, r1), indexing="ij")
    j = t - i
    inside = (j >= 0) & (j < width)
    padding = 2 * height * width
    left = tf.where(inside, i * width + j, padding)
    right = tf.where(inside, height * width + i * width + (width - 1 - j), padding)
    return tf.stack([left, right], axis=1), inside


def _slot_of_pixels(height, width, chunks):
    """(2, H, W): the slot of each pixel of each direction in the chunks' slots laid end to end."""
    t0, t1, r0, r1 = (tf.stack([tf.cast(chunk[k], tf.int32) for chunk in chunks]) for k in range(4))
    rows = r1 - r0
    firsts = tf.concat([[0], tf.cumsum((t1 - t0) * 2 * rows)[:-1]], 0)
    i, j = tf.meshgrid(tf.range(height), tf.range(width), indexing="ij")
    slots = []
    for direction, column in enumerate((i + j, i + (width - 1 - j))):  # each pixel's skewed column
        k = tf.searchsorted(t1, tf.reshape(column, [-1]), side="right")
        k = tf.reshape(k, [height, width])
        slot = (column - tf.gather(t0, k)) * 2 + direction
        slots.append(tf.gather(firsts, k) + slot * tf.gather(rows, k) + i - tf.gather(r0, k))
    return tf.stack(slots)


@functools.cache
def diagonal_layout(height, width):
    """The shared `DiagonalLayout` of an image size (None if unknown): chunks of about
    `COLUMNS_PER_CHUNK` columns, or one chunk."""
    if height is None or width is None:
        return DiagonalLayout()
    return DiagonalLayout(column_chunks(height, width, max(1, (height + width - 1) // COLUMNS_PER_CHUNK)))
