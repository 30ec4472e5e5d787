"""`pixelrnn compress` and `pixelrnn decompress`: lossless coding with a model's likelihoods."""

import os

from pixelrnn_keras.cli.common import (
    UsageError,
    class_labels,
    label_list,
    load_checked_model,
    positive_int,
    progress_bar,
)

# What a folder given as IN contributes: its files with these extensions, in name order.
IMAGE_EXTENSIONS = (".png", ".bmp", ".gif", ".tif", ".tiff", ".npz")


def _input_files(paths):
    """The files of IN: files as given, folders as their image and .npz files in name order."""
    files = []
    for path in paths:
        if not os.path.isdir(path):
            files.append(path)
            continue
        found = sorted(name for name in os.listdir(path) if name.lower().endswith(IMAGE_EXTENSIONS))
        if not found:
            raise UsageError(f"IN: the folder {path!r} holds no {'/'.join(IMAGE_EXTENSIONS)} files")
        files += [os.path.join(path, name) for name in found]
    return files


def _images_bar(label, num_images):
    """A progress callback(done, total) of the codec (rows of batches), shown as one bar over the images."""
    report = progress_bar(label)
    return lambda done, total: report(num_images * done // total, num_images)


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

    model = load_checked_model(args.model, args.weights)
    images = _codec_inputs(_input_files(args.inputs), model)
    # Without --label, a class-conditional model codes each image under its most likely class.
    num_classes = getattr(model, "num_classes", 0)
    labels = None if args.label is None else class_labels(args.label, num_classes, len(images), args.model)
    stream = compress(
        model, images, labels=labels, batch_size=args.batch_size, progress=_images_bar("compress", len(images))
    )
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
    model = load_checked_model(args.model or header.model_name, args.weights)
    # Nothing is written before every image is decoded, and each file through a temporary one:
    # an interrupted run leaves no partial file.
    decoded = decompress(model, stream, progress=_images_bar("decompress", header.num_images))
    images, labels = decoded if isinstance(decoded, tuple) else (decoded, None)  # a class model's labels too
    os.makedirs(args.out, exist_ok=True)
    for k, image in enumerate(images):
        save_png(to_intensities(image, model.levels), os.path.join(args.out, f"{k:06d}.png"))
    if labels is not None:
        with atomic_path(os.path.join(args.out, "labels.txt")) as partial, open(partial, "w") as f:
            f.write("".join(f"{label}\n" for label in labels))
    print(f"wrote {len(images)} PNG files{'' if labels is None else ' and labels.txt'} to {args.out}")


def add_commands(commands):
    """Adds this group's commands to the `pixelrnn` subparsers `commands`."""
    compress = commands.add_parser("compress", help="losslessly compress images with a model's likelihoods")
    compress.add_argument("model", help="a zoo name or a .keras model file")
    compress.add_argument(
        "inputs",
        nargs="+",
        metavar="IN",
        help="image files (8-bit PNG...), .npz arrays of levels, or folders of them (their "
        f"{'/'.join(IMAGE_EXTENSIONS)} files in name order)",
    )
    compress.add_argument("--weights", help="a .weights.h5 file instead of a zoo model's bundled weights")
    compress.add_argument("--batch-size", type=positive_int, help="images per batch of steps (default: up to 128)")
    compress.add_argument(
        "--label",
        type=label_list,
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
