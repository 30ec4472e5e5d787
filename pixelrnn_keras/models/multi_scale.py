"""Multi-Scale PixelRNN (paper, section 3.4): a small image first, then the full image given it."""

import keras
import numpy as np
import tensorflow as tf

from pixelrnn_keras.checks import check_completion_args, check_images
from pixelrnn_keras.layers.lstm_scan import forward_only
from pixelrnn_keras.models.objective import ImageLikelihoodModel
from pixelrnn_keras.models.pixel_rnn import PixelRNN, scale_images
from pixelrnn_keras.models.stages import Stage, grid_mask

# Set by the multi-scale model itself, not by the `low` and `high` configurations.
_OWN_KEYS = ("image_shape", "levels", "condition_features")


@keras.saving.register_keras_serializable(package="pixelrnn_keras")
class MultiScalePixelRNN(ImageLikelihoodModel):
    """Two PixelRNNs: an unconditional one for an s x s subsampling of the image, and a
    conditional one for the n x n image given that s x s image.

    Subsampling: x_s = x[:, ::f, ::f, :] with f = n // s, i.e. the pixels (i, j) with i and j
    multiples of f ("the grid"); n must be a multiple of s.

    Conditioning: a small unmasked network maps x_s (scaled to [-1, 1]) to a
    (batch, n, n, condition_features) map: `condition_layers` 3x3 convolutions with ReLU at
    s x s (so that each position sees a (2 * condition_layers + 1)^2 neighbourhood of x_s),
    then a transposed convolution with kernel f and stride f (each s x s position spreads to
    its f x f block; the paper's "deconvolutional" upsampling). In the conditional network a
    1x1 convolution of this map is added to the first convolution's output and to every
    block's input-to-state map (see `PixelRNN`'s `condition_features`).

    Likelihood, exact and normalized: since x_s is a deterministic function of x,

        log p(x) = log p(x_s) + log p(x | x_s),

    where log p(x_s) is the low network's log-likelihood of x_s and log p(x | x_s) sums the
    conditional network's log-probabilities of the sub-pixels NOT on the grid only (the grid's
    values are fixed by x_s), each given the sub-pixels before it and x_s. Summed over all
    n x n images, exp(log p(x)) is 1. (The paper's version also predicts the grid pixels,
    which gives a sub-normalized density.) `log_prob` returns log p(x) in nats;
    `log_prob_terms` returns both terms.

    Call: integer images (batch, n, n, C) -> (low logits (batch, s, s, C, levels), high logits
    (batch, n, n, C, levels)); the high logits at grid pixels are computed but unused.
    Training: `model.compile(optimizer)` then `model.fit(images)` on n x n images alone; the
    loss is -log p(x) in nats per image.
    Sampling: `sample` and `complete` draw x_s first, then the other pixels given x_s (see
    `pixelrnn_keras.sampling.two_stage`).

    Args:
        image_shape: (n, n, C).
        low_size: s, with n a multiple of s and s < n.
        levels: number of intensity levels.
        low: `PixelRNN` arguments of the s x s network (arch, num_layers, hidden, ...), without
            image_shape and levels.
        high: the same for the conditional n x n network.
        condition_features: c, maps of the upsampled condition.
        condition_layers: 3x3 convolutions at s x s before upsampling (0: none).
    """

    def __init__(
        self,
        image_shape,
        low_size,
        levels=256,
        low=None,
        high=None,
        condition_features=16,
        condition_layers=2,
        **kwargs,
    ):
        super().__init__(**kwargs)
        image_shape = tuple(int(v) for v in image_shape)
        if len(image_shape) != 3 or image_shape[0] != image_shape[1] or min(image_shape) < 1:
            raise ValueError(f"image_shape must be (n, n, channels) with square images, got {image_shape}")
        n = image_shape[0]
        if isinstance(low_size, bool) or int(low_size) != low_size or not 1 <= low_size < n or n % low_size:
            raise ValueError(f"low_size must be an int s with 1 <= s < {n} and {n} a multiple of s, got {low_size!r}")
        if int(condition_features) < 1 or int(condition_layers) < 0:
            raise ValueError(
                f"condition_features must be >= 1 and condition_layers >= 0, got {condition_features}, {condition_layers}"
            )
        self.image_shape = image_shape
        self.low_size = int(low_size)
        self.levels = int(levels)
        self.low_config = dict(low or {"arch": "pixelcnn"})
        self.high_config = dict(high or {"arch": "pixelcnn"})
        for name, config in (("low", self.low_config), ("high", self.high_config)):
            clash = sorted(set(config) & set(_OWN_KEYS))
            if clash or "arch" not in config:
                raise ValueError(f"{name} must be PixelRNN arguments with 'arch' and without {_OWN_KEYS}; got {config}")
        self.condition_features = int(condition_features)
        self.condition_layers = int(condition_layers)

        dtype = self.dtype_policy
        channels = image_shape[-1]
        low_shape = (self.low_size, self.low_size, channels)
        self.low = PixelRNN(image_shape=low_shape, levels=self.levels, **self.low_config, name="low", dtype=dtype)
        self.high = PixelRNN(
            image_shape=image_shape,
            levels=self.levels,
            condition_features=self.condition_features,
            **self.high_config,
            name="high",
            dtype=dtype,
        )
        c = self.condition_features
        self.condition_convs = [
            keras.layers.Conv2D(c, 3, padding="same", activation="relu", name=f"condition_conv_{k}", dtype=dtype)
            for k in range(self.condition_layers)
        ]
        self.condition_upsample = keras.layers.Conv2DTranspose(
            c, self.factor, strides=self.factor, name="condition_upsample", dtype=dtype
        )
        self.build((None, *self.image_shape))

    @property
    def factor(self):
        """f = n // s: the grid's step."""
        return self.image_shape[0] // self.low_size

    @property
    def channels(self):
        return self.image_shape[-1]

    def build(self, input_shape=None):
        if self.built:
            return
        shape = (None, self.low_size, self.low_size, self.channels)
        for conv in self.condition_convs:
            conv.build(shape)
            shape = (*shape[:-1], self.condition_features)
        self.condition_upsample.build(shape)
        self.built = True

    def grid_mask(self):
        """(n, n) bool numpy array: True at the pixels of the subsampled image."""
        return grid_mask(*self.image_shape[:2], self.factor)

    def subsample(self, images):
        """x_s = images[:, ::f, ::f, :], (batch, s, s, C) int32."""
        images = check_images(images, self.image_shape, self.levels)
        return images[:, :: self.factor, :: self.factor]

    def condition_map(self, low_images):
        """The conditioning map (batch, n, n, condition_features) of s x s images (batch, s, s, C)."""
        x = scale_images(low_images, self.levels, self.compute_dtype)
        for conv in self.condition_convs:
            x = conv(x)
        return self.condition_upsample(x)

    def call(self, images):
        images = check_images(images, self.image_shape, self.levels)
        low_images = images[:, :: self.factor, :: self.factor]
        return self.low(low_images), self.high(images, self.condition_map(low_images))

    def log_prob_terms_from_logits(self, images, logits):
        """(log p(x_s), log p(x | x_s)), (batch,) each, in nats, from the logits of `call`."""
        images = check_images(images, self.image_shape, self.levels)
        low_logits, high_logits = logits
        low = self.low.log_prob_from_logits(images[:, :: self.factor, :: self.factor], low_logits)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=images, logits=tf.cast(high_logits, tf.float32))
        off_grid = tf.constant(~self.grid_mask()[None, :, :, None], tf.float32)
        return low, -tf.reduce_sum(nll * off_grid, axis=[1, 2, 3])

    def log_prob_from_logits(self, images, logits):
        """(batch,) log p(x) in nats from the logits of `call`: the sum of `log_prob_terms_from_logits`."""
        low, high = self.log_prob_terms_from_logits(images, logits)
        return low + high

    def log_prob_terms(self, images):
        """(log p(x_s), log p(x | x_s)), (batch,) each, in nats; their sum is `log_prob`."""
        images = check_images(images, self.image_shape, self.levels)
        return self._log_prob_terms_fn(images)

    def log_prob(self, images):
        """(batch,) exact log-likelihood log p(x) = log p(x_s) + log p(x | x_s) of each n x n image, in nats."""
        low, high = self.log_prob_terms(images)
        return low + high

    @tf.function(reduce_retracing=True)
    def _log_prob_terms_fn(self, images):
        with forward_only():
            return self.log_prob_terms_from_logits(images, self(images))

    def stages(self):
        """[Stage]: the low network over x_s, then the high network over the sub-pixels off the
        grid given x_s (see models/stages.py)."""
        s = self.low_size
        return [
            Stage("low", self.low, self.factor, np.ones((s, s), bool)),
            Stage("high", self.high, 1, ~self.grid_mask(), self._condition_of_grid),
        ]

    def _condition_of_grid(self, images, labels):
        """The high stage's condition: the map of the sub-pixels of x_s in `images` (no labels)."""
        return self.condition_map(images[:, :: self.factor, :: self.factor])

    # Sampling, in two stages (pixelrnn_keras.sampling.two_stage, imported when called as in PixelRNN).

    def sample(self, num, seed=None, temperature=1.0, method="cached", wavefront=True):
        """(num, n, n, C) int32 images: x_s from the low network, then the rest given x_s
        (`wavefront`: as in `pixelrnn_keras.sampling.sample`)."""
        from pixelrnn_keras.sampling import two_stage

        if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 1:
            raise ValueError(f"num must be an int >= 1, got {num!r}")
        shape = (int(num), *self.image_shape)
        images, _ = two_stage.draw(
            self,
            tf.zeros(shape, tf.int32),
            tf.zeros(shape, tf.bool),
            seed,
            temperature,
            method,
            keep_logits=False,
            wavefront=wavefront,
        )
        return images

    def complete(self, images, known, seed=None, temperature=1.0, method="cached", wavefront=True):
        """`images` with the sub-pixels where `known` is False drawn in two stages.

        Stage 1 completes x_s given its known sub-pixels (known sub-pixels off the grid are not
        seen by it); stage 2 draws the remaining off-grid sub-pixels in raster order given x_s.
        """
        from pixelrnn_keras.sampling import two_stage

        images, known = check_completion_args(images, known, self.image_shape, self.levels)
        completed, _ = two_stage.draw(
            self, images, known, seed, temperature, method, keep_logits=False, wavefront=wavefront
        )
        return completed

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=self.image_shape,
            low_size=self.low_size,
            levels=self.levels,
            low=self.low_config,
            high=self.high_config,
            condition_features=self.condition_features,
            condition_layers=self.condition_layers,
        )
        return config
