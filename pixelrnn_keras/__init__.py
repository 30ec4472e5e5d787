"""pixelrnn_keras: PixelRNN-family autoregressive image models for Keras 3 / TensorFlow."""

from pixelrnn_keras import layers, models
from pixelrnn_keras.models import MultiScalePixelRNN, PixelRNN

__version__ = "0.1.0"
__all__ = ["MultiScalePixelRNN", "PixelRNN", "layers", "models"]
