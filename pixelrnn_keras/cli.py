"""The `pixelrnn` command: argument parsing, input checks and progress only; the work is in the library.

Bad input (a missing or unreadable file, images that do not fit the model, an unknown model
name, a number out of range) is reported in one line on stderr, with exit status 2.
"""

import argparse
import math
import os
import sys

from pixelrnn_keras import startup


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors in one line (argparse prints the whole usage first)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _progress(label):
    def report(done, total):
        width = 30
        filled = width * done // total
        end = "\n" if done >= total else ""
        print(
            f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end, file=sys.stderr, flush=True
        )

    return report


def _number(kind, low, inclusive=False):
    """An argparse type: a finite `kind` > low (>= low with `inclusive`)."""
    kinds = {int: "an int", float: "a number"}

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value < low or (value == low and not inclusive):
            raise argparse.ArgumentTypeError(f"must be {kinds[kind]} {'>=' if inclusive else '>'} {low}, got {text!r}")
        return value

    return parse


_positive_int, _positive_float, _non_negative_int = _number(int, 0), _number(float, 0), _number(int, 0, inclusive=True)


def _label_list(text):
    """An argparse type: class labels, one int >= 0 or a comma-separated list of them."""
    try:
        labels = [int(part) for part in text.split(",")]
    except ValueError:
        labels = None
    if not labels or min(labels) < 0:
        raise argparse.ArgumentTypeError(f"must be an int >= 0 or a comma-separated list of them, got {text!r}")
    return labels


def _class_labels(given, num_classes, count, what):
    """The (count,) int32 labels of --label for a model of `num_classes` (None for a model without
    classes): one label stands for every image, a list gives one per image. UsageError otherwise."""
    import numpy as np

    if not num_classes:
        if given is not None:
            raise UsageError(f"--label: {what} has no classes (it is not class-conditional)")
        return None
    if given is None:
        raise UsageError(f"--label is needed: {what} is class-conditional ({num_classes} classes)")
    if max(given) >= num_classes:
        raise UsageError(f"--label must be in [0, {num_classes}) for {what}; got {max(given)}")
    if len(given) not in (1, count):
        raise UsageError(f"--label: {len(given)} labels for {count} images; give one for all or one per image")
    return np.resize(np.asarray(given, np.int32), count)


def _check_out(path):
    """Fail before any work if the PNG `path` cannot be written."""
    if not path.lower().endswith(".png"):
        raise UsageError(f"--out must name a .png file; got {path!r}")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise UsageError(f"--out: no such folder {folder!r}")


def _check_data(path):
    from pixelrnn_keras.data import TFDS_NAMES

    if not (os.path.exists(path) or path in TFDS_NAMES):
        raise UsageError(f"--data: no such file or folder {path!r}")


def _card(name):
    """The zoo card of `name`; unknown names fail here, with a suggestion, before any work."""
    from pixelrnn_keras.zoo import get_card

    return get_card(name)


def _check_model(spec, weights):
    """Fail before any work where the model of a zoo name or .keras file, with --weights, cannot be loaded."""
    from pixelrnn_keras.zoo import check_model_source

    if weights and "://" not in weights and not os.path.isfile(weights):
        raise UsageError(f"--weights: no such file {weights!r}")  # the library's message names no option
    check_model_source(spec, weights)


def _load_model(spec, weights):
    """The model of a zoo name or .keras file, with --weights if given (commands check it first, before any work)."""
    from pixelrnn_keras.zoo import load_model

    _check_model(spec, weights)
    return load_model(spec, weights)


def _images_for(card, args):
    """The images of --data (with --split, --resize) for the card's model, or UsageError; the card's
    own data set prepared as the card says (its "binarize_at")."""
    from pixelrnn_keras.data import load_for_model

    _check_data(args.data)
    image_shape, levels = tuple(card.config["image_shape"]), card.config["levels"]
    try:
        return load_for_model(
            args.data,
            image_shape,
            levels,
            split=args.split,
            resize=args.resize,
            data_dir=getattr(args, "data_dir", None),
            model_name=card.name,
            binarize_at=card.data.get("binarize_at") if _is_card_data(card, args.data) else None,
        )
    except ValueError as err:
        raise UsageError(f"--data: {err}") from err


def _labels_for(args):
    """The class labels of the --data (--split) images (one per image, checked), or UsageError."""
    from pixelrnn_keras.data import load_labels

    try:
        return load_labels(args.data, args.split)
    except ValueError as err:
        raise UsageError(f"--data: {err}") from err


