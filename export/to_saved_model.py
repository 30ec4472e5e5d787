"""Convert a PixelRNN or MultiScalePixelRNN (a zoo name or a .keras file) to a TensorFlow SavedModel directory.

Signatures: log_prob, sample (the XLA-compiled cached sampler; num, seed, temperature),
sample_from_noise and complete. The SavedModel is reloaded and compared with the Keras model
(log_prob within 1e-4 relative, identical samples and completions for the same seed) before the
directory appears; a failed conversion leaves nothing behind. Load it with plain
`tf.saved_model.load(path)`; this package is not needed there.

    python export/to_saved_model.py --model mnist_diag --out mnist_diag_savedmodel
"""

import sys

from pixelrnn_keras.export_command import main as export


def main(argv=None):
    epilog = "Signatures, inputs and outputs: see pixelrnn_keras/export/saved_model.py and the README."
    return export(argv, "saved_model", prog="export/to_saved_model.py", doc=__doc__, epilog=epilog)


if __name__ == "__main__":
    sys.exit(main())
