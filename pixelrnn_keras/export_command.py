"""The export command shared by `pixelrnn export` and the scripts in the repository's export/.

It takes a zoo name or a `.keras` file, so it sits above the zoo, beside the `pixelrnn` command.
"""

import os
import sys

from pixelrnn_keras import startup
from pixelrnn_keras.export.onnx_graphs import DEFAULT_OPSET, to_onnx
from pixelrnn_keras.export.output import check_destination
from pixelrnn_keras.export.saved_model import to_saved_model
from pixelrnn_keras.export.verification import LOG_PROB_RTOL, VerificationError
from pixelrnn_keras.zoo import load_model

FORMATS = ("saved_model", "onnx")


def export(name_or_file, format, out, opset=DEFAULT_OPSET, overwrite=False):
    """Loads a zoo model or a `.keras` file, exports it to `out` and verifies it; returns the report.

    Raises:
        ValueError: bad arguments (nothing is written).
        VerificationError: the export disagrees with the Keras model (nothing is written).
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    check_destination(out, overwrite)  # before the model is loaded: fail fast
    model = load_model(name_or_file)
    if format == "onnx":
        return to_onnx(model, out, opset=opset, overwrite=overwrite)
    return to_saved_model(model, out, overwrite=overwrite)


def describe(report):
    """What was written and the verification figures, as lines for a terminal."""
    if "files" in report:
        files = ", ".join(f"{os.path.basename(p)} ({_megabytes(p)})" for p in report["files"].values())
        wrote = f"wrote ONNX (opset {report['opset']}) to {report['path']}: {files}"
        where, same = "in onnxruntime", f"samples identical for the same noise: {_yes(report['samples_identical'])}"
    else:
        wrote = f"wrote SavedModel to {report['path']} ({_megabytes(report['path'])}), signatures: " + ", ".join(
            report["signatures"]
        )
        where = "the reloaded SavedModel"
        same = (
            f"samples identical for the same seed: {_yes(report['samples_identical'])}, "
            f"completions identical: {_yes(report['completions_identical'])}"
        )
    verified = (
        f"verified {where} against the Keras model on {report['num_images']} images: log_prob max relative "
        f"difference {report['log_prob_max_rel_diff']:.1e} (limit {LOG_PROB_RTOL:.0e}), {same}"
    )
    return f"{wrote}\n{verified}"


def run(name_or_file, format, out, opset=DEFAULT_OPSET, overwrite=False, prog="pixelrnn export"):
    """`export` for a command line: prints `describe` and returns 0, or one error line and 2 (bad
    input) or 1 (verification failed); nothing is written on an error."""
    startup.find_devices()
    try:
        report = export(name_or_file, format, out, opset=opset, overwrite=overwrite)
    except ValueError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except VerificationError as err:
        print(f"{prog}: error: verification failed, nothing written: {err}", file=sys.stderr)
        return 1
    print(describe(report))
    return 0


def _yes(flag):
    return "yes" if flag else "NO"


def _megabytes(path):
    if os.path.isdir(path):
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)
    else:
        size = os.path.getsize(path)
    return f"{size / 1e6:.2f} MB"
