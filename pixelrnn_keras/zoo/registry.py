"""The model zoo: `list_models`, `get_card` and `load`."""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import os

import keras

from pixelrnn_keras.models import MultiScalePixelRNN, PixelRNN, load_weights_exactly
from pixelrnn_keras.zoo.cards import ModelCard, read_cards

_CARDS = read_cards()
MODEL_CLASSES = {"PixelRNN": PixelRNN, "MultiScalePixelRNN": MultiScalePixelRNN}


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of the zoo entries matching a shell-style `pattern`, e.g. "mnist_*"."""
    return sorted(name for name in _CARDS if fnmatch.fnmatch(name, pattern))


def get_card(name: str) -> ModelCard:
    """The `ModelCard` of `name`; unknown names raise ValueError listing the names and the closest match."""
    if name not in _CARDS:
        close = difflib.get_close_matches(str(name), list(_CARDS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"name must be one of {list_models()}; got {name!r}.{hint}")
    return _CARDS[name]


def build_model(card, dtype=None):
    """A freshly initialised model of `card` (its `model` class built from its `config`).

    dtype: a Keras dtype policy (e.g. "mixed_bfloat16", as a recipe's "precision" asks for
    training); None: the default, float32. The weights are float32 under either.
    """
    if card.model not in MODEL_CLASSES:
        raise ValueError(f"card {card.name!r}: model must be one of {sorted(MODEL_CLASSES)}, got {card.model!r}")
    extra = {} if dtype is None else {"dtype": dtype}
    return MODEL_CLASSES[card.model](**card.config, name=card.name, **extra)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load(name: str, weights: str | None = "pretrained", cache_dir: str | None = None) -> keras.Model:
    """A ready model (`PixelRNN` or `MultiScalePixelRNN`, as its card says) for zoo entry `name`.

    Args:
        name: a name from `list_models()`.
        weights: "pretrained" (the bundled file, checked against the card's sha256), None
            (fresh initialisation), a local ``.weights.h5`` path, or a URL (downloaded once
            into the Keras cache by `keras.utils.get_file` and checked against the card's sha256).
        cache_dir: where downloads are kept (default: the Keras cache, ``~/.keras``).

    Raises:
        ValueError: unknown name, no pretrained weights for this entry, or a weights file
            whose sha256 does not match the card (corrupt, truncated or another model's).
            No model is returned unless its weights loaded completely.
    """
    card = get_card(name)
    model = build_model(card)
    if weights is None:
        return model
    if weights == "pretrained":
        if card.weights is None:
            raise ValueError(
                f"weights: {name!r} has no pretrained weights yet (see its card); use weights=None "
                "for a fresh model or pass a weights file"
            )
        path = card.weights_path
        _check_sha256(path, card.weights["sha256"], name)
    elif isinstance(weights, str) and "://" in weights:
        if card.weights is None:
            raise ValueError(f"weights: {name!r} has no published sha256 to check a download against")
        if cache_dir is not None:
            os.makedirs(cache_dir, exist_ok=True)  # get_file falls back to /tmp/.keras for a missing folder
        path = keras.utils.get_file(
            fname=card.weights["file"],
            origin=weights,
            file_hash=card.weights["sha256"],
            cache_subdir="pixelrnn_keras",
            cache_dir=cache_dir,
        )
    elif isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights):
        path = weights
    else:
        raise ValueError(f"weights must be 'pretrained', None, an existing .weights.h5 file or a URL; got {weights!r}")
    try:
        load_weights_exactly(model, path)
    except Exception as err:  # h5py and Keras raise many types for broken or foreign files
        raise ValueError(f"weights: could not load {path!r} into {name!r}: {err}") from err
    return model


def _check_sha256(path, expected, name):
    if not os.path.isfile(path):
        raise ValueError(f"weights: the bundled file for {name!r} is missing: {path}")
    actual = sha256_of(path)
    if actual != expected:
        raise ValueError(
            f"weights: {path} has sha256 {actual}, but the card of {name!r} says {expected}; "
            "the file is corrupt, truncated or belongs to another model"
        )
