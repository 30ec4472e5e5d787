"""The registry of cores: the layer inside each residual block, by arch name.

A core is a Keras layer registered with `@register_core(name)`; `ResidualBlock` and `PixelRNN`
build and drive it through this interface only, so a new arch is one module and its tests.

Class attributes:
    reduces_input: the block reduces its 2h inputs to h with ReLU, a 1x1 mask-B convolution
        and ReLU before the core (PixelCNN); otherwise the core reads the 2h inputs itself.
    reads_row_context: the core takes the image itself as `row_context` (Diagonal BiLSTM).
    side_stream: the core also carries a map from block to block beside the residual stream
        (Gated PixelCNN's vertical stack): its `row_context` is the map the block before
        returned (the image for the first block), `call` returns (outputs, its map (batch, H, W,
        side_features)), and `end_row` returns (cache, its map's row i (batch, W, side_features))
        from the row before's (the image row for the first block); `build(inputs_shape,
        row_context_shape)` as for `reads_row_context`; instances have `side_features`.
    gate_bias_per_unit: features of the `gate_bias` map per hidden unit (a conditional model's
        per-pixel bias of the core's input-to-state pre-activations).
    scans_lstm: the core runs an LSTM scan over the image (layers/lstm_scan.py), which keeps
        its activations for the gradient unless under `forward_only`.

Methods:
    for_block(hidden, color_groups, kernel_size, **layer_kwargs): the core of one block.
    call(inputs, row_context=None, gate_bias=None): (batch, H, W, in) -> (batch, H, W, hidden).
    init_cache(batch, height, width, dtype, gate_bias=None), step(cache, inputs, i, j) ->
        (outputs (batch, hidden), cache), end_row(cache, i, row_context=None): the one-pixel
        steps (see layers/incremental.py); `end_row` of a `side_stream` core returns (cache, row).
    forward_flops(height, width, hidden, channels, kernel_size): the core's useful FLOPs per
        image (one multiply-add = 2), for `bench/train.py`.
"""

import keras

CORES = {}


def register_core(name):
    """Class decorator: registers a core layer under the arch `name`."""

    def register(cls):
        if name in CORES:
            raise ValueError(f"arch {name!r} is registered already (by {CORES[name].__name__})")
        cls.arch = name
        CORES[name] = cls
        return cls

    return register


def list_archs():
    """The registered arch names, sorted."""
    return tuple(sorted(CORES))


def core_class(arch):
    """The core layer class of `arch`; unknown names raise ValueError listing the registered ones."""
    if arch not in CORES:
        raise ValueError(f"arch must be one of {list_archs()}, got {arch!r}")
    return CORES[arch]


def set_core_arguments(core, units, color_groups, kernel_initializer, kernel_size=None):
    """Checks the constructor arguments the cores share and sets them on `core` as `units`,
    `color_groups`, `kernel_initializer` and, for a core with one, `kernel_size` (odd, as its
    masks centre on the pixel). A bad value raises ValueError naming its argument."""
    if int(units) < 1:
        raise ValueError(f"units must be a positive int, got {units}")
    if int(color_groups) < 1:
        raise ValueError(f"color_groups must be a positive int, got {color_groups}")
    if kernel_size is not None:
        if int(kernel_size) < 1 or int(kernel_size) % 2 == 0:
            raise ValueError(f"kernel_size must be an odd positive int, got {kernel_size}")
        core.kernel_size = int(kernel_size)
    core.units = int(units)
    core.color_groups = int(color_groups)
    core.kernel_initializer = keras.initializers.get(kernel_initializer)


def core_arguments_config(core):
    """The `get_config` entries of the arguments `set_core_arguments` set on `core`."""
    config = dict(
        units=core.units,
        color_groups=core.color_groups,
        kernel_initializer=keras.initializers.serialize(core.kernel_initializer),
    )
    if hasattr(core, "kernel_size"):
        config["kernel_size"] = core.kernel_size
    return config


def conv_flops(height, width, kernel_height, kernel_width, in_features, out_features):
    """FLOPs of a (masked) convolution, 'SAME', stride 1, at its full dense kernel's cost."""
    return 2 * height * width * kernel_height * kernel_width * in_features * out_features
