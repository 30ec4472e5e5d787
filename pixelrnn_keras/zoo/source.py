"""The model a command works on: a zoo name or a `.keras` file."""

import os

import keras

from pixelrnn_keras.zoo.registry import MODEL_CLASSES, get_card, list_models, load


def load_model(name_or_file):
    """A `PixelRNN` or `MultiScalePixelRNN` from a zoo name (bundled weights) or a `.keras` file
    saved with `model.save`.

    Raises:
        ValueError: neither a zoo name nor an existing `.keras` file, a zoo entry without
            weights, or a file that Keras cannot load or that holds no model of this package.
    """
    text = os.fspath(name_or_file)
    if text in list_models():
        if get_card(text).weights is None:
            raise ValueError(
                f"model: {text!r} has no pretrained weights yet, so there is nothing to export; save trained "
                f"weights as a .keras file and export that, e.g. pixelrnn_keras.zoo.load({text!r}, "
                f"weights='runs/{text}/final.weights.h5').save('{text}.keras')"
            )
        return load(text)
    if not (text.endswith(".keras") and os.path.isfile(text)):
        raise ValueError(f"model must be a zoo name (one of {list_models()}) or an existing .keras file; got {text!r}")
    try:
        model = keras.models.load_model(text)
    except Exception as err:  # Keras raises many types for broken or foreign files
        raise ValueError(f"model: could not load {text!r}: {err}") from err
    if not isinstance(model, tuple(MODEL_CLASSES.values())):
        raise ValueError(f"model: {text!r} holds a {type(model).__name__}, not a PixelRNN or MultiScalePixelRNN")
    return model
