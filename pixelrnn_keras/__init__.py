"""pixelrnn_keras: PixelRNN-family autoregressive image models for Keras 3 / TensorFlow."""

from pixelrnn_keras import startup

startup.import_tensorflow()  # before the layers import it, so that its start-up lines are held back

from pixelrnn_keras import layers, models  # noqa: E402
from pixelrnn_keras.models import MultiScalePixelRNN, PixelRNN  # noqa: E402

__version__ = "0.1.0"
__all__ = ["MultiScalePixelRNN", "PixelRNN", "layers", "models"]
