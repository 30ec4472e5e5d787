"""What every command of the `pixelrnn` command line shares: one-line errors, argument types,
progress bars, and the checks that fail before any work."""

import argparse
import math
import os
import sys


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, with its errors in one line (argparse prints the whole usage first)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def progress_bar(label):
    def report(done, total):
        width = 30
        filled = width * done // total
        end = "\n" if done >= total else ""
        print(
            f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end, file=sys.stderr, flush=True
        )

    return report


def number_type(kind, low, inclusive=False):
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


positive_int, positive_float, non_negative_int = (
    number_type(int, 0),
    number_type(float, 0),
    number_type(int, 0, inclusive=True),
)


def label_list(text):
    """An argparse type: class labels, one int >= 0 or a comma-separated list of them."""
    try:
        labels = [int(part) for part in text.split(",")]
    except ValueError:
        labels = None
    if not labels or min(labels) < 0:
        raise argparse.ArgumentTypeError(f"must be an int >= 0 or a comma-separated list of them, got {text!r}")
    return labels


def class_labels(given, num_classes, count, what):
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


def check_out(path):
    """Fail before any work if the PNG `path` cannot be written."""
    if not path.lower().endswith(".png"):
        raise UsageError(f"--out must name a .png file; got {path!r}")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise UsageError(f"--out: no such folder {folder!r}")


def check_data(path):
    from pixelrnn_keras.data import TFDS_NAMES

    if not (os.path.exists(path) or path in TFDS_NAMES):
        raise UsageError(f"--data: no such file or folder {path!r}")


def zoo_card(name):
    """The zoo card of `name`; unknown names fail here, with a suggestion, before any work."""
    from pixelrnn_keras.zoo import get_card

    return get_card(name)


def check_model(spec, weights):
    """Fail before any work where the model of a zoo name or .keras file, with --weights, cannot be loaded."""
    from pixelrnn_keras.zoo import check_model_source

    if weights and "://" not in weights and not os.path.isfile(weights):
        raise UsageError(f"--weights: no such file {weights!r}")  # the library's message names no option
    check_model_source(spec, weights)


def load_checked_model(spec, weights):
    """The model of a zoo name or .keras file, with --weights if given (commands check it first, before any work)."""
    from pixelrnn_keras.zoo import load_model

    check_model(spec, weights)
    return load_model(spec, weights)


def images_for(card, args):
    """The images of --data (with --split, --resize) for the card's model, or UsageError; the card's
    own data set prepared as the card says (its "binarize_at")."""
    from pixelrnn_keras.data import load_for_model

    check_data(args.data)
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
            binarize_at=card.data.get("binarize_at") if is_card_data(card, args.data) else None,
        )
    except ValueError as err:
        raise UsageError(f"--data: {err}") from err


def labels_for(args):
    """The class labels of the --data (--split) images (one per image, checked), or UsageError."""
    from pixelrnn_keras.data import load_labels

    try:
        return load_labels(args.data, args.split)
    except ValueError as err:
        raise UsageError(f"--data: {err}") from err


def evaluation_data(card, args):
    """(images, labels or None, split) of an eval or classify command: the card's own split of its
    data set (default: its evaluation split), or the images of --data (--split); labels for a
    class-conditional card."""
    from pixelrnn_keras.training import card_data, images_and_labels

    check_data(args.data)
    if is_card_data(card, args.data) and not args.resize:
        split = args.split or card.data["eval_split"]
        if split not in ("train", card.data["eval_split"]):
            expected = f"'train' or {card.data['eval_split']!r}"
            raise UsageError(f"--split must be {expected} for {card.name}'s data; got {split!r}")
        train_data, eval_data = card_data(card, args.data, args.data_dir)
        images, labels = images_and_labels(train_data if split == "train" else eval_data)
    else:
        split = args.split
        images = images_for(card, args)
        labels = labels_for(args) if card.config.get("num_classes") else None
    if args.limit:
        images = images[: args.limit]
        labels = None if labels is None else labels[: args.limit]
    return images, labels, split


def is_card_data(card, source):
    """Whether --data names the card's own data set (its file or tensorflow-datasets name)."""
    return source == card.data["name"] or os.path.basename(os.path.normpath(source)) == card.data["file"]


def in_batches(total, batch_size, label, draw):
    """Concatenated `draw(start, count, batch_index)` over batches of `batch_size`, with a progress bar."""
    import numpy as np

    report, parts = progress_bar(label), []
    for index, start in enumerate(range(0, total, batch_size)):
        parts.append(np.asarray(draw(start, min(batch_size, total - start), index)))
        report(start + len(parts[-1]), total)
    return np.concatenate(parts)


def batch_labels(labels, start, count):
    """The `labels=` keyword of a sampling batch: {} for a model without classes."""
    return {} if labels is None else {"labels": labels[start : start + count]}


def batch_seed(seed, index):
    """The sampling seed of batch `index`: `seed` itself for the first (one batch is `model.sample(num, seed)`)."""
    import numpy as np

    return seed if index == 0 else int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0] >> 1)


def add_data_arguments(parser, what):
    parser.add_argument("--data", required=True, help=what)
    parser.add_argument("--split", help="the .npz array (e.g. valid, or x_valid) or the subfolder to read")
    parser.add_argument("--resize", action="store_true", help="resize a folder's images to the model's size")


def add_sampling_arguments(parser, num, out):
    parser.add_argument(
        "--num", type=positive_int, help=f"number of images (default {num}, or one per --label of a list)"
    )
    parser.add_argument(
        "--label",
        type=label_list,
        help="a class-conditional model's class: one for all images (e.g. 7) or one per image (e.g. 0,1,2)",
    )
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--temperature", type=positive_float, default=1.0, help="> 0; 1 samples the model")
    parser.add_argument("--weights", help="a .weights.h5 file instead of the bundled weights")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="images drawn at once")
    parser.add_argument("--scale", type=positive_int, default=4, help="enlarge the PNG this many times")
    parser.add_argument("--out", default=out, help=f"the PNG grid to write (default {out})")
