"""Convert a PixelRNN or MultiScalePixelRNN (zoo name or .keras file) to ONNX: log_prob.onnx and sample.onnx.

Both graphs are checked with onnx.checker and compared in onnxruntime with the Keras model
(log_prob within 1e-4 relative, identical samples for the same noise) before the directory
appears; a failed conversion leaves nothing behind.

    python export/to_onnx.py --model mnist_diag --out mnist_diag_onnx
    python export/to_onnx.py --model my_model.keras --out my_model_onnx --opset 13
"""

import sys

from pixelrnn_keras.export_command import main as export


def main(argv=None):
    epilog = "Inputs and outputs of the graphs: see pixelrnn_keras/export/onnx_graphs.py and the README."
    return export(argv, "onnx", prog="export/to_onnx.py", doc=__doc__, epilog=epilog)


if __name__ == "__main__":
    sys.exit(main())
