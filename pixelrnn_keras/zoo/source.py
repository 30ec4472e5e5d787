"""The model a command works on: a zoo name or a `.keras` file, with other weights if given."""

from __future__ import annotations

import os

import keras

from pixelrnn_keras.models import load_weights_exactly
from pixelrnn_keras.zoo.registry import MODEL_CLASSES, get_card, list_models, load


def check_model_source(name_or_file, weights=None):
    """Raise ValueError where `load_model(name_or_file, weights)` would fail for want of a model or
    weights, without loading anything: commands call it before they start working."""
    text = os.fspath(name_or_file)
    if weights is not None and "://" not in str(weights) and not os.path.isfile(weights):
        raise ValueError(f"weights: no such file {weights!r}")
    if text in list_models():
        if weights is None and get_card(text).weights is None:
            raise ValueError(
                f"model: {text!r} has no pretrained weights yet: pass --weights FILE (weights= in Python), "
                f"e.g. runs/{text}/final.weights.h5 from pixelrnn train"
            )
    elif not (text.endswith(".keras") and os.path.isfile(text)):
        raise ValueError(f"model must be a zoo name (one of {list_models()}) or an existing .keras file; got {text!r}")
    return text


def load_model(name_or_file: str, weights: str | None = None) -> keras.Model:
    """A `PixelRNN` or `MultiScalePixelRNN` from a zoo name or a `.keras` file saved with `model.save`.

    Args:
        name_or_file: a zoo name (with its bundled weights) or a `.keras` file.
        weights: None, or a ``.weights.h5`` file (or, for a zoo name, a URL; see `zoo.load`) to load
            instead of the bundled weights or over the file's.

    Raises:
        ValueError: see `check_model_source`; also weights or a file that Keras cannot load, or a
            file that holds no model of this package.
    """
    text = check_model_source(name_or_file, weights)
    if text in list_models():
        return load(text, weights=weights or "pretrained")
    try:
        model = keras.saving.load_model(text, compile=False)
        if not isinstance(model, tuple(MODEL_CLASSES.values())):
            raise ValueError(f"it holds a {type(model).__name__}, not a PixelRNN or MultiScalePixelRNN")
        if weights is not None:
            load_weights_exactly(model, weights)
    except Exception as err:  # Keras and h5py raise many types for broken or foreign files
        raise ValueError(f"model: could not load {text!r}{f' with {weights!r}' if weights else ''}: {err}") from err
    return model
