"""Convert a PixelRNN or MultiScalePixelRNN (zoo name or .keras file) to ONNX: log_prob.onnx and sample.onnx.

Both graphs are checked with onnx.checker and compared in onnxruntime with the Keras model
(log_prob within 1e-4 relative, identical samples for the same noise) before the directory
appears; a failed conversion leaves nothing behind.

    python export/to_onnx.py --model mnist_diag --out mnist_diag_onnx
    python export/to_onnx.py --model my_model.keras --out my_model_onnx --opset 13
"""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="export/to_onnx.py",
        description=__doc__.split("\n\n")[0],
        epilog="Inputs and outputs of the graphs: see pixelrnn_keras/export/onnx_graphs.py and the README.",
    )
    parser.add_argument("--model", required=True, help="a zoo name (e.g. mnist_diag) or a .keras file")
    parser.add_argument("--out", required=True, help="the directory to write (new or empty)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset, 13 to 18 (default 17)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out directory")
    args = parser.parse_args(argv)
    from pixelrnn_keras.export_command import run  # TensorFlow loads only now: --help stays fast

    return run(args.model, "onnx", args.out, opset=args.opset, overwrite=args.overwrite, prog=parser.prog)


if __name__ == "__main__":
    sys.exit(main())
