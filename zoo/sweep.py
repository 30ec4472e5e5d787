"""Size a zoo entry for this machine: variants of its recipe, each trained for the same CPU time.

    python zoo/sweep.py cifar10_pixelcnn --data ../shared/data/cifar10_train.npz \
        --base num_layers=6 --vary num_layers=12 --vary hidden=64 --vary head_units=256 \
        --vary batch_size=32 --minutes 10 --workdir runs/sweep_cifar10_pixelcnn

The base is the card's model and recipe with the --base changes; each --vary value gives one more
variant that differs from the base in that key only (a config key such as hidden, or a recipe key
such as batch_size). Every variant trains from scratch for `--minutes`: its number of steps is set
from its own seconds per step, timed first for all variants round robin (so that all meet the same
load), and its cosine schedule runs over exactly those steps. The table compares the validation
bits/dim the recipe's run reports (its seeded `validation_images` of the held-out split) after the
same time: the best size per CPU-hour. Interrupted, the same command resumes (timings and runs are
kept in the workdir).
"""

import argparse
import dataclasses
import json
import os
import tempfile
import time

import keras
import numpy as np

from pixelrnn_keras.files import atomic_path
from pixelrnn_keras.training import card_data, train
from pixelrnn_keras.zoo.cards import read_cards


@dataclasses.dataclass(frozen=True)
class Variant:
    label: str  # "base" or "key=value"
    card: object  # the ModelCard it trains

    @property
    def folder(self):
        return self.label.replace("=", "-")


def parse_setting(text, card, argument):
    """("key", value) of a `key=value` argument; value as JSON where it parses (numbers), else text."""
    key, sep, value = text.partition("=")
    if not sep or not value:
        raise SystemExit(f"{argument}: expected key=value, got {text!r}")
    if key not in card.config and key not in card.training:
        raise SystemExit(f"{argument}: {key!r} is neither a config nor a recipe key of {card.name!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def with_setting(card, key, value):
    """`card` with config or recipe `key` set to `value`."""
    if key in card.config:
        return dataclasses.replace(card, config={**card.config, key: value})
    return dataclasses.replace(card, training={**card.training, key: value})


def variants(card, base, vary):
    """The base variant (`card` with the `base` settings) and one per (key, value) of `vary`."""
    for key, value in base:
        card = with_setting(card, key, value)
    return [Variant("base", card)] + [Variant(f"{key}={value}", with_setting(card, key, value)) for key, value in vary]


class _StepTimes(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def seconds_per_step(variants, train_images, workdir, steps, rounds):
    """{label: median seconds per training step} of `variants`, timed round robin: in each of
    `rounds` rounds every variant trains `steps` steps (and three first ones, which compile and are
    left out), so that all meet the same load of a shared machine. Kept in ``workdir/timing.json``:
    a resumed sweep trains for the same steps."""
    record = os.path.join(workdir, "timing.json")
    if os.path.exists(record):
        with open(record) as f:
            return json.load(f)
    intervals = {variant.label: [] for variant in variants}
    for _ in range(rounds):
        for variant in variants:
            timer = _StepTimes()
            batch = variant.card.training["batch_size"]
            few = tuple(a[:batch] for a in train_images) if isinstance(train_images, tuple) else train_images[:batch]
            with tempfile.TemporaryDirectory() as folder:
                train(variant.card, train_images, few, folder, epochs=1, steps_per_epoch=steps + 3, samples_every=0,
                      tensorboard=False, callbacks=[timer], verbose=0)  # fmt: skip
            intervals[variant.label] += list(np.diff(timer.times[2:]))
    seconds = {label: float(np.median(times)) for label, times in intervals.items()}
    os.makedirs(workdir, exist_ok=True)
    with atomic_path(record) as partial, open(partial, "w") as f:
        json.dump(seconds, f, indent=1)
    return seconds


def run_variant(variant, seconds, train_images, eval_images, folder, minutes, points):
    """Trains `variant` for `minutes` of steps of `seconds` each; a row of the sweep's table."""
    steps_per_epoch = max(1, round(minutes * 60 / seconds / points))
    model, _ = train(variant.card, train_images, eval_images, os.path.join(folder, "run"), epochs=points,
                     steps_per_epoch=steps_per_epoch, samples_every=0, tensorboard=False)  # fmt: skip
    with open(os.path.join(folder, "run", "log.csv")) as f:
        header, *lines = [line.strip().split(",") for line in f if line.strip()]
    curve = [float(line[header.index("val_bits_per_dim")]) for line in lines]
    batch = variant.card.training["batch_size"]
    return {
        "variant": variant.label,
        "params": model.count_params(),
        "seconds_per_step": seconds,
        "images_per_second": batch / seconds,
        "images": points * steps_per_epoch * batch,
        "curve": curve,
    }


def table(rows, minutes):
    lines = [
        f"| variant | params | s/step | train img/s | images in {minutes:g} min | val bits/dim (curve) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        curve = ", ".join(f"{value:.4f}" for value in row["curve"])
        lines.append(
            f"| {row['variant']} | {row['params']:,} | {row['seconds_per_step']:.3f} | "
            f"{row['images_per_second']:.1f} | {row['images']:,} | **{row['curve'][-1]:.4f}** ({curve}) |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="a zoo entry")
    parser.add_argument("--data", required=True, help="the card's data file (as for pixelrnn train)")
    parser.add_argument("--base", action="append", default=[], help="key=value: a change to the card for every variant")
    parser.add_argument("--vary", action="append", default=[], help="key=value: one more variant")
    parser.add_argument("--minutes", type=float, default=10, help="training time of each variant")
    parser.add_argument("--points", type=int, default=4, help="validations per variant (the curve)")
    parser.add_argument("--timing-steps", type=int, default=10, help="steps timed per variant and round")
    parser.add_argument("--timing-rounds", type=int, default=3, help="rounds of timing, all variants in each")
    parser.add_argument("--workdir", help="default runs/sweep_NAME")
    args = parser.parse_args(argv)

    cards = read_cards()
    if args.name not in cards:
        raise SystemExit(f"name: no zoo entry {args.name!r}")
    card = cards[args.name]
    if args.minutes <= 0 or args.points < 1 or args.timing_steps < 2 or args.timing_rounds < 1:
        raise SystemExit("--minutes must be > 0, --points >= 1, --timing-steps >= 2 and --timing-rounds >= 1")
    base = [parse_setting(text, card, "--base") for text in args.base]
    vary = [parse_setting(text, card, "--vary") for text in args.vary]
    workdir = args.workdir or os.path.join("runs", f"sweep_{card.name}")
    train_images, eval_images = card_data(card, args.data)
    runs = variants(card, base, vary)
    seconds = seconds_per_step(runs, train_images, workdir, args.timing_steps, args.timing_rounds)
    rows = []
    for variant in runs:
        folder = os.path.join(workdir, variant.folder)
        rows.append(
            run_variant(variant, seconds[variant.label], train_images, eval_images, folder, args.minutes, args.points)
        )
        print(table(rows[-1:], args.minutes).splitlines()[-1], flush=True)
    text = table(rows, args.minutes)
    with atomic_path(os.path.join(workdir, "sweep.md")) as partial, open(partial, "w") as f:
        f.write(f"{card.name}, base: {', '.join(args.base) or 'the card'}\n\n{text}")
    print(text)
    return rows


if __name__ == "__main__":
    main()
