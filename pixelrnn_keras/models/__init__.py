"""PixelRNN networks and the paper's presets."""

from pixelrnn_keras.models.pixel_rnn import PixelRNN
from pixelrnn_keras.models.presets import PAPER_PRESETS, preset_config

__all__ = ["PAPER_PRESETS", "PixelRNN", "preset_config"]
