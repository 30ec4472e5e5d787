"""One-pixel steps vs. a forward pass at 32x32x3 (issue #19): cached sampling's images/s over log_prob's.

For each CIFAR-10 zoo entry's network (its card's config, fresh weights: the speed does not depend on
them), at one batch size: images/s of `log_prob` and of the cached sampler (XLA), as `sample` runs it
(along diagonals where the network can, sampling/wavefront.py; its batch in `default_parts` parts,
sampling/parts.py) and in raster order (`generate(..., wavefront=False)`, the steps the codec runs,
its noise drawn in the call as `sample` draws it), timed round robin in one run (medians, after a call
of each that compiles), and the ratios to log_prob (issue #19 asks for >= 0.5 at batch 64).

Run from the project root:  python bench/steps.py [--batch 64] [--rounds 3] [--entries cifar10_row,...]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from timing import medians, progress, round_robin  # noqa: E402

from pixelrnn_keras import PixelRNN  # noqa: E402
from pixelrnn_keras.sampling import generate, gumbel_noise  # noqa: E402
from pixelrnn_keras.sampling.parts import default_parts  # noqa: E402
from pixelrnn_keras.zoo import get_card  # noqa: E402

ENTRIES = "cifar10_pixelcnn,cifar10_row,cifar10_diag,cifar10_gated"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", default=ENTRIES, help="zoo entries whose networks are timed")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="round-robin rounds (the median counts)")
    return parser.parse_args()


def tasks_of(name, batch):
    """{"log_prob", "steps", "raster steps"}: callables that run one batch of the entry's network, each
    called once."""
    model = PixelRNN(**get_card(name).config)
    images = tf.constant(np.random.default_rng(0).integers(0, model.levels, (batch, *model.image_shape)), tf.int32)
    known = tf.zeros(images.shape, tf.bool)

    def in_raster_order():
        gumbel = gumbel_noise(batch, model.image_shape, model.levels, 0)
        return generate(model, gumbel, 1.0, images, known, keep_logits=False, wavefront=False)[0].numpy()

    tasks = {
        "log_prob": lambda: model.log_prob(images).numpy(),
        "steps": lambda: model.sample(batch, seed=0).numpy(),
        "raster steps": in_raster_order,
    }
    progress(f"{name}: compiling")
    for task in tasks.values():
        task()
    return tasks


def main():
    args = parse_args()
    tf.get_logger().setLevel("ERROR")
    names = args.entries.split(",")
    tasks = {(name, task): run for name in names for task, run in tasks_of(name, args.batch).items()}
    seconds = medians(round_robin(tasks, args.rounds, log=progress))
    print(
        f"\nbatch {args.batch}, medians of {args.rounds} rounds, load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs; images/s:\n"
    )
    print(f"{default_parts(args.batch)} parts\n")
    print("| network | log_prob | sampling, raster order | / log_prob | sampling | / log_prob | steps |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        rate = {task: args.batch / seconds[name, task] for task in ("log_prob", "raster steps", "steps")}
        before, now = rate["raster steps"], rate["steps"]
        wave = PixelRNN(**get_card(name).config).wavefront()
        order = "raster" if wave is None else "a pixel" if wave.slots == 1 else f"diagonals, slope {wave.slope}"
        print(
            f"| {name} | {rate['log_prob']:.1f} | {before:.1f} | {before / rate['log_prob']:.2f} | {now:.1f} | "
            f"{now / rate['log_prob']:.2f} | {order} |"
        )


if __name__ == "__main__":
    main()
