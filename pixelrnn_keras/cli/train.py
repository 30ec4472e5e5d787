"""`pixelrnn train`: a zoo entry's model trained with its recipe, resumable."""

import os
import sys

from pixelrnn_keras.cli.common import (
    UsageError,
    add_data_arguments,
    check_data,
    images_for,
    is_card_data,
    labels_for,
    non_negative_int,
    positive_float,
    positive_int,
    zoo_card,
)
from pixelrnn_keras.training import PRECISIONS, card_data, train


def cmd_train(args):
    from pixelrnn_keras.data import split_holdout

    card = zoo_card(args.name)
    check_data(args.data)
    if args.init_weights and not os.path.isfile(args.init_weights):
        raise UsageError(f"--init-weights: no such file {args.init_weights!r}")
    if args.strategy == "multi-worker" and "TF_CONFIG" not in os.environ:
        raise UsageError("--strategy multi-worker needs the cluster in the TF_CONFIG environment variable")
    if is_card_data(card, args.data) and not (args.split or args.resize):
        train_images, eval_images = card_data(card, args.data, args.data_dir)
    else:  # any other images: a tenth of them (at least one) held out for validation
        images = images_for(card, args)
        if len(images) < 2:
            raise UsageError(f"--data: needs at least 2 images (one is held out for validation); {args.data!r} has 1")
        fraction = max(0.1, 1 / len(images))
        train_images, eval_images = split_holdout(images, fraction, seed=0)
        if card.config.get("num_classes"):  # the labels split as the images (same count, same seed)
            labels = split_holdout(labels_for(args), fraction, seed=0)
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
        learning_rate=args.learning_rate,
        precision=args.precision,
    )
    print(f"wrote {final}")


def _strategy(name):
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return None


def add_commands(commands):
    """Adds this group's commands to the `pixelrnn` subparsers `commands`."""
    train = commands.add_parser(
        "train",
        help="train a zoo entry's model with its recipe (resumes after an interruption)",
        description="Train the model of a zoo entry with its recipe, on the entry's data set or on your own "
        "images (a tenth held out for validation). Killed and started again with the same command, it "
        "resumes from the last finished epoch and ends with the same weights.",
    )
    train.add_argument("name", help="a zoo entry (pixelrnn zoo list): the architecture and recipe")
    add_data_arguments(train, "the entry's .npz file or tensorflow-datasets name, or your .npz file or image folder")
    train.add_argument("--data-dir", help="tensorflow-datasets data_dir (prepared; nothing is downloaded)")
    train.add_argument("--workdir", help="checkpoints, log, samples, TensorBoard and weights (default runs/NAME)")
    train.add_argument("--epochs", type=positive_int, help="default: the recipe's")
    train.add_argument("--steps-per-epoch", type=positive_int, help="default: the recipe's")
    train.add_argument(
        "--learning-rate",
        type=positive_float,
        help="peak learning rate of the cosine schedule (default: the recipe's); lower for a leg from trained weights",
    )
    train.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="Keras dtype policy to train under (default: the recipe's); which is faster depends on the CPU: "
        "python bench/recipes.py --entries NAME times both",
    )
    train.add_argument("--seed", type=non_negative_int, default=0, help="initialisation and data order")
    train.add_argument(
        "--init-weights",
        help="start from these weights of the same model (a warm start), or of its network with fewer residual "
        "blocks, fewer hidden units and/or without classes: the added blocks, units and "
        "class layers start so that the model is exactly that network",
    )
    train.add_argument("--samples-every", type=non_negative_int, default=1, help="epochs between sample grids; 0: none")
    train.add_argument("--num-samples", type=positive_int, default=16, help="images per sample grid")
    train.add_argument("--no-tensorboard", dest="tensorboard", action="store_false", help="write no TensorBoard logs")
    train.add_argument(
        "--strategy",
        choices=["one", "mirrored", "multi-worker"],
        default="one",
        help="one device; MirroredStrategy over this machine's GPUs; MultiWorkerMirroredStrategy (TF_CONFIG)",
    )
    train.set_defaults(prog=train.prog, run=cmd_train)
