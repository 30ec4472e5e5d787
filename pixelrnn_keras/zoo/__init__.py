"""Named, pretrained PixelRNN models: ``from pixelrnn_keras.zoo import load; load("mnist_diag")``."""

from pixelrnn_keras.zoo.cards import ModelCard
from pixelrnn_keras.zoo.registry import get_card, list_models, load
from pixelrnn_keras.zoo.source import check_model_source, load_model

__all__ = ["ModelCard", "check_model_source", "get_card", "list_models", "load", "load_model"]
