"""The PixelRNN family of networks (paper, Table 1): PixelCNN, Row LSTM, Diagonal BiLSTM; and the
Gated PixelCNN (van den Oord et al., 2016)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike

from pixelrnn_keras.checks import check_images, check_labels
from pixelrnn_keras.layers.cores import core_class
from pixelrnn_keras.layers.incremental import read_at
from pixelrnn_keras.layers.lstm_scan import forward_only
from pixelrnn_keras.layers.masked_conv import MaskedConv2D
from pixelrnn_keras.layers.residual import ResidualBlock
from pixelrnn_keras.layers.wavefront import Wavefront, columns_of, group_columns
from pixelrnn_keras.models.objective import ImageLikelihoodModel
from pixelrnn_keras.models.stages import Stage


def scale_images(images, levels, dtype="float32"):
    """Integer images in [0, levels) -> floats in [-1, 1]."""
    return tf.cast(images, dtype) * (2.0 / (levels - 1)) - 1.0


@keras.saving.register_keras_serializable(package="pixelrnn_keras")
class PixelRNN(ImageLikelihoodModel):
    """An autoregressive image model with a `levels`-way softmax for every sub-pixel.

    Layout (paper, Table 1): a 7x7 mask-A convolution to 2h maps; `num_layers` residual
    blocks of the chosen `arch`; ReLU and a 1x1 mask-B convolution to `head_units` maps;
    ReLU and a 1x1 mask-B convolution to the logits. With `skip_connections`, a learned
    1x1 projection of every block's output is added to the input of the head.

    Sub-pixels are ordered in raster order over pixels, then R, G, B: the logits of a
    sub-pixel depend only on the sub-pixels before it. Binary images use `levels=2`
    (a two-way softmax, equivalent to the paper's sigmoid).

    Call: integer images (batch, H, W, C) in [0, levels) -> logits (batch, H, W, C, levels).
    Training: `model.compile(optimizer)` then `model.fit(images)`; the images are their own
    target and the loss is the negative log-likelihood in nats per image.

    Args:
        arch: the name of a registered core (`pixelrnn_keras.layers.list_archs()`): pixelcnn,
            row_lstm, diagonal_bilstm or gated_pixelcnn.
        image_shape: (H, W, C); C is 1 (grey or binary) or 3 (RGB).
        levels: number of intensity levels (2 for binary, 256 for 8-bit images).
        num_layers: number of residual blocks.
        hidden: h; the residual stream has 2h maps.
        head_units: maps of the hidden 1x1 layer of the output head (paper: 32 for MNIST,
            1024 for CIFAR-10).
        kernel_size: k of the Row LSTM's k x 1 convolutions, of PixelCNN's k x k ones and of the
            Gated PixelCNN's 1 x k and (k//2 + 1) x k ones.
        first_kernel_size: size of the first mask-A convolution.
        skip_connections: add learned skip connections from every block to the head.
        condition_features: c > 0 makes the network conditional (the upper scale of a
            `MultiScalePixelRNN`): every call then takes a `condition` map (batch, H, W, c),
            and a 1x1 unmasked convolution of it is added to the first convolution's output
            and to every block's input-to-state map (see `ResidualBlock`). The map must not
            depend on the image being modelled. 0: unconditional (no extra weights).
        num_classes: K > 0 makes the model class-conditional: every call takes `labels`
            (batch,) ints in [0, K), and the label enters as a learned per-class bias of the
            first convolution and of every block's input-to-state pre-activations (the
            condition mechanism above, fed the label's one-hot map). Its `classify` gives
            log p(y | x) by Bayes' rule. 0: unconditional (no extra weights).
    """

    def __init__(
        self,
        arch,
        image_shape,
        levels=256,
        num_layers=2,
        hidden=16,
        head_units=32,
        kernel_size=3,
        first_kernel_size=7,
        skip_connections=False,
        condition_features=0,
        num_classes=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._reads_row_context = core_class(arch).reads_row_context
        self._side_stream = core_class(arch).side_stream
        self.arch = arch
        image_shape = tuple(int(s) for s in image_shape)
        if len(image_shape) != 3 or min(image_shape) < 1:
            raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}")
        if int(levels) < 2:
            raise ValueError(f"levels must be an int >= 2, got {levels}")
        if int(num_layers) < 1 or int(hidden) < image_shape[-1]:
            raise ValueError(
                f"num_layers must be >= 1 and hidden >= channels ({image_shape[-1]}); "
                f"got num_layers={num_layers}, hidden={hidden}"
            )
        self.image_shape = image_shape
        self.levels = int(levels)
        self.num_layers = int(num_layers)
        self.hidden = int(hidden)
        self.head_units = int(head_units)
        self.kernel_size = int(kernel_size)
        self.first_kernel_size = int(first_kernel_size)
        self.skip_connections = bool(skip_connections)
        if int(condition_features) < 0:
            raise ValueError(f"condition_features must be an int >= 0, got {condition_features}")
        self.condition_features = int(condition_features)
        if int(num_classes) < 0 or (int(num_classes) and self.condition_features):
            raise ValueError(
                f"num_classes must be an int >= 0, and 0 for a model with condition_features; got {num_classes}"
            )
        self.num_classes = int(num_classes)
        # A class-conditional model's condition is its labels' one-hot map.
        self._condition_width = self.condition_features or self.num_classes

        groups = self.channels
        width = 2 * self.hidden
        dtype = self.dtype_policy
        self.input_conv = MaskedConv2D(width, self.first_kernel_size, "A", groups, name="input_conv", dtype=dtype)
        self.blocks = [
            ResidualBlock(
                self.arch, self.hidden, groups, self.kernel_size, self._condition_width, name=f"block_{i}", dtype=dtype
            )
            for i in range(self.num_layers)
        ]
        self.input_condition = (
            keras.layers.Dense(width, name="input_condition", dtype=dtype) if self._condition_width else None
        )
        self.skips = (
            [MaskedConv2D(width, 1, "B", groups, name=f"skip_{i}", dtype=dtype) for i in range(self.num_layers)]
            if self.skip_connections
            else []
        )
        self.head_hidden = MaskedConv2D(self.head_units, 1, "B", groups, name="head_hidden", dtype=dtype)
        # Logits in float32 under a mixed policy too: bfloat16 would round them by up to ~0.4%.
        logits_dtype = keras.DTypePolicy(dtype.variable_dtype)
        self.head_logits = MaskedConv2D(groups * self.levels, 1, "B", groups, name="head_logits", dtype=logits_dtype)
        self.build((None, *self.image_shape))

    @property
    def channels(self):
        return self.image_shape[-1]

    def build(self, input_shape=None):
        if self.built:
            return
        height, width, channels = self.image_shape
        image = (None, height, width, channels)
        stream = (None, height, width, 2 * self.hidden)
        self.input_conv.build(image)
        if self.input_condition is not None:
            self.input_condition.build((None, height, width, self._condition_width))
        context = image if self._reads_row_context or self._side_stream else None
        for block in self.blocks:
            block.build(stream, context)
            if self._side_stream:
                context = (None, height, width, block.core.side_features)
        for skip in self.skips:
            skip.build(stream)
        self.head_hidden.build(stream)
        self.head_logits.build((None, height, width, self.head_units))
        if self.num_classes:
            # log p(y) up to a constant, for `classify`; uniform until `set_class_prior`.
            self.class_prior_logits = self.add_weight(
                name="class_prior_logits", shape=(self.num_classes,), initializer="zeros", trainable=False
            )
        self.built = True

    def _check_condition(self, condition):
        """`condition` as a (batch, H, W, c) map in the compute dtype, or None for an unconditional model."""
        if not self._condition_width:
            if condition is not None:
                raise ValueError("condition must be None: this model was built with condition_features=0")
            return None
        expected = (*self.image_shape[:2], self._condition_width)
        shape = None if condition is None else tuple(condition.shape)
        if shape is None or len(shape) != 4 or any(s is not None and s != e for s, e in zip(shape[1:], expected)):
            raise ValueError(f"condition must be a map of shape (batch, {', '.join(map(str, expected))}), got {shape}")
        return tf.cast(condition, self.compute_dtype)

    def _condition_map(self, condition, labels, batch=None):
        """The condition map of a call: from `labels` for a class-conditional model (or the map
        `label_condition` made of them, as the samplers pass it on), else `condition` checked."""
        if labels is None:
            if self.num_classes and condition is None:
                raise ValueError(f"labels must be given: this model was built with num_classes={self.num_classes}")
            return self._check_condition(condition)
        if not self.num_classes:
            raise ValueError("labels must be None: this model was built with num_classes=0 (unconditional)")
        if condition is not None:
            raise ValueError("condition must be None when labels are given")
        return self.label_condition(labels, batch)

    def label_condition(self, labels, batch=None):
        """The condition map (batch, H, W, K) of class `labels` (batch,): each label's one-hot vector
        at every pixel. `batch`: the number of images labelled, if known (checked)."""
        labels = check_labels(labels, self.num_classes, batch)
        one_hot = tf.one_hot(labels, self.num_classes, dtype=self.compute_dtype)[:, None, None, :]
        return tf.broadcast_to(one_hot, [tf.shape(labels)[0], *self.image_shape[:2], self.num_classes])

    def call(self, images, condition=None, labels=None):
        if isinstance(images, (tuple, list)):  # (images, labels), as `fit` passes them
            images, labels = images
        images = check_images(images, self.image_shape, self.levels)
        condition = self._condition_map(condition, labels, images.shape[0])
        x = scale_images(images, self.levels, self.compute_dtype)
        stream = self.input_conv(x)
        if condition is not None:
            stream = stream + self.input_condition(condition)
        skipped = stream
        # The image, for every block of a core that reads it, or the first block's side stream.
        context = x if self._reads_row_context or self._side_stream else None
        for i, block in enumerate(self.blocks):
            stream = block(stream, context, condition) if condition is not None else block(stream, context)
            if self._side_stream:
                stream, context = stream
            if self.skips:
                skipped = skipped + self.skips[i](stream)
        head_in = skipped if self.skips else stream
        logits = self.head_logits(tf.nn.relu(self.head_hidden(tf.nn.relu(head_in))))
        shape = tf.shape(logits)
        return tf.reshape(logits, [shape[0], *self.image_shape, self.levels])

    def log_prob_from_logits(self, images, logits):
        """(batch,) log-likelihood in nats of integer `images` under `logits`."""
        images = check_images(images, self.image_shape, self.levels)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=images, logits=tf.cast(logits, tf.float32))
        return -tf.reduce_sum(nll, axis=[1, 2, 3])

    def log_prob(
        self, images: ArrayLike, condition: tf.Tensor | None = None, labels: ArrayLike | None = None
    ) -> tf.Tensor:
        """(batch,) log-likelihood of each image in nats (given `condition`, or the class `labels`
        (batch,) of a class-conditional model: log p(x | y)).

        See `nats_to_bits_per_dim` for bits/dim."""
        images = check_images(images, self.image_shape, self.levels)
        condition = self._condition_map(condition, labels, images.shape[0])
        if condition is None:
            return self._log_prob_fn(images)
        return self._conditional_log_prob_fn(images, condition)

    def classify(self, images: ArrayLike, batch_size: int = 64) -> tf.Tensor:
        """(batch, K) log p(y | x) of a class-conditional model, by Bayes' rule from log p(x | y)
        for every class y and the class prior (`set_class_prior`; uniform unless set): a
        generative classifier. Rows sum to 1 in probability; argmax is the predicted class."""
        joint = self.class_log_likelihoods(images, batch_size) + tf.nn.log_softmax(self.class_prior_logits)
        return joint - tf.reduce_logsumexp(joint, axis=1, keepdims=True)

    def class_log_likelihoods(self, images, batch_size=64):
        """(batch, K) log p(x | y) in nats of a class-conditional model, for every class y."""
        if not self.num_classes:
            raise ValueError("classify needs a class-conditional model (num_classes > 0)")
        images = check_images(images, self.image_shape, self.levels)
        parts = []
        for start in range(0, int(images.shape[0]), batch_size):
            chunk = images[start : start + batch_size]
            count = int(chunk.shape[0])
            parts.append(
                tf.stack([self.log_prob(chunk, labels=tf.fill([count], y)) for y in range(self.num_classes)], axis=1)
            )
        return tf.concat(parts, axis=0)

    def set_class_prior(self, labels: ArrayLike) -> None:
        """Sets the class prior of `classify` to the class frequencies of `labels` (e.g. the
        training labels); every class keeps a count of at least 1."""
        labels = check_labels(labels, self.num_classes)
        counts = np.bincount(np.asarray(labels), minlength=self.num_classes) + 1
        self.class_prior_logits.assign(np.log(counts / counts.sum()).astype("float32"))

    @tf.function(reduce_retracing=True)
    def _log_prob_fn(self, images):
        with forward_only():
            return self.log_prob_from_logits(images, self(images))

    @tf.function(reduce_retracing=True)
    def _conditional_log_prob_fn(self, images, condition):
        with forward_only():
            return self.log_prob_from_logits(images, self(images, condition))

    # Sampling: the samplers live in pixelrnn_keras.sampling, a floor above the models, so these
    # two methods import it when called (tests/test_layering.py lists them as its exemptions).

    def sample(
        self,
        num: int,
        seed: int | None = None,
        temperature: float = 1.0,
        method: str = "cached",
        labels: int | ArrayLike | None = None,
        wavefront: bool = True,
    ) -> tf.Tensor:
        """(num, H, W, C) int32 images drawn from the model; see `pixelrnn_keras.sampling.sample`
        (`wavefront` too).

        labels: for a class-conditional model, the class of every image: an int for all, or (num,)."""
        from pixelrnn_keras import sampling

        condition = self._condition_map(None, _labels_for(labels, num), num if isinstance(num, int) else None)
        return sampling.sample(
            self, num, seed=seed, temperature=temperature, method=method, condition=condition, wavefront=wavefront
        )

    def complete(
        self,
        images: ArrayLike,
        known: ArrayLike,
        seed: int | None = None,
        temperature: float = 1.0,
        method: str = "cached",
        labels: int | ArrayLike | None = None,
        wavefront: bool = True,
    ) -> tf.Tensor:
        """`images` with the sub-pixels where `known` is False drawn from the model, in order;
        see `pixelrnn_keras.sampling.complete`. labels, wavefront: as in `sample`, for every image."""
        from pixelrnn_keras import sampling

        num = len(images)
        condition = self._condition_map(None, _labels_for(labels, num), num)
        return sampling.complete(
            self,
            images,
            known,
            seed=seed,
            temperature=temperature,
            method=method,
            condition=condition,
            wavefront=wavefront,
        )

    def stages(self):
        """[Stage]: the model's one stage, its network over the whole image, conditioned on the
        labels of a class-conditional model (see models/stages.py)."""
        if self.condition_features:
            raise ValueError(
                "this network's condition comes from outside (condition_features > 0): "
                "it is a stage of the model that makes its condition"
            )
        height, width, _ = self.image_shape
        condition = (lambda images, labels: self.label_condition(labels)) if self.num_classes else None
        return [Stage("image", self, 1, np.ones((height, width), bool), condition)]

    # One pixel at a time, in raster order: the `PixelSteps` protocol (models/steps.py) that the
    # cached sampler, the codec and the exporter drive.

    def init_cache(self, batch, condition=None, labels=None):
        """Every layer's cache before the first pixel: (input_conv, blocks, skips, head_hidden, head_logits),
        and for a conditional model the first convolution's bias map (batch, H, W, 2h) from `condition`
        (or from the class `labels`, for a class-conditional model).

        The blocks compute their bias maps from `condition` here, once per sampling run.
        """
        height, width, _ = self.image_shape
        return self._init_cache(batch, condition, labels, lambda layer, *a: layer.init_cache(batch, height, width, *a))

    def step(self, cache, pixel, i, j, channel):
        """Logits of sub-pixel (i, j, `channel`), (batch, levels), and the cache advanced past pixel (i, j).

        `pixel` (batch, C) int32 holds the pixel's known channels; the logits of `channel` (an int)
        depend only on channels before it, so the others may hold anything. Only that channel's
        logits are computed: the head's last product is most of a step's arithmetic at 256 levels.
        """
        return self._step(
            cache, pixel, channel, lambda layer, c, x: layer.step(c, x, i, j), lambda bias: read_at(bias, i, j)
        )

    def _init_cache(self, batch, condition, labels, init):
        """The caches, each from `init(layer, dtype, *its condition map)`."""
        dtype = self.compute_dtype
        condition = self._condition_map(condition, labels, batch if isinstance(batch, int) else None)
        cache = (
            init(self.input_conv, dtype),
            tuple(init(block, dtype, condition) for block in self.blocks),
            tuple(init(skip, dtype) for skip in self.skips),
            init(self.head_hidden, dtype),
            init(self.head_logits, dtype),
        )
        return cache if condition is None else (*cache, self.input_condition(condition))

    def _step(self, cache, pixel, channel, step, read_bias):
        """A step at the pixels `step(layer, layer_cache, inputs)` steps every layer at, whose values of
        the first convolution's bias map `read_bias(map)` reads."""
        conv_cache, block_caches, skip_caches, hidden_cache, logits_cache, *input_bias = cache
        x = scale_images(pixel, self.levels, self.compute_dtype)
        stream, conv_cache = step(self.input_conv, conv_cache, x)
        if input_bias:
            stream = stream + read_bias(input_bias[0])
        skipped = stream
        block_caches, skip_caches = list(block_caches), list(skip_caches)
        for k, block in enumerate(self.blocks):
            stream, block_caches[k] = step(block, block_caches[k], stream)
            if self.skips:
                skip, skip_caches[k] = step(self.skips[k], skip_caches[k], stream)
                skipped = skipped + skip
        head_in = skipped if self.skips else stream
        hidden, hidden_cache = step(self.head_hidden, hidden_cache, tf.nn.relu(head_in))
        # The logits are grouped by channel, as `call` reshapes them.
        start = channel * self.levels
        logits = self.head_logits.step_outputs(logits_cache, tf.nn.relu(hidden), start, start + self.levels)
        cache = conv_cache, tuple(block_caches), tuple(skip_caches), hidden_cache, logits_cache, *input_bias
        return logits, cache

    def end_pixel(self, cache, pixel, i, j):
        """Pixel (i, j) is complete with values `pixel` (batch, C) int32.

        Every feature at (i, j) is already final after `step` for the last channel (no feature
        of a pixel sees its last channel), except the image itself, recorded here.
        """
        conv_cache, *rest = cache
        x = scale_images(pixel, self.levels, self.compute_dtype)
        return self.input_conv.write(conv_cache, x, i, j), *rest

    def end_row(self, cache, i, row):
        """Row i is complete with values `row` (batch, W, C) int32."""
        conv_cache, block_caches, *rest = cache
        return conv_cache, self._end_row(block_caches, i, scale_images(row, self.levels, self.compute_dtype)), *rest

    def _end_row(self, block_caches, i, row):
        """The blocks' caches after row i, whose scaled values are `row` (batch, W, C)."""
        context = row if self._reads_row_context or self._side_stream else None
        ended = []
        for block, block_cache in zip(self.blocks, block_caches):
            block_cache = block.end_row(block_cache, i, context)
            if self._side_stream:
                block_cache, context = block_cache
            ended.append(block_cache)
        return tuple(ended)

    # A diagonal of pixels at a time (layers/wavefront.py): the cached sampler's faster order, for
    # the archs whose cores read bounded neighbourhoods (and the Gated PixelCNN's, a pixel at a time).

    def wavefront(self):
        """The `Wavefront` this network's steps can take, or None where a core has no wavefront steps
        (the Diagonal BiLSTM: its core reads whole rows above at every step). A side stream (the
        Gated PixelCNN's vertical stack) is computed at each row's end: a pixel per step (slope = width)."""
        core = core_class(self.arch)
        if not hasattr(core, "wave_begin"):
            return None
        height, width, _ = self.image_shape
        slope = width if core.side_stream else max(self.first_kernel_size, self.kernel_size) // 2 + 1
        return Wavefront(height, width, slope)

    def wave_init_cache(self, batch, wave, condition=None, labels=None):
        """As `init_cache`, for `wave_step` along `wave` (`self.wavefront()`); with a side stream, the
        row being drawn is cached too: (width, batch, C) scaled values, the last entry."""
        cache = self._init_cache(batch, condition, labels, lambda layer, *a: layer.wave_init_cache(batch, wave, *a))
        if self._side_stream:
            cache = (*cache, tf.zeros([wave.width, batch, self.channels], self.compute_dtype))
        return cache

    def wave_step(self, cache, at, draw):
        """The wavefront step `at`: its pixels drawn channel by channel, each channel's call computing
        that colour group of every layer (layers/wavefront.py).

        Args:
            draw: (channel, its logits (slots * batch, levels)) -> the channel's values (slots * batch,)
                int32, called for channel 0, 1, ... in order.

        Returns:
            (the cache for the next step, the pixels' values (slots * batch, C) int32).
        """
        if self._side_stream:
            *cache, row = cache
        conv_cache, block_caches, skip_caches, hidden_cache, logits_cache, *input_bias = cache
        conv = self.input_conv.wave_begin(conv_cache, at)
        blocks = [block.wave_begin(block_cache, at) for block, block_cache in zip(self.blocks, block_caches)]
        skips = [skip.wave_begin(skip_cache, at) for skip, skip_cache in zip(self.skips, skip_caches)]
        hidden_state = self.head_hidden.wave_begin(hidden_cache, at)
        logits_state = self.head_logits.wave_begin(logits_cache, at)
        bias = at.read(input_bias[0]) if input_bias else None
        stream_columns = group_columns(2 * self.hidden, self.channels)
        values = []
        for c in range(self.channels):
            # The first convolution (mask A) sees the channels before c: the newest is c - 1.
            newest = scale_images(values[-1][:, None], self.levels, self.compute_dtype) if values else None
            stream, conv = self.input_conv.wave_group(conv, newest, c)
            if bias is not None:
                stream = stream + columns_of(bias, stream_columns[c])
            skipped = stream
            for k, block in enumerate(self.blocks):
                stream, blocks[k] = block.wave_group(blocks[k], stream, c)
                if self.skips:
                    skip, skips[k] = self.skips[k].wave_group(skips[k], stream, c)
                    skipped = skipped + skip
            hidden, hidden_state = self.head_hidden.wave_group(
                hidden_state, tf.nn.relu(skipped if self.skips else stream), c
            )
            logits, logits_state = self.head_logits.wave_group(logits_state, tf.nn.relu(hidden), c)
            values.append(draw(c, logits))
        pixels = tf.stack(values, axis=1)
        scaled = scale_images(pixels, self.levels, self.compute_dtype)
        if self._side_stream:  # one slot: the pixel, recorded in its row
            row = tf.tensor_scatter_nd_update(row, at.columns[:, None], scaled[None])
        cache = (
            self.input_conv.wave_end(conv, scaled),
            tuple(block.wave_end(state) for block, state in zip(self.blocks, blocks)),
            tuple(skip.wave_end(state) for skip, state in zip(self.skips, skips)),
            self.head_hidden.wave_end(hidden_state),
            self.head_logits.wave_end(logits_state),
            *input_bias,
        )
        return (*cache, row) if self._side_stream else cache, pixels

    def wave_end_row(self, cache, i):
        """The cache after row i's last step (one slot per step): a side stream's next row computed from
        the row recorded in the cache."""
        if not self._side_stream:
            return cache
        conv_cache, block_caches, *rest, row = cache
        return conv_cache, self._end_row(block_caches, i, tf.transpose(row, [1, 0, 2])), *rest, row

    def get_config(self):
        config = super().get_config()
        config.update(
            arch=self.arch,
            image_shape=self.image_shape,
            levels=self.levels,
            num_layers=self.num_layers,
            hidden=self.hidden,
            head_units=self.head_units,
            kernel_size=self.kernel_size,
            first_kernel_size=self.first_kernel_size,
            skip_connections=self.skip_connections,
        )
        if self.condition_features:  # unconditional configs stay as they were
            config.update(condition_features=self.condition_features)
        if self.num_classes:
            config.update(num_classes=self.num_classes)
        return config


def _labels_for(labels, num):
    """`labels` (batch,) for `num` images: one int stands for all of them."""
    if isinstance(labels, (int, np.integer)) and not isinstance(labels, bool) and isinstance(num, int):
        return np.full([num], labels, np.int32)
    return labels
