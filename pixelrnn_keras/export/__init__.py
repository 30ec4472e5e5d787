"""Self-contained graphs of a trained PixelRNN or MultiScalePixelRNN, for servers without this package.

- `to_saved_model(model, path)`: a TensorFlow SavedModel with the signatures `log_prob`,
  `sample` (the XLA-compiled cached sampler, noise drawn from a seed), `sample_from_noise`
  and `complete`; `tf.saved_model.load(path)` is all a user needs.
- `to_onnx(model, path)`: `log_prob.onnx` and `sample.onnx` (Gumbel noise as an input, so
  samples are reproducible across runtimes), for onnxruntime.

Both write a directory atomically and verify what they wrote against the Keras model before
it appears under `path`: a failed conversion leaves nothing behind. Exporting from a zoo name or
a `.keras` file, as `pixelrnn export` and the scripts in the repository's export/ do, is
`pixelrnn_keras.export_command.export`, a floor higher: it needs the zoo.
"""

from pixelrnn_keras.export.onnx_graphs import DEFAULT_OPSET, OPSETS, to_onnx
from pixelrnn_keras.export.saved_model import to_saved_model
from pixelrnn_keras.export.verification import VerificationError

__all__ = [
    "DEFAULT_OPSET",
    "OPSETS",
    "VerificationError",
    "to_onnx",
    "to_saved_model",
]
