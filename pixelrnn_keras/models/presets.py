"""The paper's network sizes (van den Oord et al. 2016, sections 5.3-5.4), as plain data."""

PAPER_PRESETS = {
    "mnist_diagonal_bilstm": dict(
        arch="diagonal_bilstm", image_shape=(28, 28, 1), levels=2, num_layers=7, hidden=16, head_units=32
    ),
    "cifar10_pixelcnn": dict(
        arch="pixelcnn", image_shape=(32, 32, 3), levels=256, num_layers=15, hidden=128, head_units=1024
    ),
    "cifar10_row_lstm": dict(
        arch="row_lstm", image_shape=(32, 32, 3), levels=256, num_layers=12, hidden=128, head_units=1024
    ),
    "cifar10_diagonal_bilstm": dict(
        arch="diagonal_bilstm", image_shape=(32, 32, 3), levels=256, num_layers=12, hidden=128, head_units=1024
    ),
}


def preset_config(name, **overrides):
    """The config of a paper preset, with `overrides` applied; raises ValueError for unknown names."""
    if name not in PAPER_PRESETS:
        raise ValueError(f"name must be one of {sorted(PAPER_PRESETS)}, got {name!r}")
    return {**PAPER_PRESETS[name], **overrides}
