"""Sampling speed: the naive reference loop vs. the cached one, side by side (issue #3).

For each arch, at 28x28x1 (binary) and 32x32x3 (256 levels), with one model per case:

- images/s of both samplers with XLA on and off, and the speed-up over the faster naive run;
- the first call's time beyond a steady call (tracing and compilation), reported separately;
- the cached sampler's time per pixel at a second, smaller image size: it should not grow
  with the image (the work per image grows linearly with its pixels);
- the same model's `log_prob` of a batch (a forward pass, the same arithmetic as sampling's steps
  but for the noise), in the same round robin, and each sampler's images/s over its images/s
  ("x log_prob").

The naive sampler costs one full forward pass per sub-pixel, far too long to run whole here
(minutes per batch). It is timed on its own loop, completing images whose last N sub-pixels
are unknown (the loop runs no pass where every image knows a sub-pixel), and extrapolated:
per sub-pixel = (T(N unknown) - T(none unknown)) / N; whole image = T(none) + H*W*C * that.
Such rows are marked "extrapolated".

Run from the project root:  python bench/sample.py [--quick]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from timing import medians, round_robin, seconds_of  # noqa: E402

from pixelrnn_keras import PixelRNN  # noqa: E402
from pixelrnn_keras.layers import list_archs  # noqa: E402
from pixelrnn_keras.sampling import generate, gumbel_noise  # noqa: E402

CASES = [((28, 28, 1), 2), ((32, 32, 3), 256)]
ARCHS = list_archs()


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 layers, 4 naive sub-pixels")
    parser.add_argument("--archs", default=",".join(ARCHS))
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--layers", type=int, default=7)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--head-units", type=int, default=32)
    parser.add_argument("--naive-subpixels", type=int, default=16, help="N, the sub-pixels the naive loop draws")
    parser.add_argument("--rounds", type=int, default=3, help="round-robin rounds of steady calls (the median counts)")
    args = parser.parse_args()
    if args.quick:
        args.layers, args.naive_subpixels = 2, 4
    return args


def sampler(model, method, jit, known):
    """A function that samples one batch, every sub-pixel unknown where `known` (batch, H, W, C) is False,
    its noise drawn in the call as `sample` draws it."""
    values = tf.zeros(known.shape, tf.int32)
    known = tf.constant(known)

    def run():
        gumbel = gumbel_noise(known.shape[0], model.image_shape, model.levels, seed=0)
        return generate(model, gumbel, 1.0, values, known, method, jit)[0].numpy()

    return run


def cached_sampler(model, jit, args):
    return sampler(model, "cached", jit, np.zeros((args.batch, *model.image_shape), bool))


def measure(model, args):
    """({(sampler, jit): (first call's extra time over a steady call, seconds per batch, extrapolated)}
    for both samplers with XLA on and off, seconds of a batch's log_prob); the steady calls are timed
    round robin (medians)."""
    known = np.ones((args.batch, model.num_dims), bool)
    known[:, -args.naive_subpixels :] = False
    known = known.reshape(args.batch, *model.image_shape)
    tasks = {}
    for jit in (True, False):
        tasks["cached", jit] = cached_sampler(model, jit, args)
        tasks["naive", jit] = sampler(model, "naive", jit, known)
        tasks["naive, all known", jit] = sampler(model, "naive", jit, np.ones_like(known))
    images = tf.constant(np.random.default_rng(0).integers(0, model.levels, (args.batch, *model.image_shape)), tf.int32)
    tasks["log_prob"] = lambda: model.log_prob(images).numpy()
    first = {name: seconds_of(fn)[0] for name, fn in tasks.items()}
    steady = medians(round_robin(tasks, args.rounds))
    rows = {}
    for jit in (True, False):
        # The naive loop, extrapolated from its last `naive_subpixels` sub-pixels (see the module docstring).
        overhead = steady["naive, all known", jit]
        per_sub_pixel = max(steady["naive", jit] - overhead, 0.0) / args.naive_subpixels
        rows["naive", jit] = (
            first["naive", jit] - steady["naive", jit],
            overhead + per_sub_pixel * model.num_dims,
            True,
        )
        rows["cached", jit] = (first["cached", jit] - steady["cached", jit], steady["cached", jit], False)
    rows = {
        key: (max(compile_s, 0.0), seconds, extrapolated) for key, (compile_s, seconds, extrapolated) in rows.items()
    }
    return rows, steady["log_prob"]


def build(arch, shape, levels, args):
    return PixelRNN(arch, shape, levels=levels, num_layers=args.layers, hidden=args.hidden, head_units=args.head_units)


def main():
    args = parse_args()
    tf.get_logger().setLevel("ERROR")  # one model per case: tf.function's retracing warnings are expected
    archs = args.archs.split(",")
    print(
        f"models: {args.layers} layers, hidden {args.hidden}, head {args.head_units}; batch {args.batch}; "
        f"naive extrapolated from its last {args.naive_subpixels} sub-pixels; median of {args.rounds} round-robin rounds; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    header = (
        f"{'arch':<16} {'image':<8} {'sampler':<7} {'XLA':<4} {'compile s':>9} {'s/batch':>9} {'images/s':>9} "
        f"{'x best naive':>12} {'x log_prob':>10}"
    )
    print(header)
    print("-" * len(header))
    full_size = {}  # (arch, shape) -> the cached sampler (XLA) of the table's model, for the second part
    for shape, levels in CASES:
        image = "x".join(map(str, shape))
        for arch in archs:
            model = build(arch, shape, levels, args)
            rows, log_prob_seconds = measure(model, args)
            full_size[arch, shape] = cached_sampler(model, True, args)
            best_naive = min(rows["naive", True][1], rows["naive", False][1])
            for (method, jit), (compile_s, seconds, extrapolated) in rows.items():
                note = "  extrapolated" if extrapolated else ""
                print(
                    f"{arch:<16} {image:<8} {method:<7} {'on' if jit else 'off':<4} {compile_s:>9.1f} "
                    f"{seconds:>9.3f} {args.batch / seconds:>9.2f} {best_naive / seconds:>11.1f}x "
                    f"{log_prob_seconds / seconds:>9.2f}x{note}"
                )
    print()
    print("cached sampler (XLA), time per pixel at two image sizes of one model config (calls round robin):")
    print("the work per image is linear in its pixels if the ratio is ~1")
    for shape, levels in CASES:
        small = (shape[0] // 2, shape[1] // 2, shape[2])
        for arch in archs:
            runs = {small: cached_sampler(build(arch, small, levels, args), True, args), shape: full_size[arch, shape]}
            runs[small]()  # compile
            seconds = medians(round_robin(runs, args.rounds))
            per_pixel = [seconds[size] / (size[0] * size[1]) * 1e6 for size in (small, shape)]
            print(
                f"{arch:<16} {'x'.join(map(str, small)):>8}: {per_pixel[0]:7.1f} us/pixel  "
                f"{'x'.join(map(str, shape)):>8}: {per_pixel[1]:7.1f} us/pixel  ratio {per_pixel[1] / per_pixel[0]:.2f}"
            )


if __name__ == "__main__":
    main()
