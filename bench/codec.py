"""Lossless compression: the codec's bytes per image vs. PNG, WebP and gzip / xz, and its speed (issue #8).

Two real image sets from tests/data, each with a model:

- binarized MNIST (28x28, 2 levels): the first N validation images, with the bundled `mnist_diag`
  weights (not trained on these images), or another zoo model (--mnist-model, --mnist-weights;
  a `MultiScalePixelRNN` such as mnist_multiscale too);
- CIFAR-10 (32x32x3, 256 levels): the bundled `cifar10_diag` weights (--cifar-model), a CPU-sized
  model (see its card), on images its recipe held out of training: the 100 of
  tests/data/cifar10_holdout_small.npz, or with --cifar-data the first --cifar-images of all.

For each set, in one run: the codec's stream (header included) and payload per image against the
model's NLL in bits (the payload must be within 1% of it); PNG (Pillow, optimize=True; 1-bit PNG
for binary images), WebP lossless (Pillow, method 6) one file per image; gzip -9 and xz -9e of the
raw pixels of the whole set at once (one byte per sub-pixel, and np.packbits for binary images);
and the speed of one batch of `--batch` images (the first of the set, repeated if it has fewer):
encode, decode and the model's cached sampler, images/s at that batch, timed round robin
(medians of `--rounds`; every task once before, to compile), and their ratios to sampling;
`--batch 16,32,64,128` measures the speed at each of those batch sizes (the first codes the set).

Run from the project root:  python bench/codec.py [--quick]
"""

import argparse
import gzip
import io
import lzma
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image, features  # noqa: E402
from timing import medians, progress, round_robin  # noqa: E402

from pixelrnn_keras import data  # noqa: E402
from pixelrnn_keras.codec import compress, decompress  # noqa: E402
from pixelrnn_keras.codec.header import parse  # noqa: E402
from pixelrnn_keras.zoo import get_card, load  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "data")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: few images")
    parser.add_argument("--mnist-images", type=int, default=256)
    parser.add_argument("--cifar-model", default="cifar10_diag", help="a CIFAR-10 zoo model with weights")
    parser.add_argument(
        "--cifar-data", help="cifar10_4k.npz, to code its held-out images (default: those in tests/data)"
    )
    parser.add_argument("--cifar-images", type=int, default=100, help="at most this many held-out CIFAR-10 images")
    parser.add_argument(
        "--batch", type=batch_sizes, default=[64], help="the codec's (and the sampler's) batch size, or several: 16,64"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="round-robin rounds of the speed tasks (the median counts)"
    )
    parser.add_argument("--mnist-model", default="mnist_diag", help="the zoo model for MNIST, e.g. mnist_multiscale")
    parser.add_argument("--mnist-weights", help="a .weights.h5 file for it instead of its bundled weights")
    parser.add_argument("--no-cifar", action="store_true", help="the MNIST set only")
    args = parser.parse_args()
    if args.quick:
        args.mnist_images, args.cifar_images, args.batch, args.rounds = 16, 8, [16], 1
    return args


def batch_sizes(text):
    sizes = [int(size) for size in text.split(",")]
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"batch sizes must be positive, got {text!r}")
    return sizes


def png_bytes(image, levels):
    """Optimised PNG of one image: 1-bit for binary images, else 8-bit grey or RGB."""
    if levels == 2:
        picture = Image.fromarray(image[..., 0].astype(bool))
    else:
        picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return buffer.tell()


def webp_bytes(image, levels):
    pixels = image * (255 // (levels - 1))
    picture = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    buffer = io.BytesIO()
    picture.save(buffer, format="WEBP", lossless=True, quality=100, method=6)
    return buffer.tell()


def baselines(images, levels):
    """{method: bytes per image} of the classical coders."""
    n = len(images)
    raw = np.ascontiguousarray(images, np.uint8).tobytes()
    sizes = {"PNG, optimised (per image)": sum(png_bytes(x, levels) for x in images) / n}
    if features.check("webp"):
        sizes["WebP lossless (per image)"] = sum(webp_bytes(x, levels) for x in images) / n
    sizes["gzip -9, raw bytes (whole set)"] = len(gzip.compress(raw, 9)) / n
    sizes["xz -9e, raw bytes (whole set)"] = len(lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME)) / n
    if levels == 2:
        packed = np.packbits(images.astype(bool)).tobytes()
        sizes["gzip -9, packed bits (whole set)"] = len(gzip.compress(packed, 9)) / n
        sizes["xz -9e, packed bits (whole set)"] = len(lzma.compress(packed, preset=9 | lzma.PRESET_EXTREME)) / n
    return sizes


