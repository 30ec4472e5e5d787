"""The `pixelrnn` command: argument parsing, input checks and progress only; the work is in the library.

A module per command group (train, generate, codec, evaluate, export, zoo), each adding its own
subcommands; common.py holds what they share. Bad input (a missing or unreadable file, images
that do not fit the model, an unknown model name, a number out of range) is reported in one
line on stderr, with exit status 2.
"""

import sys

from pixelrnn_keras import startup
from pixelrnn_keras.cli import codec, evaluate, export, generate, train, zoo
from pixelrnn_keras.cli.common import Parser, UsageError

# In the order `pixelrnn --help` lists them.
COMMAND_GROUPS = (train, generate, codec, evaluate, export, zoo)


def build_parser():
    parser = Parser(prog="pixelrnn", description="PixelRNN-family image models.")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.add_commands(commands)
    return parser


def main(argv=None):
    """Run the command in `argv` (default: sys.argv[1:]); returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error already reported in one line
        return stop.code
    startup.find_devices()  # TensorFlow's CUDA start-up, with its noise held back as at import
    try:
        args.run(args)
    except (UsageError, ValueError, OSError) as err:
        message = " ".join(str(err).split())  # one line, whatever the library's message holds
        print(f"{args.prog}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{args.prog}: interrupted", file=sys.stderr)
        return 130
    return 0
