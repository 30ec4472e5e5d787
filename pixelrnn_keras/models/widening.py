"""A trained network's weights in a wider one (more hidden units h), so that it computes the same.

Every feature of the narrow network keeps its colour group in the wide one: feature p of group g
(of a block, e.g. an LSTM gate or a gated unit's half; see `layers.masks.channel_groups`) becomes
feature p of group g there, so the causal masks keep their meaning. The added features compute
from the others with their fresh weights, and every weight that reads them starts at zero: the
wide network's outputs are the narrow one's, and those zero weights get gradients at once.

A layer whose weights can be widened says how their axes are laid out: `feature_axes()` gives,
for each weight attribute, one `FeatureAxis` (or None: not a feature axis, e.g. a kernel's taps)
per axis (`layers.masks.FeatureAxis`): `MaskedConv2D` and every core.
"""

import numpy as np

from pixelrnn_keras.layers.masks import channel_groups


def wide_positions(narrow, wide, groups, blocks=1):
    """Index in a `wide`-feature axis of each feature of a `narrow` one, by (block, group, place).

    Raises:
        ValueError: a group of the narrow axis is larger than the wide one's.
    """
    narrow_groups = channel_groups(narrow // blocks, groups)
    wide_groups = channel_groups(wide // blocks, groups)
    narrow_start = np.searchsorted(narrow_groups, narrow_groups)
    wide_start = np.searchsorted(wide_groups, np.arange(groups))
    if (np.bincount(narrow_groups, minlength=groups) > np.bincount(wide_groups, minlength=groups)).any():
        raise ValueError(f"{narrow} features do not fit in {wide} group by group")
    in_block = wide_start[narrow_groups] + np.arange(narrow // blocks) - narrow_start
    return (np.arange(blocks)[:, None] * (wide // blocks) + in_block[None]).reshape(-1)


def widen(narrow, wide, axes, groups):
    """The weight `narrow` (an array) placed in the wide layer's freshly initialised weight `wide`.

    Args:
        axes: a `FeatureAxis` or None per axis of the weight.
        groups: the layer's colour groups.

    Returns:
        An array shaped like `wide`: `narrow` at the wide positions of its features, zero where it
        reads an added feature, `wide`'s values elsewhere (the added features' own weights).
    """
    out = np.array(wide, copy=True)
    positions = []
    for axis, (small, large) in enumerate(zip(narrow.shape, wide.shape)):
        if small == large:
            positions.append(np.arange(small))
            continue
        layout = axes[axis]
        if layout is None:
            raise ValueError(f"axis {axis} ({small} -> {large}) is not a feature axis")
        tail = layout.fixed_tail
        kept = np.concatenate(
            [wide_positions(small - tail, large - tail, groups, layout.blocks), np.arange(large - tail, large)]
        )
        if layout.reads:
            added = np.setdiff1d(np.arange(large), kept)
            out[(slice(None),) * axis + (added,)] = 0
        positions.append(kept)
    out[np.ix_(*positions)] = narrow
    return out


def widened_weights(narrow_model, wide_model):
    """{variable path inside the model: array}: every weight of `wide_model` from `narrow_model`'s
    (the same network with fewer hidden units; the paths without the model's own name).

    Raises:
        ValueError: a weight that differs in shape belongs to a layer that does not declare its
            `feature_axes` (a conditional model's condition layers).
    """
    axes = {}
    for layer in wide_model._flatten_layers(include_self=False):
        declared = getattr(layer, "feature_axes", None)
        for name, layout in (declared() if declared else {}).items():
            axes[inside_model(getattr(layer, name).path)] = (layout, layer.color_groups)
    narrow = {inside_model(v.path): v.numpy() for v in narrow_model.weights}
    weights = {}
    for variable in wide_model.weights:
        key, value = inside_model(variable.path), variable.numpy()
        if narrow[key].shape == value.shape:
            weights[key] = narrow[key]
        elif key in axes:
            weights[key] = widen(narrow[key], value, *axes[key])
        else:
            raise ValueError(
                f"cannot widen {key!r} {narrow[key].shape} -> {value.shape}: its layer declares no feature axes"
            )
    return weights


def inside_model(path):
    """A variable's path without the model's name, which differs between models."""
    return path.split("/", 1)[1]