def measure_size(model, images, batch):
    """(stream bytes, payload bytes, NLL bits) of the whole set; checks the round trip."""
    progress(f"{model.name}: coding {len(images)} images at batch {batch}")
    stream = compress(model, images, batch_size=batch)
    if not np.array_equal(decompress(model, stream), images):
        raise SystemExit(f"{model.name}: the decoded images differ from the originals")
    nll_bits = -float(sum(np.sum(model.log_prob(images[k : k + 50])) for k in range(0, len(images), 50))) / np.log(2)
    return len(stream), parse(stream)[1].nbytes, nll_bits


def measure_speed(model, images, batch, rounds):
    """{"encode", "decode", "sample": images/s} of one batch of `batch` images, round robin."""
    images = np.resize(images, (batch, *images.shape[1:]))  # the set, repeated if it has fewer
    stream = compress(model, images, batch_size=batch)
    tasks = {
        "encode": lambda: compress(model, images, batch_size=batch),
        "decode": lambda: decompress(model, stream),
        "sample": lambda: np.asarray(model.sample(batch, seed=0)),
    }
    progress(f"{model.name}: speed at batch {batch}, {rounds} rounds (after a call of each, to compile)")
    for task in tasks.values():
        task()
    seconds = medians(round_robin(tasks, rounds, log=progress))
    return {name: batch / value for name, value in seconds.items()}


def held_out_cifar(card, path):
    """The images of the card's training file that its recipe held out (never trained on)."""
    if path:
        images = data.load(path, split=card.data["train_split"])
        return images[card.held_out(len(images))]
    if card.data["file"] == "cifar10_train.npz":  # 100 of its 2000 held-out images, with their indices
        with np.load(os.path.join(DATA, "cifar10_holdout_small.npz")) as held:
            return held["x_train"]
    images = data.load(os.path.join(DATA, "cifar10_small.npz"))
    held = card.held_out(4000)  # cifar10_small.npz holds the first 200 of the 4000 in cifar10_4k.npz
    return images[held[held < len(images)]]


def report(title, model, images, batches, rounds):
    dims = int(np.prod(images.shape[1:]))
    stream, payload, nll = measure_size(model, images, batches[0])
    speeds = {batch: measure_speed(model, images, batch, rounds) for batch in batches}
    rows = [
        ("model NLL (the codec's target)", nll / 8 / len(images)),
        ("**this codec** (stream, header included)", stream / len(images)),
        ("this codec, payload only", payload / len(images)),
    ]
    rows += list(baselines(images, model.levels).items())
    print(f"\n### {title}: {len(images)} images, {model.name}\n")
    print("| method | bytes/image | bits/dim |")
    print("|---|---|---|")
    for name, size in rows:
        print(f"| {name} | {size:.1f} | {8 * size / dims:.4f} |")
    if not features.check("webp"):
        print("\n(WebP: Pillow here has no WebP support, so it is not measured.)")
    print(f"\npayload / NLL = {8 * payload / nll:.5f}; header {stream - payload} bytes per stream")
    for batch, rates in speeds.items():
        print(
            f"batch {batch}, medians of {rounds} rounds, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
            f"CPUs: encode {rates['encode']:.2f}, decode {rates['decode']:.2f}, cached sampling {rates['sample']:.2f} "
            f"images/s; encode / sampling {rates['encode'] / rates['sample']:.2f}, "
            f"decode / sampling {rates['decode'] / rates['sample']:.2f}"
        )


def main():
    args = parse_args()
    mnist = data.load(os.path.join(DATA, "binarized_mnist_small.npz"), split="valid")[: args.mnist_images]
    model = load(args.mnist_model, weights=args.mnist_weights or "pretrained")
    report("binarized MNIST (28x28, 2 levels)", model, mnist, args.batch, args.rounds)
    if args.no_cifar:
        return
    card = get_card(args.cifar_model)
    held_out = held_out_cifar(card, args.cifar_data)[: args.cifar_images]
    model = load(args.cifar_model)
    report("CIFAR-10 (32x32x3, 256 levels), images held out of training", model, held_out, args.batch, args.rounds)


if __name__ == "__main__":
    main()
