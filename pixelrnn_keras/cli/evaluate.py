"""`pixelrnn eval` and `pixelrnn classify`: a zoo model's NLL, and its accuracy as a classifier."""

from pixelrnn_keras.cli.common import (
    UsageError,
    add_data_arguments,
    check_model,
    evaluation_data,
    in_batches,
    load_checked_model,
    positive_int,
    progress_bar,
    zoo_card,
)


def cmd_eval(args):
    from pixelrnn_keras.evaluation import evaluate_nll

    card = zoo_card(args.name)
    check_model(card.name, args.weights)
    images, labels, split = evaluation_data(card, args)
    model = load_checked_model(card.name, args.weights)
    result = evaluate_nll(model, images, batch_size=args.batch_size, progress=progress_bar("eval"), labels=labels)
    print(
        f"{card.name} on {args.data}{f' {split}' if split else ''} ({result['num_images']} images): "
        f"{result['nats']:.2f} nats/image, {result['bits_per_dim']:.4f} bits/dim"
    )


def cmd_classify(args):
    import numpy as np

    card = zoo_card(args.name)
    num_classes = card.config.get("num_classes", 0)
    if not num_classes:
        raise UsageError(f"{card.name} is not class-conditional: classify needs a zoo entry with num_classes > 0")
    check_model(card.name, args.weights)
    images, labels, split = evaluation_data(card, args)
    model = load_checked_model(card.name, args.weights)
    predicted = in_batches(
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


def _add_evaluation_arguments(parser, name_help, data_help, run):
    """The arguments `eval` and `classify` share: a zoo entry, its data, optional weights, a limit, a batch size."""
    parser.add_argument("name", help=name_help)
    add_data_arguments(parser, data_help)
    parser.add_argument("--data-dir")
    parser.add_argument("--weights", help="a .weights.h5 file instead of the bundled weights")
    parser.add_argument("--limit", type=positive_int, help="use only the first N images")
    parser.add_argument("--batch-size", type=positive_int, default=100)
    parser.set_defaults(prog=parser.prog, run=run)


def add_commands(commands):
    """Adds this group's commands to the `pixelrnn` subparsers `commands`."""
    _add_evaluation_arguments(
        commands.add_parser("eval", help="NLL of a zoo model in nats/image and bits/dim"),
        "a zoo entry (pixelrnn zoo list)",
        "the entry's data set (as for train), or your .npz file or image folder",
        cmd_eval,
    )
    _add_evaluation_arguments(
        commands.add_parser(
            "classify", help="accuracy and confusion table of a class-conditional zoo model as a classifier"
        ),
        "a class-conditional zoo entry (pixelrnn zoo list)",
        "the entry's data set (as for train), or your .npz file with labels (y_<split>)",
        cmd_classify,
    )
