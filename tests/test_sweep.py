"""zoo/sweep.py: variants of a recipe trained for the same time, resumable, with a clear error for bad keys."""

import importlib.util
import os

import numpy as np
import pytest

from pixelrnn_keras import data as datasets
from pixelrnn_keras.zoo.cards import read_cards

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")


def _sweep():
    spec = importlib.util.spec_from_file_location("sweep", os.path.join(ROOT, "zoo", "sweep.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_variants_change_one_key_each_from_the_base():
    sweep, card = _sweep(), read_cards()["cifar10_pixelcnn"]
    base = [sweep.parse_setting("num_layers=6", card, "--base")]
    vary = [sweep.parse_setting(text, card, "--vary") for text in ("hidden=64", "batch_size=32")]
    plain, wide, big_batch = sweep.variants(card, base, vary)
    assert [v.label for v in (plain, wide, big_batch)] == ["base", "hidden=64", "batch_size=32"]
    assert plain.card.config == {**card.config, "num_layers": 6}
    assert wide.card.config == {**plain.card.config, "hidden": 64} and wide.card.training == plain.card.training
    assert big_batch.card.training == {**plain.card.training, "batch_size": 32}
    assert big_batch.card.config == plain.card.config


@pytest.mark.parametrize("text, message", [("widht=64", "'widht' is neither"), ("hidden", "expected key=value")])
def test_bad_setting_names_the_argument(text, message):
    sweep = _sweep()
    with pytest.raises(SystemExit, match=f"--vary: {message}"):
        sweep.parse_setting(text, read_cards()["mnist_pixelcnn"], "--vary")


def test_variants_are_timed_round_robin_and_each_trains_its_timed_steps_and_resumes(tmp_path):
    sweep, card = _sweep(), read_cards()["mnist_pixelcnn"]
    small = [("num_layers", 1), ("hidden", 4), ("head_units", 8), ("batch_size", 8)]
    runs = sweep.variants(card, small, [("batch_size", 4)])
    images = datasets.load(os.path.join(DATA, "binarized_mnist_small.npz"), split="train")[:64].astype(np.uint8)
    seconds = sweep.seconds_per_step(runs, images, str(tmp_path), steps=2, rounds=2)
    assert sorted(seconds) == ["base", "batch_size=4"] and all(s > 0 for s in seconds.values())
    assert sweep.seconds_per_step(runs, images, str(tmp_path), steps=2, rounds=2) == seconds  # kept
    folder = str(tmp_path / runs[0].folder)
    row = sweep.run_variant(runs[0], seconds["base"], images, images[:16], folder, minutes=0.05, points=2)
    steps_per_epoch = max(1, round(0.05 * 60 / seconds["base"] / 2))
    assert row["images"] == 2 * steps_per_epoch * 8 and len(row["curve"]) == 2
    assert np.all(np.isfinite(row["curve"])) and row["params"] > 0
    assert sweep.run_variant(runs[0], seconds["base"], images, images[:16], folder, minutes=0.05, points=2) == row
    assert "| base |" in sweep.table([row], 0.05)
