"""Causal layers of the PixelRNN family."""

from pixelrnn_keras.layers.diagonal_bilstm import DiagonalBiLSTM
from pixelrnn_keras.layers.masked_conv import MaskedConv2D
from pixelrnn_keras.layers.masks import causal_mask, channel_groups
from pixelrnn_keras.layers.residual import ARCHS, ResidualBlock
from pixelrnn_keras.layers.row_lstm import RowLSTM
from pixelrnn_keras.layers.skew import skew, unskew

__all__ = [
    "ARCHS",
    "DiagonalBiLSTM",
    "MaskedConv2D",
    "ResidualBlock",
    "RowLSTM",
    "causal_mask",
    "channel_groups",
    "skew",
    "unskew",
]
