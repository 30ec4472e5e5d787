"""Convert a PixelRNN or MultiScalePixelRNN (a zoo name or a .keras file) to a TensorFlow SavedModel directory.

Signatures: log_prob, sample (the XLA-compiled cached sampler; num, seed, temperature),
sample_from_noise and complete. The SavedModel is reloaded and compared with the Keras model
(log_prob within 1e-4 relative, identical samples and completions for the same seed) before the
directory appears; a failed conversion leaves nothing behind. Load it with plain
`tf.saved_model.load(path)`; this package is not needed there.

    python export/to_saved_model.py --model mnist_diag --out mnist_diag_savedmodel
"""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="export/to_saved_model.py",
        description=__doc__.split("\n\n")[0],
        epilog="Signatures, inputs and outputs: see pixelrnn_keras/export/saved_model.py and the README.",
    )
    parser.add_argument("--model", required=True, help="a zoo name (e.g. mnist_diag) or a .keras file")
    parser.add_argument("--out", required=True, help="the directory to write (new or empty)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out directory")
    args = parser.parse_args(argv)
    from pixelrnn_keras.export_command import run  # TensorFlow loads only now: --help stays fast

    return run(args.model, "saved_model", args.out, overwrite=args.overwrite, prog=parser.prog)


if __name__ == "__main__":
    sys.exit(main())