def _evaluation_data(card, args):
    """(images, labels or None, split) of an eval or classify command: the card's own split of its
    data set (default: its evaluation split), or the images of --data (--split); labels for a
    class-conditional card."""
    from pixelrnn_keras.training import card_data, images_and_labels

    _check_data(args.data)
    if _is_card_data(card, args.data) and not args.resize:
        split = args.split or card.data["eval_split"]
        if split not in ("train", card.data["eval_split"]):
            expected = f"'train' or {card.data['eval_split']!r}"
            raise UsageError(f"--split must be {expected} for {card.name}'s data; got {split!r}")
        train_data, eval_data = card_data(card, args.data, args.data_dir)
        images, labels = images_and_labels(train_data if split == "train" else eval_data)
    else:
        split = args.split
        images = _images_for(card, args)
        labels = _labels_for(args) if card.config.get("num_classes") else None
    if args.limit:
        images = images[: args.limit]
        labels = None if labels is None else labels[: args.limit]
    return images, labels, split


def _is_card_data(card, source):
    """Whether --data names the card's own data set (its file or tensorflow-datasets name)."""
    return source == card.data["name"] or os.path.basename(os.path.normpath(source)) == card.data["file"]


def _in_batches(total, batch_size, label, draw):
    """Concatenated `draw(start, count, batch_index)` over batches of `batch_size`, with a progress bar."""
    import numpy as np

    report, parts = _progress(label), []
    for index, start in enumerate(range(0, total, batch_size)):
        parts.append(np.asarray(draw(start, min(batch_size, total - start), index)))
        report(start + len(parts[-1]), total)
    return np.concatenate(parts)


def _batch_labels(labels, start, count):
    """The `labels=` keyword of a sampling batch: {} for a model without classes."""
    return {} if labels is None else {"labels": labels[start : start + count]}


def _batch_seed(seed, index):
    """The sampling seed of batch `index`: `seed` itself for the first (one batch is `model.sample(num, seed)`)."""
    import numpy as np

    return seed if index == 0 else int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0] >> 1)


def cmd_train(args):
    from pixelrnn_keras.data import split_holdout
    from pixelrnn_keras.training import card_data, train

    card = _card(args.name)
    _check_data(args.data)
    if args.init_weights and not os.path.isfile(args.init_weights):
        raise UsageError(f"--init-weights: no such file {args.init_weights!r}")
    if args.strategy == "multi-worker" and "TF_CONFIG" not in os.environ:
        raise UsageError("--strategy multi-worker needs the cluster in the TF_CONFIG environment variable")
    if _is_card_data(card, args.data) and not (args.split or args.resize):
        train_images, eval_images = card_data(card, args.data, args.data_dir)
    else:  # any other images: a tenth of them (at least one) held out for validation
        images = _images_for(card, args)
        if len(images) < 2:
            raise UsageError(f"--data: needs at least 2 images (one is held out for validation); {args.data!r} has 1")
        fraction = max(0.1, 1 / len(images))
        train_images, eval_images = split_holdout(images, fraction, seed=0)
        if card.config.get("num_classes"):  # the labels split as the images (same count, same seed)
            labels = split_holdout(_labels_for(args), fraction, seed=0)
            train_images, eval_images = (train_images, labels[0]), (eval_images, labels[1])
    workdir = args.workdir or os.path.join("runs", card.name)
    _, final = train(
        card,
        train_images,
        eval_images,
        workdir,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        seed=args.seed,
        verbose=1 if sys.stdout.isatty() else 2,
        strategy=_strategy(args.strategy),
        samples_every=args.samples_every,
        num_samples=args.num_samples,
        tensorboard=args.tensorboard,
        initial_weights=args.init_weights,
    )
    print(f"wrote {final}")


def _strategy(name):
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return None


def cmd_eval(args):
    from pixelrnn_keras.evaluation import evaluate_nll

    card = _card(args.name)
    _check_model(card.name, args.weights)
    images, labels, split = _evaluation_data(card, args)
    model = _load_model(card.name, args.weights)
    result = evaluate_nll(model, images, batch_size=args.batch_size, progress=_progress("eval"), labels=labels)
    print(
        f"{card.name} on {args.data}{f' {split}' if split else ''} ({result['num_images']} images): "
        f"{result['nats']:.2f} nats/image, {result['bits_per_dim']:.4f} bits/dim"
    )


