"""Training runs: resumable after SIGKILL with the same final weights, sample grids, TensorBoard, several devices.

Runs that must die or need devices of their own run in subprocesses (tests/training_child.py).
"""

import csv
import dataclasses
import glob
import io
import json
import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from pixelrnn_keras import PixelRNN
from pixelrnn_keras.callbacks import AtomicBackupAndRestore
from pixelrnn_keras.data import make_step_dataset
from pixelrnn_keras.evaluation import evaluate_nll
from pixelrnn_keras.models import widening
from pixelrnn_keras.training import train

HERE = os.path.dirname(os.path.abspath(__file__))
CHILD = os.path.join(HERE, "training_child.py")
sys.path.insert(0, HERE)
import training_child  # noqa: E402


def child_env(**extra):
    root = os.path.dirname(HERE)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]), **extra}


def start_child(*args, **env):
    return subprocess.Popen(
        [sys.executable, CHILD, *map(str, args)],
        env=child_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process, timeout=300):
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output


# --- The data stream ---------------------------------------------------------------------


def test_step_dataset_restarts_anywhere_and_visits_every_image_once_per_pass():
    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
    stream = [b.numpy().ravel().tolist() for b in make_step_dataset(images, 4, seed=3).take(10)]
    assert all(len(b) == 4 for b in stream)
    flat = sum(stream, [])
    for p in range(4):  # 40 images = 4 passes, each a permutation
        assert sorted(flat[10 * p : 10 * (p + 1)]) == list(range(10))
    assert flat[:10] != flat[10:20]  # reshuffled every pass
    for start in (1, 2, 5, 7):
        restarted = [b.numpy().ravel().tolist() for b in make_step_dataset(images, 4, seed=3, start_step=start).take(3)]
        assert restarted == stream[start : start + 3]
    other_seed = [b.numpy().ravel().tolist() for b in make_step_dataset(images, 4, seed=4).take(3)]
    assert other_seed != stream[:3]


def test_step_dataset_of_labelled_images_keeps_each_label_with_its_image():
    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
    labels = np.arange(10) * 3
    plain = [b.numpy().ravel().tolist() for b in make_step_dataset(images, 4, seed=3, start_step=2).take(5)]
    pairs = list(make_step_dataset(images, 4, seed=3, start_step=2, labels=labels).take(5))
    assert [x.numpy().ravel().tolist() for x, _ in pairs] == plain  # the same order with labels
    for x, y in pairs:
        assert y.dtype == tf.int32 and (y.numpy() == 3 * x.numpy().ravel()).all()
    with pytest.raises(ValueError, match=r"labels must hold one integer >= 0 per image \(10\)"):
        make_step_dataset(images, 4, labels=labels[:9])


