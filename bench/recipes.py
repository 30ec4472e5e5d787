"""The CPU cost of the zoo's training recipes: a training step of zoo entries' models, side by side.

For each entry (its card's config at its recipe's batch size; `NAME:key=value,...` changes config
entries, e.g. the narrower network an earlier leg of its training had) under each `--precision`,
it times `model.train_on_batch` on random images round robin (medians of `--rounds` rounds, after
calls that compile), in wall-clock seconds and in the process's CPU seconds (`time.process_time`,
all threads together), and prints per step both, and the CPU hours of 10,000 steps (40 epochs of
250 steps), so that recipes of different networks can be compared in CPU time on one machine.

Run from the project root:
    python bench/recipes.py --entries cifar10_diag cifar10_gated --precision float32,mixed_bfloat16
    python bench/recipes.py --entries cifar10_gated cifar10_gated:hidden=32 cifar10_gated:hidden=32,num_layers=8
"""

import argparse
import dataclasses
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from timing import medians, progress, round_robin  # noqa: E402

from pixelrnn_keras.training import PRECISIONS  # noqa: E402
from pixelrnn_keras.zoo import get_card  # noqa: E402
from pixelrnn_keras.zoo.registry import build_model  # noqa: E402


def parse_entry(text):
    """(label, card) of one --entries item: a zoo name, with optional config changes after a colon."""
    name, _, changes = text.partition(":")
    try:
        card = get_card(name)
    except ValueError as err:
        raise SystemExit(f"--entries: {err}") from None
    if changes:
        config = dict(card.config)
        for change in changes.split(","):
            key, equals, value = change.partition("=")
            if not equals or key not in config:
                raise SystemExit(f"--entries: {text!r}: use key=value with keys of {name}'s config {sorted(config)}")
            config[key] = json.loads(value)
        card = dataclasses.replace(card, config=config)
    return text, card


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--entries", nargs="+", default=["cifar10_diag", "cifar10_gated"], help="zoo entries: NAME[:key=value,...]"
    )
    parser.add_argument("--precision", default="float32,mixed_bfloat16", help=f"comma-separated, of {PRECISIONS}")
    parser.add_argument("--rounds", type=int, default=5, help="round-robin rounds (the median counts)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps after the one that compiles")
    args = parser.parse_args()
    args.precision = args.precision.split(",")
    if not set(args.precision) <= set(PRECISIONS):
        raise SystemExit(f"--precision: each must be one of {PRECISIONS}, got {args.precision}")
    return args


def training_step(card, precision, cpu_seconds, warmup):
    """A callable running one training step of the card's model; it appends its CPU seconds to `cpu_seconds`."""
    model = build_model(card, dtype=precision)
    model.compile(optimizer=keras.optimizers.Adam(1e-4))
    batch = card.training["batch_size"]
    images = np.random.default_rng(0).integers(0, model.levels, (batch, *model.image_shape)).astype("int32")
    for _ in range(1 + warmup):
        model.train_on_batch(images)

    def step():
        start = time.process_time()
        model.train_on_batch(images)
        cpu_seconds.append(time.process_time() - start)

    return model.count_params(), step


def main():
    args = parse_args()
    tf.get_logger().setLevel("ERROR")
    tasks, cpu, params = {}, {}, {}
    for label, card in map(parse_entry, args.entries):
        for precision in args.precision:
            key = label, precision
            progress(f"{label} {precision}: compiling")
            cpu[key] = []
            params[label], tasks[key] = training_step(card, precision, cpu[key], args.warmup)
    wall = medians(round_robin(tasks, args.rounds, log=progress))
    threads = (
        tf.config.threading.get_intra_op_parallelism_threads()
        or os.environ.get("TF_NUM_INTRAOP_THREADS")
        or "TensorFlow's default number of"
    )
    print(
        f"\ntraining steps at each recipe's batch size, medians of {args.rounds} rounds; {threads} intra-op "
        f"threads on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n"
    )
    print("| network | params | precision | wall s/step | CPU s/step | CPU h / 10k steps |")
    print("|---|---|---|---|---|---|")
    for label, precision in tasks:
        cpu_step = float(np.median(cpu[label, precision]))
        print(
            f"| {label} | {params[label]:,} | {precision} | {wall[label, precision]:.3f} | {cpu_step:.3f} | "
            f"{cpu_step * 10_000 / 3600:.2f} |"
        )


if __name__ == "__main__":
    main()
