"""The model-level one-pixel step protocol: what the cached sampler, the codec and the exporter drive."""

from typing import Protocol, runtime_checkable


@runtime_checkable
class PixelSteps(Protocol):
    """A network evaluated one pixel at a time, in raster order.

    For every pixel (i, j): `step` once per colour channel c = 0 .. C - 1, each from the cache
    the previous pixel left (only the last call's cache is kept), then `end_pixel` with the
    pixel's values; after the last pixel of row i, `end_row` with the row's values. The
    logits of a step equal those of a full forward pass of any image that agrees with every
    sub-pixel seen so far (up to float rounding; `PixelRNN.step` documents its cache).

    Implemented by `PixelRNN` (whose `init_cache` also takes a condition map or class labels) and
    `sampling.Conditioned` (a conditional network with its condition fixed). A model is driven as its
    stages (models/stages.py), each one of these: a `MultiScalePixelRNN` as two.

    Attributes:
        image_shape: (H, W, C).
        levels: values per sub-pixel.
    """

    image_shape: tuple
    levels: int

    def init_cache(self, batch):
        """The cache before the first pixel, for `batch` images."""

    def step(self, cache, pixel, i, j, channel):
        """(logits (batch, levels) of sub-pixel (i, j, `channel`), cache); `pixel` (batch, C) int32
        holds the pixel's known channels, and the logits depend only on those before `channel`."""

    def end_pixel(self, cache, pixel, i, j):
        """The cache once pixel (i, j) is complete with values `pixel` (batch, C) int32."""

    def end_row(self, cache, i, row):
        """The cache once row i is complete with values `row` (batch, W, C) int32."""


@runtime_checkable
class WavefrontSteps(Protocol):
    """A network evaluated a diagonal of pixels at a time (layers/wavefront.py): the cached sampler's
    order where every layer reads a bounded neighbourhood of earlier pixels.

    For t = 0 .. wave.steps - 1: `wave_step` with `wave.at(t)`, which draws the step's pixels channel
    by channel through `draw`; where a step holds one pixel, `wave_end_row` after each row's last
    step (the Gated PixelCNN's vertical stack runs there). Implemented by `PixelRNN` (PixelCNN and Row LSTM cores; the Gated
    PixelCNN's a pixel per step; `wavefront()` is None for the Diagonal BiLSTM),
    `sampling.Conditioned` and `sampling.parts.BatchParts`.
    """

    image_shape: tuple
    levels: int

    def wavefront(self):
        """The network's `Wavefront` for its image, or None if it has no wavefront steps."""

    def wave_init_cache(self, batch, wave):
        """The cache before the first step, for `batch` images."""

    def wave_step(self, cache, at, draw):
        """(cache, the step's pixels (slots * batch, C) int32); draw(channel, logits (slots * batch,
        levels)) -> that channel's values, called for each channel in order (`BatchParts` adds the
        part's first image and size as two more arguments)."""

    def wave_end_row(self, cache, i):
        """The cache after row i's last step, where the wavefront has one slot per step."""
