"""The `pixelrnn` command: argument parsing and progress only; the work is in the library."""

import argparse
import os
import sys


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit status 2."""


def _progress(label):
    def report(done, total):
        width = 30
        filled = width * done // total
        end = "\n" if done >= total else ""
        print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end, file=sys.stderr, flush=True)

    return report


def _card_data(name, data, data_dir):
    from pixelrnn_keras.training import card_data
    from pixelrnn_keras.zoo import get_card

    card = get_card(name)
    if not (os.path.exists(data) or data == card.data["name"]):
        raise UsageError(f"--data: no such file {data!r} (nor the tensorflow-datasets name {card.data['name']!r})")
    return card, card_data(card, data, data_dir)


def cmd_train(args):
    from pixelrnn_keras.training import train

    card, (train_images, eval_images) = _card_data(args.name, args.data, args.data_dir)
    workdir = args.workdir or os.path.join("runs", card.name)
    _, final = train(card, train_images, eval_images, workdir, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch)
    print(f"wrote {final}")


def cmd_eval(args):
    from pixelrnn_keras.evaluation import evaluate_nll
    from pixelrnn_keras.zoo import load

    card, (train_images, eval_images) = _card_data(args.name, args.data, args.data_dir)
    if args.split not in ("train", card.data["eval_split"]):
        raise UsageError(f"--split must be 'train' or {card.data['eval_split']!r} for {card.name}; got {args.split!r}")
    images = train_images if args.split == "train" else eval_images
    if args.limit:
        images = images[: args.limit]
    model = load(card.name, weights=args.weights or "pretrained")
    result = evaluate_nll(model, images, batch_size=args.batch_size, progress=_progress("eval"))
    print(
        f"{card.name} on {card.data['name']} {args.split} ({result['num_images']} images): "
        f"{result['nats']:.2f} nats/image, {result['bits_per_dim']:.4f} bits/dim"
    )


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value <= 0:
            raise argparse.ArgumentTypeError(f"must be a {kind.__name__} > 0, got {text!r}")
        return value

    return parse


def cmd_sample(args):
    from pixelrnn_keras.images import save_png, to_grid
    from pixelrnn_keras.zoo import load

    model = load(args.name, weights=args.weights or "pretrained")
    print(f"sampling {args.num} images from {args.name} ...", file=sys.stderr)
    images = model.sample(args.num, seed=args.seed, temperature=args.temperature)
    save_png(to_grid(images, model.levels), args.out, scale=args.scale)
    print(f"wrote {args.out}")


def cmd_complete(args):
    import numpy as np

    from pixelrnn_keras import data
    from pixelrnn_keras.images import save_png, to_grid
    from pixelrnn_keras.zoo import get_card, load

    model = load(args.name, weights=args.weights or "pretrained")
    card = get_card(args.name)
    if not os.path.exists(args.data):
        raise UsageError(f"--data: no such file {args.data!r}")
    images = data.load(args.data, split=args.split)[: args.num]
    if images.shape[1:] != model.image_shape:
        raise UsageError(f"--data: images of shape {images.shape[1:]} do not fit {card.name} {model.image_shape}")
    known = np.zeros(images.shape, bool)
    known[:, : model.image_shape[0] // 2] = True  # the top half is kept, the bottom half sampled
    completed = np.asarray(model.complete(images, known, seed=args.seed, temperature=args.temperature))
    shown = np.concatenate([np.where(known, images, 0), completed, images])
    save_png(to_grid(shown, model.levels, columns=len(images)), args.out, scale=args.scale)
    print(f"wrote {args.out} (rows: top halves, completions, originals)")


def cmd_export(args):
    from pixelrnn_keras.export.command import run

    status = run(args.name_or_file, args.format, args.out, opset=args.opset, overwrite=args.overwrite)
    if status:
        raise SystemExit(status)  # `run` has printed the one-line error


def cmd_zoo_list(args):
    from pixelrnn_keras.zoo import get_card, list_models

    for name in list_models(args.pattern):
        card = get_card(name)
        figure = "-" if card.metrics is None else f"{card.metrics['nats']:.2f} nats ({card.metrics['split']})"
        print(f"{name:24s} {card.params:>10,d} params  {figure:24s} {card.summary}")


def cmd_zoo_info(args):
    from pixelrnn_keras.zoo import get_card

    print(get_card(args.name).to_json(), end="")


def build_parser():
    parser = argparse.ArgumentParser(prog="pixelrnn", description="PixelRNN-family image models.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a zoo entry with its recipe (resumes after an interruption)")
    train.add_argument("name")
    train.add_argument("--data", required=True, help="the card's .npz file or its tensorflow-datasets name")
    train.add_argument("--data-dir", help="tensorflow-datasets data_dir (prepared; nothing is downloaded)")
    train.add_argument("--workdir", help="checkpoints, log and weights (default runs/NAME)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--steps-per-epoch", type=int)
    train.set_defaults(run=cmd_train)

    sample = commands.add_parser("sample", help="a PNG grid of samples from a zoo model")
    sample.add_argument("name")
    sample.add_argument("--num", type=_positive(int), default=16)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--temperature", type=_positive(float), default=1.0)
    sample.add_argument("--weights", help="a .weights.h5 file instead of the bundled weights")
    sample.add_argument("--scale", type=_positive(int), default=4, help="enlarge the PNG this many times")
    sample.add_argument("--out", default="samples.png")
    sample.set_defaults(run=cmd_sample)

    complete = commands.add_parser("complete", help="complete the bottom halves of images (PNG grid)")
    complete.add_argument("name")
    complete.add_argument("--data", required=True, help=".npz file or image folder with images of the model's shape")
    complete.add_argument("--split", help="array / subfolder to read (e.g. valid)")
    complete.add_argument("--num", type=_positive(int), default=8)
    complete.add_argument("--seed", type=int, default=0)
    complete.add_argument("--temperature", type=_positive(float), default=1.0)
    complete.add_argument("--weights")
    complete.add_argument("--scale", type=_positive(int), default=4)
    complete.add_argument("--out", default="completions.png")
    complete.set_defaults(run=cmd_complete)

    evaluate = commands.add_parser("eval", help="NLL of a zoo model in nats/image and bits/dim")
    evaluate.add_argument("name")
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--data-dir")
    evaluate.add_argument("--split", default="valid")
    evaluate.add_argument("--weights", help="a .weights.h5 file instead of the bundled weights")
    evaluate.add_argument("--limit", type=int, help="evaluate only the first N images")
    evaluate.add_argument("--batch-size", type=int, default=100)
    evaluate.set_defaults(run=cmd_eval)

    export = commands.add_parser("export", help="a SavedModel or ONNX graphs of a model, verified against it")
    export.add_argument("name_or_file", metavar="NAME_OR_FILE", help="a zoo name or a .keras file")
    export.add_argument("--format", required=True, choices=["saved_model", "onnx"])
    export.add_argument("--out", required=True, help="the directory to create")
    export.add_argument("--opset", type=int, default=17, help="ONNX opset, 13 to 18")
    export.add_argument("--overwrite", action="store_true", help="replace an existing --out directory")
    export.set_defaults(run=cmd_export)

    zoo = commands.add_parser("zoo", help="list the zoo or show a card")
    zoo_commands = zoo.add_subparsers(dest="zoo_command", required=True)
    zoo_list = zoo_commands.add_parser("list")
    zoo_list.add_argument("pattern", nargs="?", default="*")
    zoo_list.set_defaults(run=cmd_zoo_list)
    zoo_info = zoo_commands.add_parser("info")
    zoo_info.add_argument("name")
    zoo_info.set_defaults(run=cmd_zoo_info)
    return parser


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (UsageError, ValueError, FileNotFoundError) as err:
        print(f"pixelrnn {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
