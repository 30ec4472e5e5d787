"""Exact sampling from PixelRNN models: a naive reference loop and a cached one, same results.

They draw each sub-pixel given those before it in raster order (then R, G, B), by Gumbel-max from noise drawn up front
(`noise.py`, in two steps for many levels), so that a seed fixes the images whichever loop runs. `naive.py` runs a full
forward pass per sub-pixel; `cached.py` advances each layer by one pixel from its cache, and
`wavefront.py` a whole diagonal of pixels at a time, for the networks that have one (the same images).
Completion is sampling with some sub-pixels clamped to given values. `two_stage.py` drives the
same loops over a model's stages (models/stages.py): for a `MultiScalePixelRNN`, the small image
first, then the full image given it.
"""

from pixelrnn_keras.sampling.api import LOOPS, complete, generate, sample
from pixelrnn_keras.sampling.noise import gumbel_noise, noise_size

__all__ = ["LOOPS", "complete", "generate", "gumbel_noise", "noise_size", "sample"]
