"""`pixelrnn sample` and `pixelrnn complete`: PNG grids drawn from a zoo model."""

import sys

from pixelrnn_keras.cli.common import (
    add_data_arguments,
    add_sampling_arguments,
    batch_labels,
    batch_seed,
    check_model,
    check_out,
    class_labels,
    images_for,
    in_batches,
    load_checked_model,
    zoo_card,
)


def cmd_sample(args):
    from pixelrnn_keras.images import save_png, to_grid

    card = zoo_card(args.name)
    num = args.num or (len(args.label) if args.label and len(args.label) > 1 else 16)
    labels = class_labels(args.label, card.config.get("num_classes"), num, card.name)
    check_model(card.name, args.weights)
    check_out(args.out)
    model = load_checked_model(card.name, args.weights)
    print(f"sampling {num} images from {args.name} ...", file=sys.stderr)
    images = in_batches(
        num,
        args.batch_size,
        "sample",
        lambda start, count, index: model.sample(
            count,
            seed=batch_seed(args.seed, index),
            temperature=args.temperature,
            **batch_labels(labels, start, count),
        ),
    )
    save_png(to_grid(images, model.levels), args.out, scale=args.scale)
    print(f"wrote {args.out}")


def cmd_complete(args):
    import numpy as np

    from pixelrnn_keras.images import save_png, to_grid

    card = zoo_card(args.name)
    num = args.num or (len(args.label) if args.label and len(args.label) > 1 else 8)
    check_model(card.name, args.weights)
    check_out(args.out)
    images = images_for(card, args)[:num]
    labels = class_labels(args.label, card.config.get("num_classes"), len(images), card.name)
    model = load_checked_model(card.name, args.weights)
    known = np.zeros(images.shape, bool)
    known[:, : model.image_shape[0] // 2] = True  # the top half is kept, the bottom half sampled
    print(f"completing {len(images)} images with {args.name} ...", file=sys.stderr)
    completed = in_batches(
        len(images),
        args.batch_size,
        "complete",
        lambda start, count, index: model.complete(
            images[start : start + count],
            known[start : start + count],
            seed=batch_seed(args.seed, index),
            temperature=args.temperature,
            **batch_labels(labels, start, count),
        ),
    )
    shown = np.concatenate([np.where(known, images, 0), completed, images])
    save_png(to_grid(shown, model.levels, columns=len(images)), args.out, scale=args.scale)
    print(f"wrote {args.out} (rows: top halves, completions, originals)")


def add_commands(commands):
    """Adds this group's commands to the `pixelrnn` subparsers `commands`."""
    sample = commands.add_parser("sample", help="a PNG grid of samples from a zoo model")
    sample.add_argument("name", help="a zoo entry (pixelrnn zoo list)")
    add_sampling_arguments(sample, 16, "samples.png")
    sample.set_defaults(prog=sample.prog, run=cmd_sample)

    complete = commands.add_parser("complete", help="complete the bottom halves of images (PNG grid)")
    complete.add_argument("name", help="a zoo entry (pixelrnn zoo list)")
    add_data_arguments(complete, ".npz file or image folder with images of the model's shape")
    add_sampling_arguments(complete, 8, "completions.png")
    complete.set_defaults(prog=complete.prog, run=cmd_complete)
