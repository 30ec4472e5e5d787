"""PixelRNN networks (single- and multi-scale) and the paper's presets."""

from pixelrnn_keras.models.multi_scale import MultiScalePixelRNN
from pixelrnn_keras.models.pixel_rnn import PixelRNN
from pixelrnn_keras.models.presets import PAPER_PRESETS, preset_config
from pixelrnn_keras.models.stages import Stage, stages_of
from pixelrnn_keras.models.steps import PixelSteps, WavefrontSteps
from pixelrnn_keras.models.weights_file import load_weights_exactly

__all__ = [
    "PAPER_PRESETS",
    "MultiScalePixelRNN",
    "PixelRNN",
    "PixelSteps",
    "WavefrontSteps",
    "Stage",
    "load_weights_exactly",
    "preset_config",
    "stages_of",
]
