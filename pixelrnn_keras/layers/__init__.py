"""Causal layers of the PixelRNN family."""

from pixelrnn_keras.layers.cores import core_class, list_archs, register_core
from pixelrnn_keras.layers.diagonal_bilstm import DiagonalBiLSTM
from pixelrnn_keras.layers.gated_pixelcnn import GatedPixelCNNCore
from pixelrnn_keras.layers.masked_conv import MaskedConv2D
from pixelrnn_keras.layers.masks import causal_mask, channel_groups
from pixelrnn_keras.layers.pixelcnn import PixelCNNCore
from pixelrnn_keras.layers.residual import ResidualBlock
from pixelrnn_keras.layers.row_lstm import RowLSTM

__all__ = [
    "DiagonalBiLSTM",
    "GatedPixelCNNCore",
    "MaskedConv2D",
    "PixelCNNCore",
    "ResidualBlock",
    "RowLSTM",
    "causal_mask",
    "channel_groups",
    "core_class",
    "list_archs",
    "register_core",
]
