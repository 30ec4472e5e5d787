"""The export command shared by `pixelrnn export` and the scripts in the repository's export/.

It takes a zoo name or a `.keras` file, so it sits above the zoo, beside the `pixelrnn` command.
"""

import argparse
import os
import sys

from pixelrnn_keras import startup
from pixelrnn_keras.export.onnx_graphs import DEFAULT_OPSET, OPSETS, to_onnx
from pixelrnn_keras.export.output import check_destination
from pixelrnn_keras.export.saved_model import to_saved_model
from pixelrnn_keras.export.verification import LOG_PROB_RTOL, VerificationError
from pixelrnn_keras.zoo import load_model

FORMATS = ("saved_model", "onnx")
MODEL_HELP = "a zoo name (e.g. mnist_diag) or a .keras file"


def add_arguments(parser, format=None):
    """The export's options on `parser`: NAME_OR_FILE and --format for `pixelrnn export` (`format` None),
    --model for a script of one `format`; the rest are the same."""
    if format is None:
        parser.add_argument("name_or_file", metavar="NAME_OR_FILE", help=MODEL_HELP)
        parser.add_argument("--format", required=True, choices=FORMATS)
    else:
        parser.add_argument("--model", dest="name_or_file", required=True, help=MODEL_HELP)
        parser.set_defaults(format=format)
    parser.add_argument("--out", required=True, help="the directory to write (new or empty)")
    if format == "saved_model":
        parser.set_defaults(opset=DEFAULT_OPSET)
    else:
        parser.add_argument(
            "--opset",
            type=int,
            default=DEFAULT_OPSET,
            help=f"ONNX opset, {OPSETS[0]} to {OPSETS[-1]} (default {DEFAULT_OPSET})",
        )
    parser.add_argument("--weights", help="a .weights.h5 file to export instead of the model's own weights")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out directory")


def export(name_or_file, format, out, opset=DEFAULT_OPSET, overwrite=False, weights=None):
    """Loads a zoo model or a `.keras` file (with `weights` if given), exports it to `out` and verifies it;
    returns the report.

    Raises:
        ValueError: bad arguments (nothing is written).
        VerificationError: the export disagrees with the Keras model (nothing is written).
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    check_destination(out, overwrite)  # before the model is loaded: fail fast
    model = load_model(name_or_file, weights)
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


def run(args, prog):
    """`export` of the options of `add_arguments`, for a command line: prints `describe` and returns 0,
    or one error line and 2 (bad input) or 1 (verification failed); nothing is written on an error."""
    startup.find_devices()
    try:
        report = export(
            args.name_or_file, args.format, args.out, opset=args.opset, overwrite=args.overwrite, weights=args.weights
        )
    except ValueError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except VerificationError as err:
        print(f"{prog}: error: verification failed, nothing written: {err}", file=sys.stderr)
        return 1
    print(describe(report))
    return 0


def main(argv, format, prog, doc, epilog):
    """A script of the repository's export/ for one `format`, described by the first paragraph of `doc`;
    returns the exit status."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0], epilog=epilog)
    add_arguments(parser, format)
    return run(parser.parse_args(argv), prog)


def _yes(flag):
    return "yes" if flag else "NO"


def _megabytes(path):
    if os.path.isdir(path):
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)
    else:
        size = os.path.getsize(path)
    return f"{size / 1e6:.2f} MB"