@pytest.mark.parametrize("kwargs", [dict(batch_size=0), dict(seed=-1), dict(start_step=-2), dict(start_step=1.5)])
def test_step_dataset_errors(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        make_step_dataset(np.zeros((4, 2, 2, 1), np.uint8), **{"batch_size": 2, **kwargs})


# --- Resuming ----------------------------------------------------------------------------


def test_run_killed_mid_epoch_resumes_to_the_weights_of_an_uninterrupted_run(h5_arrays, tmp_path):
    """SIGKILL in epoch 2 of 3, restart: the final weights (and optimizer state) equal an uninterrupted run's."""
    kill_at = training_child.STEPS + training_child.STEPS // 2  # the middle of the second epoch
    uninterrupted = start_child("run", tmp_path / "whole")
    killed = start_child("run", tmp_path / "killed", "--kill-at-step", kill_at)
    code, output = finish(killed)
    assert code == -signal.SIGKILL, output
    assert not os.path.exists(tmp_path / "killed" / "final.weights.h5")
    state = json.loads((tmp_path / "killed" / "backup" / "state.json").read_text())
    assert state["epoch"] == 1, "the backup should hold the one finished epoch"

    code, output = finish(start_child("run", tmp_path / "killed"))
    assert code == 0, output
    code, output = finish(uninterrupted)
    assert code == 0, output
    whole = h5_arrays(tmp_path / "whole" / "final.weights.h5")
    resumed = h5_arrays(tmp_path / "killed" / "final.weights.h5")
    assert any(key.startswith("optimizer") for key in whole)
    assert whole.keys() == resumed.keys()
    for key in whole:
        np.testing.assert_array_equal(resumed[key], whole[key], err_msg=key)
    with open(tmp_path / "killed" / "log.csv") as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    assert epochs == [0, 1, 2]  # epoch 1 was logged once, after the restart


def card_model():
    model = PixelRNN(**training_child.tiny_card().config)
    model.compile(keras.optimizers.Adam(1e-2))
    return model


def test_backup_restores_weights_optimizer_and_epoch_and_cleans_up(tmp_path):
    images = training_child.digits()[0][:32]
    model = card_model()

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("interrupted")  # before Keras deletes its backup at the end of training

    # A backup of keras.callbacks.BackupAndRestore (after 2 epochs) is restored too.
    with pytest.raises(RuntimeError):
        model.fit(
            images,
            batch_size=16,
            epochs=3,
            verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path / "backup")), Stop()],
        )
    assert os.path.isfile(tmp_path / "backup" / "training_metadata.json")
    assert AtomicBackupAndRestore(tmp_path / "backup").saved_epoch() == 2

    fresh = card_model()
    restore = AtomicBackupAndRestore(tmp_path / "backup")
    history = fresh.fit(images, batch_size=16, epochs=3, callbacks=[restore], verbose=0)
    assert history.epoch == [2] and int(fresh.optimizer.iterations.numpy()) == 6  # Adam's step count came back
    assert sorted(os.listdir(tmp_path / "backup")) == ["epoch-0003.weights.h5", "state.json"]

    # A kill while the next backup is written leaves a partial file behind; the state still names epoch 3.
    (tmp_path / "backup" / "epoch-0004.partial.weights.h5").write_bytes(b"half a file")
    again = card_model()
    restore = AtomicBackupAndRestore(tmp_path / "backup")
    history = again.fit(images, batch_size=16, epochs=3, callbacks=[restore], verbose=0)
    assert history.epoch == []  # all 3 epochs are done already
    for a, b in zip(again.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(again.optimizer.variables, fresh.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# --- Sample grids and TensorBoard --------------------------------------------------------


def read_events(folder):
    """[(tag, step, value, plugin)] of the TensorBoard event files in `folder`."""
    records = []
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                plugin = value.metadata.plugin_data.plugin_name
                records.append((value.tag, event.step, tf.make_ndarray(value.tensor), plugin))
    return records


def test_train_writes_sample_grids_and_tensorboard_curves(tmp_path):
    images, valid = training_child.digits()
    card = training_child.tiny_card()
    model, final = train(card, images, valid, tmp_path, epochs=2, steps_per_epoch=2, verbose=0, num_samples=4)
    assert os.path.isfile(final)

    # One grid per epoch: 4 images of 8x8 in 2x2 tiles with 1-pixel borders, enlarged twice.
    for epoch in (1, 2):
        grid = np.asarray(Image.open(tmp_path / "samples" / f"epoch-{epoch:03d}.png"))
        assert grid.shape == (2 * 19, 2 * 19)
    np.testing.assert_array_equal(
        grid[::2, ::2][1:9, 1:9], np.asarray(model.sample(4, seed=0))[0, ..., 0] * 255
    )  # the last grid is the trained model's samples for the run's seed

    with open(tmp_path / "log.csv") as f:
        log = list(csv.DictReader(f))
    train_events = read_events(tmp_path / "tensorboard" / "train")
    valid_events = read_events(tmp_path / "tensorboard" / "validation")
    for events, prefix in ((train_events, ""), (valid_events, "val_")):
        for name in ("loss", "bits_per_dim"):
            points = [(step, float(v)) for tag, step, v, plugin in events if tag == f"epoch_{name}"]
            assert all(plugin == "scalars" for tag, _, _, plugin in events)
            assert [s for s, _ in points] == [1, 2]
            np.testing.assert_allclose([v for _, v in points], [float(row[prefix + name]) for row in log], rtol=1e-6)
    rates = [float(v) for tag, _, v, _ in train_events if tag == "epoch_learning_rate"]
    assert len(rates) == 2 and rates[1] < rates[0] <= card.training["learning_rate"]  # cosine decay

    pictures = [(step, v, plugin) for tag, step, v, plugin in read_events(tmp_path / "tensorboard" / "samples")]
    assert [(step, plugin) for step, _, plugin in pictures] == [(1, "images"), (2, "images")]
    width, height, png = pictures[-1][1]
    decoded = np.asarray(Image.open(io.BytesIO(png)))
    assert (int(width), int(height)) == (19, 19)
    np.testing.assert_array_equal(decoded, grid[::2, ::2])


def test_learning_rate_override_and_a_seeded_validation_draw(tmp_path):
    """`learning_rate` replaces the recipe's peak; validation uses a seeded draw of the held-out images."""
    images, valid = training_child.digits()
    valid = np.concatenate([valid, 1 - valid])  # 64 held-out images; the recipe validates on 32 of them
    card = training_child.tiny_card()
    model, _ = train(card, images, valid, tmp_path, epochs=1, steps_per_epoch=2, verbose=0, samples_every=0,
                     learning_rate=1e-4)  # fmt: skip
    rates = [
        float(v) for tag, _, v, _ in read_events(tmp_path / "tensorboard" / "train") if tag == "epoch_learning_rate"
    ]
    assert len(rates) == 1 and 0 < rates[0] <= 1e-4 < card.training["learning_rate"]
    pick = np.sort(np.random.default_rng(0).permutation(len(valid))[:32])
    assert not np.array_equal(pick, np.arange(32))  # not simply the first ones
    with open(tmp_path / "log.csv") as f:
        logged = float(list(csv.DictReader(f))[-1]["val_loss"])
    expected = evaluate_nll(model, valid[pick])["nats"]
    assert logged == pytest.approx(expected, rel=1e-5)
    assert logged != pytest.approx(evaluate_nll(model, valid[:32])["nats"], rel=1e-5)


def test_precision_overrides_the_recipes_dtype_policy(tmp_path):
    """`precision` replaces the recipe's "precision"; the weights stay float32 either way."""
    images, valid = training_child.digits()
    card = training_child.tiny_card()
    card = dataclasses.replace(card, training={**card.training, "precision": "mixed_bfloat16"})
    runs = {}
    for precision in (None, "float32"):
        runs[precision], _ = train(card, images, valid, tmp_path / str(precision), epochs=1, steps_per_epoch=1,
                                   verbose=0, samples_every=0, tensorboard=False, precision=precision)  # fmt: skip
    assert runs[None].compute_dtype == "bfloat16" and runs["float32"].compute_dtype == "float32"
    assert all(w.dtype == "float32" for model in runs.values() for w in model.weights)
    with pytest.raises(ValueError, match=r"precision must be one of \('float32', 'mixed_bfloat16'\).*'float16'"):
        train(card, images, valid, tmp_path / "bad", epochs=1, steps_per_epoch=1, verbose=0, precision="float16")
    assert not os.path.exists(tmp_path / "bad")  # refused before anything is written


@pytest.mark.parametrize(
    "arch, skip_connections",
    [("pixelcnn", True), ("row_lstm", False), ("diagonal_bilstm", True), ("gated_pixelcnn", False)],
)
def test_a_warm_start_from_fewer_blocks_is_exactly_the_smaller_model_and_trains_the_new_ones(
    arch, skip_connections, perturb, tmp_path
):
    from pixelrnn_keras.training import load_initial_weights

    config = dict(arch=arch, image_shape=(5, 4, 3), levels=8, hidden=4, head_units=6, skip_connections=skip_connections)
    small = perturb(PixelRNN(**config, num_layers=2), seed=0)
    small.save_weights(str(tmp_path / "small.weights.h5"))
    grown = perturb(PixelRNN(**config, num_layers=4, num_classes=2), seed=1)  # far from zero everywhere
    load_initial_weights(grown, str(tmp_path / "small.weights.h5"))
    images = np.random.default_rng(0).integers(0, 8, (3, 5, 4, 3))
    for label in range(2):
        np.testing.assert_array_equal(grown.log_prob(images, labels=np.full(3, label)), small.log_prob(images))
    # The added blocks keep their fresh insides, so that their zeroed way to the head learns at once.
    assert not np.array_equal(grown.blocks[3].core.weights[0].numpy(), 0)
    to_head = grown.skips[3].kernel if skip_connections else grown.blocks[3].expand.kernel
    with tf.GradientTape() as tape:
        loss = -tf.reduce_sum(grown.log_prob_from_logits(images, grown(images, labels=np.zeros(3, int))))
    assert float(tf.reduce_max(tf.abs(tape.gradient(loss, to_head)))) > 0
    grown.save_weights(str(tmp_path / "grown.weights.h5"))
    with pytest.raises(ValueError, match="holds the weights of neither"):  # not cut short to the first blocks
        load_initial_weights(PixelRNN(**config, num_layers=3, num_classes=2), str(tmp_path / "grown.weights.h5"))
    narrower = PixelRNN(**{**config, "hidden": 3}, num_layers=2)
    with pytest.raises(ValueError, match="neither this model nor its network with fewer residual blocks"):
        load_initial_weights(narrower, str(tmp_path / "small.weights.h5"))


@pytest.mark.parametrize(
    "arch, skip_connections",
    [("pixelcnn", True), ("row_lstm", False), ("diagonal_bilstm", True), ("gated_pixelcnn", False)],
)
def test_a_warm_start_from_fewer_hidden_units_and_blocks_is_exactly_the_narrow_model(
    arch, skip_connections, perturb, tmp_path
):
    """Widening (models/widening.py) keeps each feature's colour group, so the masks keep their meaning:
    with 4 -> 7 hidden units the groups grow unevenly (2h: 3, 3, 2 -> 5, 5, 4 features)."""
    from pixelrnn_keras.training import load_initial_weights

    config = dict(arch=arch, image_shape=(5, 4, 3), levels=8, head_units=6, skip_connections=skip_connections)
    narrow = perturb(PixelRNN(**config, hidden=4, num_layers=2), seed=0)
    narrow.save_weights(str(tmp_path / "narrow.weights.h5"))
    wide = perturb(PixelRNN(**config, hidden=7, num_layers=3), seed=1)
    load_initial_weights(wide, str(tmp_path / "narrow.weights.h5"))
    images = np.random.default_rng(0).integers(0, 8, (3, 5, 4, 3))
    np.testing.assert_allclose(wide.log_prob(images), narrow.log_prob(images), rtol=1e-6)
    # What reads an added feature starts at zero and learns at once: here, the head's first layer.
    with tf.GradientTape() as tape:
        loss = -tf.reduce_sum(wide.log_prob_from_logits(images, wide(images)))
    gradient = tape.gradient(loss, wide.head_hidden.kernel)[0, 0]
    added = np.setdiff1d(np.arange(14), widening.wide_positions(8, 14, 3))
    np.testing.assert_array_equal(wide.head_hidden.kernel.numpy()[0, 0, added], 0)
    assert float(tf.reduce_max(tf.abs(tf.gather(gradient, added)))) > 0


def test_widening_a_conditional_network_is_refused_naming_the_weight(tmp_path):
    """Its condition layers declare no feature axes (an unconditional narrow network does widen into it)."""
    from pixelrnn_keras.training import load_initial_weights

    config = dict(arch="pixelcnn", image_shape=(5, 4, 3), levels=8, head_units=6, num_layers=1, num_classes=2)
    PixelRNN(**config, hidden=4).save_weights(str(tmp_path / "narrow.weights.h5"))
    with pytest.raises(ValueError, match="cannot widen '.*condition.*' .*declares no feature axes"):
        load_initial_weights(PixelRNN(**config, hidden=7), str(tmp_path / "narrow.weights.h5"))


def test_wide_positions_keep_every_feature_in_its_block_and_colour_group():
    from pixelrnn_keras.layers.masks import channel_groups

    for narrow, wide, blocks in [(8, 14, 1), (8, 14, 2), (64, 128, 4), (6, 6, 2), (9, 15, 3)]:
        positions = widening.wide_positions(narrow, wide, 3, blocks)
        assert len(set(positions)) == narrow and positions.max() < wide
        np.testing.assert_array_equal(channel_groups(wide, 3, blocks)[positions], channel_groups(narrow, 3, blocks))
        np.testing.assert_array_equal(positions // (wide // blocks), np.arange(narrow) // (narrow // blocks))
        assert (np.diff(positions) > 0).all()  # in order
    with pytest.raises(ValueError, match="do not fit in 4 group by group"):
        widening.wide_positions(8, 4, 3)


# --- Several devices ---------------------------------------------------------------------


def test_mirrored_strategy_on_two_devices_matches_one_device(tmp_path):
    """Same global batches, same initial weights: the same loss, bits/dim and (nearly) the same weights."""
    code, output = finish(start_child("compare-devices", tmp_path / "out.json"))
    assert code == 0, output
    runs = json.loads((tmp_path / "out.json").read_text())
    one, mirrored = runs["one"], runs["mirrored"]
    assert (one["replicas"], mirrored["replicas"]) == (1, 2)
    for key in ("loss", "bits_per_dim", "val_loss"):
        np.testing.assert_allclose(mirrored[key], one[key], rtol=1e-5, err_msg=key)
    for a, b in zip(mirrored["weights"], one["weights"]):
        np.testing.assert_allclose(np.array(a), np.array(b), atol=1e-4)
