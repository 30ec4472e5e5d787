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


def _codec_model(spec, weights):
    """A model from a zoo name or a saved .keras file."""
    from pixelrnn_keras.zoo import list_models, load

    if spec.endswith(".keras"):
        if not os.path.isfile(spec):
            raise UsageError(f"model: no such file {spec!r}")
        import keras

        return keras.saving.load_model(spec, compile=False)
    if spec not in list_models():
        raise UsageError(f"model must be a zoo name ({', '.join(list_models())}) or a .keras file; got {spec!r}")
    return load(spec, weights=weights or "pretrained")


def _codec_inputs(paths, model):
    """Level values (N, H, W, C) from image files (8-bit intensities) and .npz files (level values)."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from pixelrnn_keras import data
    from pixelrnn_keras.images import from_intensities

    height, width, channels = model.image_shape
    # Modes that convert to the model's channels without loss.
    lossless = {"1", "L"} if channels == 1 else {"1", "L", "P", "RGB"}
    batches = []
    for path in paths:
        if not os.path.isfile(path):
            raise UsageError(f"IN: no such file {path!r}")
        if path.endswith(".npz"):
            batches.append(data.load(path))
            continue
        try:
            with Image.open(path) as image:
                if image.mode not in lossless:
                    raise UsageError(
                        f"IN: {path} has mode {image.mode}; a {channels}-channel model needs {sorted(lossless)}"
                    )
                pixels = np.asarray(image.convert("L" if channels == 1 else "RGB"))
        except (OSError, UnidentifiedImageError) as err:
            raise UsageError(f"IN: {path} is not a readable image or .npz file ({err})") from err
        pixels = pixels.reshape(*pixels.shape[:2], channels)
        batches.append(from_intensities(pixels, model.levels, name=f"IN {path}")[None])
    for path, batch in zip(paths, batches):
        if batch.shape[1:] != (height, width, channels):
            raise UsageError(f"IN: {path} holds images of shape {batch.shape[1:]}; the model takes {model.image_shape}")
    return np.concatenate(batches)


def cmd_compress(args):
    from pixelrnn_keras.codec import compress

    model = _codec_model(args.model, args.weights)
    images = _codec_inputs(args.inputs, model)
    stream = compress(model, images, batch_size=args.batch_size, progress=_progress("compress"))
    tmp = f"{args.out}.partial"
    with open(tmp, "wb") as f:
        f.write(stream)
    os.replace(tmp, args.out)
    bits_per_dim = 8 * len(stream) / images.size
    print(f"wrote {args.out}: {len(images)} images in {len(stream)} bytes ({bits_per_dim:.4f} bits/dim)")


def cmd_decompress(args):
    from pixelrnn_keras.codec import decompress, read_header
    from pixelrnn_keras.images import save_png, to_intensities

    if not os.path.isfile(args.file):
        raise UsageError(f"FILE: no such file {args.file!r}")
    with open(args.file, "rb") as f:
        stream = f.read()
    header = read_header(stream)
    model = _codec_model(args.model or header.model_name, args.weights)
    images = decompress(model, stream, progress=_progress("decompress"))
    os.makedirs(args.out, exist_ok=True)
    for k, image in enumerate(images):
        save_png(to_intensities(image, model.levels), os.path.join(args.out, f"{k:06d}.png"))
    print(f"wrote {len(images)} PNG files to {args.out}")


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

    compress = commands.add_parser("compress", help="losslessly compress images with a model's likelihoods")
    compress.add_argument("model", help="a zoo name or a .keras model file")
    compress.add_argument("inputs", nargs="+", metavar="IN", help="image files (8-bit PNG...) or .npz arrays of levels")
    compress.add_argument("--weights", help="a .weights.h5 file instead of a zoo model's bundled weights")
    compress.add_argument("--batch-size", type=_positive(int), help="images per batch of steps (default: up to 64)")
    compress.add_argument("--out", required=True, help="the compressed file")
    compress.set_defaults(run=cmd_compress)

    decompress = commands.add_parser("decompress", help="PNG files from a file of `pixelrnn compress`")
    decompress.add_argument("file")
    decompress.add_argument("--out", required=True, help="folder for the PNG files (created if missing)")
    decompress.add_argument("--model", help="a zoo name or .keras file (default: the zoo model the file names)")
    decompress.add_argument("--weights", help="a .weights.h5 file instead of a zoo model's bundled weights")
    decompress.set_defaults(run=cmd_decompress)

    evaluate = commands.add_parser("eval", help="NLL of a zoo model in nats/image and bits/dim")
    evaluate.add_argument("name")
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--data-dir")
    evaluate.add_argument("--split", default="valid")
    evaluate.add_argument("--weights", help="a .weights.h5 file instead of the bundled weights")
    evaluate.add_argument("--limit", type=int, help="evaluate only the first N images")
    evaluate.add_argument("--batch-size", type=int, default=100)
    evaluate.set_defaults(run=cmd_eval)

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
