"""The LSTM update shared by the Row LSTM and the Diagonal BiLSTM."""

import tensorflow as tf

# Added to the forget-gate pre-activation so that fresh layers start by remembering
# (as `forget_bias` in TensorFlow's classic LSTM cells).
FORGET_BIAS = 1.0


def lstm_update(gates, cell):
    """One LSTM step from pre-activations laid out as four blocks [i, f, o, g].

    Args:
        gates: (..., 4 * units) input-to-state plus state-to-state pre-activations.
        cell: (..., units) previous cell state.

    Returns:
        (hidden, cell), each (..., units).
    """
    i, f, o, g = tf.split(gates, 4, axis=-1)
    cell = tf.sigmoid(f + FORGET_BIAS) * cell + tf.sigmoid(i) * tf.tanh(g)
    hidden = tf.sigmoid(o) * tf.tanh(cell)
    return hidden, cell
