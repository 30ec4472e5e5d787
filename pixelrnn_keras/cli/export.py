"""`pixelrnn export`: a SavedModel or ONNX graphs of a model, verified against it."""


def cmd_export(args):
    from pixelrnn_keras.export_command import run

    status = run(args, args.prog)
    if status:
        raise SystemExit(status)  # `run` has printed the one-line error


def add_commands(commands):
    """Adds this group's commands to the `pixelrnn` subparsers `commands`."""
    from pixelrnn_keras.export_command import add_arguments as add_export_arguments

    export = commands.add_parser("export", help="a SavedModel or ONNX graphs of a model, verified against it")
    add_export_arguments(export)
    export.set_defaults(prog=export.prog, run=cmd_export)