def cmd_classify(args):
    import numpy as np

    card = _card(args.name)
    num_classes = card.config.get("num_classes", 0)
    if not num_classes:
        raise UsageError(f"{card.name} is not class-conditional: classify needs a zoo entry with num_classes > 0")
    _check_model(card.name, args.weights)
    images, labels, split = _evaluation_data(card, args)
    model = _load_model(card.name, args.weights)
    predicted = _in_batches(
        len(images),
        args.batch_size,
        "classify",
        lambda start, count, index: np.argmax(model.classify(images[start : start + count]), axis=1),
    )
    confusion = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    accuracy = np.trace(confusion) / len(images)
    print(f"{card.name} on {args.data}{f' {split}' if split else ''} ({len(images)} images): accuracy {accuracy:.4f}")
    width = max(5, len(str(confusion.max())) + 1)
    print("true \\ predicted" + "".join(f"{k:>{width}d}" for k in range(num_classes)))
    for k, row in enumerate(confusion):
        print(f"{k:>17d}" + "".join(f"{n:>{width}d}" for n in row))


def cmd_sample(args):
    from pixelrnn_keras.images import save_png, to_grid

    card = _card(args.name)
    num = args.num or (len(args.label) if args.label and len(args.label) > 1 else 16)
    labels = _class_labels(args.label, card.config.get("num_classes"), num, card.name)
    _check_model(card.name, args.weights)
    _check_out(args.out)
    model = _load_model(card.name, args.weights)
    print(f"sampling {num} images from {args.name} ...", file=sys.stderr)
    images = _in_batches(
        num,
        args.batch_size,
        "sample",
        lambda start, count, index: model.sample(
            count,
            seed=_batch_seed(args.seed, index),
            temperature=args.temperature,
            **_batch_labels(labels, start, count),
        ),
    )
    save_png(to_grid(images, model.levels), args.out, scale=args.scale)
    print(f"wrote {args.out}")


