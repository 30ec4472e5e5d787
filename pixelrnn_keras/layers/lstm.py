"""The LSTM update shared by the Row LSTM and the Diagonal BiLSTM."""

import tensorflow as tf

# Added to the forget-gate pre-activation so that fresh layers start by remembering
# (as `forget_bias` in TensorFlow's classic LSTM cells).
FORGET_BIAS = 1.0


def forget_bias(units, dtype):
    """(4 * units,) offset for pre-activations laid out [i, f, o, g]; add it once, outside a scan."""
    return tf.concat(
        [tf.zeros([units], dtype), tf.fill([units], tf.cast(FORGET_BIAS, dtype)), tf.zeros([2 * units], dtype)], 0
    )


def lstm_update(gates, cell):
    """One LSTM step from pre-activations laid out as four blocks [i, f, o, g].

    Args:
        gates: (..., 4 * units) pre-activations, `forget_bias` included.
        cell: (..., units) previous cell state.

    Returns:
        (hidden, cell), each (..., units).
    """
    units = cell.shape[-1]
    sig = tf.sigmoid(gates[..., : 3 * units])
    cell = sig[..., units : 2 * units] * cell + sig[..., :units] * tf.tanh(gates[..., 3 * units :])
    hidden = sig[..., 2 * units :] * tf.tanh(cell)
    return hidden, cell
