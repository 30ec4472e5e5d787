"""The model to export: a zoo name or a `.keras` file."""

import os

import keras

from pixelrnn_keras.models import PixelRNN


def load_model(name_or_file):
    """A `PixelRNN` from a zoo name (bundled weights) or a `.keras` file saved with `model.save`.

    Raises:
        ValueError: neither a zoo name nor an existing `.keras` file, a zoo entry without
            weights, or a file that Keras cannot load or that holds no PixelRNN.
    """
    from pixelrnn_keras.zoo import list_models, load

    text = os.fspath(name_or_file)
    if text in list_models():
        return load(text)
    if not (text.endswith(".keras") and os.path.isfile(text)):
        raise ValueError(f"model must be a zoo name (one of {list_models()}) or an existing .keras file; got {text!r}")
    try:
        model = keras.models.load_model(text)
    except Exception as err:  # Keras raises many types for broken or foreign files
        raise ValueError(f"model: could not load {text!r}: {err}") from err
    return check_model(model)


def check_model(model):
    if not isinstance(model, PixelRNN):
        raise ValueError(f"model must be a pixelrnn_keras PixelRNN, got {type(model).__name__}")
    return model