def cmd_complete(args):
    import numpy as np

    from pixelrnn_keras.images import save_png, to_grid

    card = _card(args.name)
    num = args.num or (len(args.label) if args.label and len(args.label) > 1 else 8)
    _check_model(card.name, args.weights)
    _check_out(args.out)
    images = _images_for(card, args)[:num]
    labels = _class_labels(args.label, card.config.get("num_classes"), len(images), card.name)
    model = _load_model(card.name, args.weights)
    known = np.zeros(images.shape, bool)
    known[:, : model.image_shape[0] // 2] = True  # the top half is kept, the bottom half sampled
    print(f"completing {len(images)} images with {args.name} ...", file=sys.stderr)
    completed = _in_batches(
        len(images),
        args.batch_size,
        "complete",
        lambda start, count, index: model.complete(
            images[start : start + count],
            known[start : start + count],
            seed=_batch_seed(args.seed, index),
            temperature=args.temperature,
            **_batch_labels(labels, start, count),
        ),
    )
    shown = np.concatenate([np.where(known, images, 0), completed, images])
    save_png(to_grid(shown, model.levels, columns=len(images)), args.out, scale=args.scale)
    print(f"wrote {args.out} (rows: top halves, completions, originals)")


def cmd_export(args):
    from pixelrnn_keras.export_command import run

    status = run(args, args.prog)
    if status:
        raise SystemExit(status)  # `run` has printed the one-line error


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
    from pixelrnn_keras.files import atomic_path

    model = _load_model(args.model, args.weights)
    images = _codec_inputs(args.inputs, model)
    # Without --label, a class-conditional model codes each image under its most likely class.
    num_classes = getattr(model, "num_classes", 0)
    labels = None if args.label is None else _class_labels(args.label, num_classes, len(images), args.model)
    stream = compress(model, images, labels=labels, batch_size=args.batch_size, progress=_progress("compress"))
    with atomic_path(args.out) as partial, open(partial, "wb") as f:
        f.write(stream)
    bits_per_dim = 8 * len(stream) / images.size
    print(f"wrote {args.out}: {len(images)} images in {len(stream)} bytes ({bits_per_dim:.4f} bits/dim)")


def cmd_decompress(args):
    from pixelrnn_keras.codec import decompress, read_header
    from pixelrnn_keras.files import atomic_path
    from pixelrnn_keras.images import save_png, to_intensities

    if not os.path.isfile(args.file):
        raise UsageError(f"FILE: no such file {args.file!r}")
    with open(args.file, "rb") as f:
        stream = f.read()
    header = read_header(stream)
    model = _load_model(args.model or header.model_name, args.weights)
    decoded = decompress(model, stream, progress=_progress("decompress"))
    images, labels = decoded if isinstance(decoded, tuple) else (decoded, None)  # a class model's labels too
    os.makedirs(args.out, exist_ok=True)
    for k, image in enumerate(images):
        save_png(to_intensities(image, model.levels), os.path.join(args.out, f"{k:06d}.png"))
    if labels is not None:
        with atomic_path(os.path.join(args.out, "labels.txt")) as partial, open(partial, "w") as f:
            f.write("".join(f"{label}\n" for label in labels))
    print(f"wrote {len(images)} PNG files{'' if labels is None else ' and labels.txt'} to {args.out}")


def cmd_zoo_list(args):
    from pixelrnn_keras.zoo import get_card, list_models

    names = list_models(args.pattern)
    if not names:
        raise UsageError(f"no zoo entry matches {args.pattern!r}; the entries are {list_models()}")
    for name in names:
        card = get_card(name)
        figure = "-" if card.metrics is None else f"{card.metrics['nats']:.2f} nats ({card.metrics['split']})"
        print(f"{name:24s} {card.params:>10,d} params  {figure:24s} {card.summary}")


def cmd_zoo_info(args):
    from pixelrnn_keras.zoo import get_card

    print(get_card(args.name).to_json(), end="")


def _add_data_arguments(parser, what):
    parser.add_argument("--data", required=True, help=what)
    parser.add_argument("--split", help="the .npz array (e.g. valid, or x_valid) or the subfolder to read")
    parser.add_argument("--resize", action="store_true", help="resize a folder's images to the model's size")


def _add_sampling_arguments(parser, num, out):
    parser.add_argument(
        "--num", type=_positive_int, help=f"number of images (default {num}, or one per --label of a list)"
    )
    parser.add_argument(
        "--label",
        type=_label_list,
        help="a class-conditional model's class: one for all images (e.g. 7) or one per image (e.g. 0,1,2)",
    )
    parser.add_argument("--seed", type=_non_negative_int, default=0)
    parser.add_argument("--temperature", type=_positive_float, default=1.0, help="> 0; 1 samples the model")
    parser.add_argument("--weights", help="a .weights.h5 file instead of the bundled weights")
    parser.add_argument("--batch-size", type=_positive_int, default=64, help="images drawn at once")
    parser.add_argument("--scale", type=_positive_int, default=4, help="enlarge the PNG this many times")
    parser.add_argument("--out", default=out, help=f"the PNG grid to write (default {out})")


def build_parser():
    from pixelrnn_keras.export_command import add_arguments as add_export_arguments

    parser = _Parser(prog="pixelrnn", description="PixelRNN-family image models.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train",
        help="train a zoo entry's model with its recipe (resumes after an interruption)",
        description="Train the model of a zoo entry with its recipe, on the entry's data set or on your own "
        "images (a tenth held out for validation). Killed and started again with the same command, it "
        "resumes from the last finished epoch and ends with the same weights.",
    )
    train.add_argument("name", help="a zoo entry (pixelrnn zoo list): the architecture and recipe")
    _add_data_arguments(train, "the entry's .npz file or tensorflow-datasets name, or your .npz file or image folder")
    train.add_argument("--data-dir", help="tensorflow-datasets data_dir (prepared; nothing is downloaded)")
    train.add_argument("--workdir", help="checkpoints, log, samples, TensorBoard and weights (default runs/NAME)")
    train.add_argument("--epochs", type=_positive_int, help="default: the recipe's")
    train.add_argument("--steps-per-epoch", type=_positive_int, help="default: the recipe's")
    train.add_argument("--seed", type=_non_negative_int, default=0, help="initialisation and data order")
    train.add_argument(
        "--init-weights",
        help="start from these weights of the same model (a warm start); for a class-conditional entry, also "
        "those of its network without classes (the class layers start at zero)",
    )
    train.add_argument(
        "--samples-every", type=_non_negative_int, default=1, help="epochs between sample grids; 0: none"
    )
    train.add_argument("--num-samples", type=_positive_int, default=16, help="images per sample grid")
    train.add_argument("--no-tensorboard", dest="tensorboard", action="store_false", help="write no TensorBoard logs")
    train.add_argument(
        "--strategy",
        choices=["one", "mirrored", "multi-worker"],
        default="one",
        help="one device; MirroredStrategy over this machine's GPUs; MultiWorkerMirroredStrategy (TF_CONFIG)",
    )
    train.set_defaults(prog=train.prog, run=cmd_train)

    sample = commands.add_parser("sample", help="a PNG grid of samples from a zoo model")
    sample.add_argument("name", help="a zoo entry (pixelrnn zoo list)")
    _add_sampling_arguments(sample, 16, "samples.png")
    sample.set_defaults(prog=sample.prog, run=cmd_sample)

    complete = commands.add_parser("complete", help="complete the bottom halves of images (PNG grid)")
    complete.add_argument("name", help="a zoo entry (pixelrnn zoo list)")
    _add_data_arguments(complete, ".npz file or image folder with images of the model's shape")
    _add_sampling_arguments(complete, 8, "completions.png")
    complete.set_defaults(prog=complete.prog, run=cmd_complete)

    compress = commands.add_parser("compress", help="losslessly compress images with a model's likelihoods")
    compress.add_argument("model", help="a zoo name or a .keras model file")
    compress.add_argument("inputs", nargs="+", metavar="IN", help="image files (8-bit PNG...) or .npz arrays of levels")
    compress.add_argument("--weights", help="a .weights.h5 file instead of a zoo model's bundled weights")
    compress.add_argument("--batch-size", type=_positive_int, help="images per batch of steps (default: up to 64)")
    compress.add_argument(
        "--label",
        type=_label_list,
        help="a class-conditional model's class of the images, one for all or one per image, stored with "
        "them (default: each image's most likely class)",
    )
    compress.add_argument("--out", required=True, help="the compressed file")
    compress.set_defaults(prog=compress.prog, run=cmd_compress)

    decompress = commands.add_parser("decompress", help="PNG files from a file of `pixelrnn compress`")
    decompress.add_argument("file")
    decompress.add_argument(
        "--out", required=True, help="folder for the PNG files (created if missing), and a class model's labels.txt"
    )
    decompress.add_argument("--model", help="a zoo name or .keras file (default: the zoo model the file names)")
    decompress.add_argument("--weights", help="a .weights.h5 file instead of a zoo model's bundled weights")
    decompress.set_defaults(prog=decompress.prog, run=cmd_decompress)

    evaluate = commands.add_parser("eval", help="NLL of a zoo model in nats/image and bits/dim")
    evaluate.add_argument("name", help="a zoo entry (pixelrnn zoo list)")
    _add_data_arguments(evaluate, "the entry's data set (as for train), or your .npz file or image folder")
    evaluate.add_argument("--data-dir")
    evaluate.add_argument("--weights", help="a .weights.h5 file instead of the bundled weights")
    evaluate.add_argument("--limit", type=_positive_int, help="evaluate only the first N images")
    evaluate.add_argument("--batch-size", type=_positive_int, default=100)
    evaluate.set_defaults(prog=evaluate.prog, run=cmd_eval)

    classify = commands.add_parser(
        "classify", help="accuracy and confusion table of a class-conditional zoo model as a classifier"
    )
    classify.add_argument("name", help="a class-conditional zoo entry (pixelrnn zoo list)")
    _add_data_arguments(classify, "the entry's data set (as for train), or your .npz file with labels (y_<split>)")
    classify.add_argument("--data-dir")
    classify.add_argument("--weights", help="a .weights.h5 file instead of the bundled weights")
    classify.add_argument("--limit", type=_positive_int, help="classify only the first N images")
    classify.add_argument("--batch-size", type=_positive_int, default=100)
    classify.set_defaults(prog=classify.prog, run=cmd_classify)

    export = commands.add_parser("export", help="a SavedModel or ONNX graphs of a model, verified against it")
    add_export_arguments(export)
    export.set_defaults(prog=export.prog, run=cmd_export)

    zoo = commands.add_parser("zoo", help="list the zoo or show a card")
    zoo_commands = zoo.add_subparsers(dest="zoo_command", required=True)
    zoo_list = zoo_commands.add_parser("list")
    zoo_list.add_argument("pattern", nargs="?", default="*")
    zoo_list.set_defaults(prog=zoo_list.prog, run=cmd_zoo_list)
    zoo_info = zoo_commands.add_parser("info")
    zoo_info.add_argument("name")
    zoo_info.set_defaults(prog=zoo_info.prog, run=cmd_zoo_info)
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


if __name__ == "__main__":
    sys.exit(main())
