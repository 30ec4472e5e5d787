"""Export: a SavedModel and ONNX graphs that give the Keras model's numbers without this package.

One tiny model per arch (1 layer, h=4, 8x8 images; RGB for the Diagonal BiLSTM, whose caches are fed
most intricately per colour channel; grey elsewhere, as XLA compile time grows with the channels),
and one tiny multi-scale model (8x8 from 4x4, PixelCNN then a conditioned Row LSTM), each exported
once per format for the whole module: conversion is the slow part.
"""

import json
import os
import re
import runpy
import subprocess
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np
import onnx
import onnxruntime
import pytest
import tensorflow as tf

from pixelrnn_keras import MultiScalePixelRNN
from pixelrnn_keras.cli import main as cli_main
from pixelrnn_keras.export import VerificationError, adapters, onnx_graphs, to_onnx, to_saved_model
from pixelrnn_keras.export.output import atomic_directory
from pixelrnn_keras.export.saved_model import verify_saved_model
from pixelrnn_keras.sampling import generate, gumbel_noise, two_stage
from pixelrnn_keras.sampling.cached import cached_loop
from pixelrnn_keras.zoo import load_model

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "pixelcnn": ((8, 8, 1), 4),
    "row_lstm": ((8, 8, 1), 2),
    "diagonal_bilstm": ((8, 8, 3), 4),
    "gated_pixelcnn": ((8, 8, 1), 4),
}
ARCHS = list(CASES)
InvalidArgument = onnxruntime.capi.onnxruntime_pybind11_state.InvalidArgument


def noise_of(model, num, seed):
    """{input name: noise} as documented for each model class: what `model.sample(num, seed)` draws with."""
    if isinstance(model, MultiScalePixelRNN):
        low, high = two_stage.stage_noise(model, num, seed)
        return {"low_noise": low.numpy(), "high_noise": high.numpy()}
    return {"noise": gumbel_noise(num, model.image_shape, model.levels, seed).numpy()}


def images_for(model, num, seed=0):
    return np.random.default_rng(seed).integers(0, model.levels, (num, *model.image_shape), dtype=np.int32)


def keras_samples(model, noise, temperature=1.0):
    zeros = tf.zeros(noise.shape[:4], tf.int32)
    return np.asarray(generate(model, noise, temperature, zeros, tf.cast(zeros, tf.bool))[0])


@pytest.fixture(scope="module")
def models(tiny_model):
    return {arch: tiny_model(arch, *CASES[arch]) for arch in ARCHS}


@pytest.fixture(scope="module")
def saved_models(models, tmp_path_factory):
    """{arch: report of to_saved_model}, each exported when first asked for; checked in a fresh
    process below rather than on export."""
    root = tmp_path_factory.mktemp("saved_models")
    return _OnDemand(lambda arch: to_saved_model(models[arch], root / arch, verify=False))


class _OnDemand(dict):
    """A dict whose missing values are made by `make(key)` and kept."""

    def __init__(self, make):
        super().__init__()
        self._make = make

    def __missing__(self, key):
        self[key] = value = self._make(key)
        return value


@pytest.fixture(scope="module")
def onnx_exports(models, tmp_path_factory):
    """{arch: report of to_onnx}, verified on export (checker, onnxruntime vs. Keras)."""
    root = tmp_path_factory.mktemp("onnx")
    return {arch: to_onnx(model, root / arch) for arch, model in models.items()}


@pytest.fixture(scope="module")
def multi_scale(tiny_multi_scale):
    return tiny_multi_scale((8, 8, 1), 4, 2, "pixelcnn", "row_lstm", condition_features=4, condition_layers=1)


@pytest.fixture(scope="module")
def multi_scale_saved_model(multi_scale, tmp_path_factory):
    """Report of `to_saved_model`, verified on export (also checked in the fresh process below)."""
    return to_saved_model(multi_scale, tmp_path_factory.mktemp("saved_models") / "multi_scale")


@pytest.fixture(scope="module")
def multi_scale_signatures(multi_scale_saved_model):
    return tf.saved_model.load(multi_scale_saved_model["path"]).signatures


@pytest.fixture(scope="module")
def multi_scale_onnx(multi_scale, tmp_path_factory):
    report = to_onnx(multi_scale, tmp_path_factory.mktemp("onnx") / "multi_scale")
    report["sessions"] = {name: onnxruntime.InferenceSession(path) for name, path in report["files"].items()}
    return report


@pytest.fixture(scope="module")
def sessions(onnx_exports):
    return {
        arch: {name: onnxruntime.InferenceSession(path) for name, path in report["files"].items()}
        for arch, report in onnx_exports.items()
    }


# SavedModel


def test_saved_model_verification_in_this_process(models, saved_models):
    """What `to_saved_model` runs before it keeps a SavedModel (and the scripts report)."""
    assert saved_models["row_lstm"]["signatures"] == ["complete", "log_prob", "sample", "sample_from_noise"]
    figures = verify_saved_model(models["row_lstm"], saved_models["row_lstm"]["path"])
    assert figures["log_prob_max_rel_diff"] <= 1e-4 and figures["num_images"] == 8
    assert figures["samples_identical"] and figures["completions_identical"]


FRESH_PROCESS = """
import json, sys
import numpy as np
import tensorflow as tf

paths, inputs, out = json.loads(sys.argv[1]), np.load(sys.argv[2]), {}
for arch, path in paths.items():
    signatures = tf.saved_model.load(path).signatures
    images, known = tf.constant(inputs[arch + "/images"]), tf.constant(inputs[arch + "/known"])
    seed, temperature = tf.constant(11, tf.int64), tf.constant(0.8)
    out[arch + "/log_prob"] = signatures["log_prob"](images=images)["log_prob"].numpy()
    out[arch + "/sample"] = signatures["sample"](num=tf.constant(4), seed=seed, temperature=temperature)["images"]
    noise = {key.split("/")[-1]: tf.constant(inputs[key]) for key in inputs.files if key.startswith(arch + "/noise/")}
    out[arch + "/from_noise"] = signatures["sample_from_noise"](**noise, temperature=tf.constant(1.0))["images"]
    completed = signatures["complete"](images=images[:4], known=known, seed=seed, temperature=temperature)
    out[arch + "/complete"] = completed["images"]
np.savez(sys.argv[3], **{k: np.asarray(v) for k, v in out.items()})
print("pixelrnn_keras imported:", any(m.split(".")[0] == "pixelrnn_keras" for m in sys.modules))
"""


@pytest.mark.parametrize(
    "kinds",
    [
        # The default run: the most intricate single-scale arch and the two-stage model (compiling the
        # samplers again in the fresh process is most of the time).
        ("diagonal_bilstm", "multi_scale"),
        pytest.param(("pixelcnn", "row_lstm", "gated_pixelcnn"), marks=pytest.mark.slow),
    ],
)
def test_saved_model_in_a_fresh_process_without_the_package_gives_the_keras_numbers(
    kinds, models, saved_models, multi_scale, multi_scale_saved_model, tmp_path
):
    models = {kind: model for kind, model in {**models, "multi_scale": multi_scale}.items() if kind in kinds}
    saved_models = {kind: multi_scale_saved_model if kind == "multi_scale" else saved_models[kind] for kind in kinds}
    inputs = {}
    for arch, model in models.items():
        inputs[arch + "/images"] = images_for(model, 8)
        known = np.zeros((4, *model.image_shape), bool)
        known[:, :4] = True
        inputs[arch + "/known"] = known
        # Batch sizes as in the other tests (8 to log_prob, 4 to the sampler): no new XLA compilations.
        for name, noise in noise_of(model, 4, seed=5).items():
            inputs[f"{arch}/noise/{name}"] = noise
    np.savez(tmp_path / "inputs.npz", **inputs)
    paths = json.dumps({arch: report["path"] for arch, report in saved_models.items()})
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, paths, str(tmp_path / "inputs.npz"), str(tmp_path / "out.npz")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "pixelrnn_keras imported: False" in result.stdout
    out = np.load(tmp_path / "out.npz")
    for arch, model in models.items():
        images, known = inputs[arch + "/images"], inputs[arch + "/known"]
        np.testing.assert_allclose(out[arch + "/log_prob"], model.log_prob(images), rtol=1e-5)
        np.testing.assert_array_equal(out[arch + "/sample"], model.sample(4, seed=11, temperature=0.8, wavefront=False))
        np.testing.assert_array_equal(out[arch + "/from_noise"], model.sample(4, seed=5, wavefront=False))
        completed = model.complete(images[:4], known, seed=11, temperature=0.8)
        np.testing.assert_array_equal(out[arch + "/complete"], completed)
        np.testing.assert_array_equal(out[arch + "/complete"][known], images[:4][known])


@pytest.fixture(scope="module")
def loaded(saved_models):
    return tf.saved_model.load(saved_models["row_lstm"]["path"])


SEED, ONE = tf.constant(0, tf.int64), tf.constant(1.0)
BAD_SAVED_MODEL_CALLS = {  # case -> (signature, inputs, error type, message fragment)
    "images int64": (
        "log_prob",
        dict(images=tf.zeros((2, 8, 8, 1), tf.int64)),
        tf.errors.InvalidArgumentError,
        "expected to be a int32 tensor but is a int64",
    ),
    "images float": (
        "log_prob",
        dict(images=tf.zeros((2, 8, 8, 1))),
        tf.errors.InvalidArgumentError,
        "expected to be a int32 tensor but is a float",
    ),
    "images 16x8": (
        "log_prob",
        dict(images=tf.zeros((1, 16, 8, 1), tf.int32)),
        tf.errors.InvalidArgumentError,
        "Shape of tensor images [1,16,8,1] is not compatible with expected shape [?,8,8,1]",
    ),
    "images without channels": (
        "log_prob",
        dict(images=tf.zeros((2, 8, 8), tf.int32)),
        tf.errors.InvalidArgumentError,
        "is not compatible with expected shape [?,8,8,1]",
    ),
    "images out of range": (
        "log_prob",
        dict(images=tf.fill((2, 8, 8, 1), 2)),
        tf.errors.InvalidArgumentError,
        "images must hold integers in [0, 2)",
    ),
    "negative images": (
        "log_prob",
        dict(images=tf.fill((2, 8, 8, 1), -1)),
        tf.errors.InvalidArgumentError,
        "images must hold integers in [0, 2)",
    ),
    "num 0": (
        "sample",
        dict(num=tf.constant(0), seed=SEED, temperature=ONE),
        tf.errors.InvalidArgumentError,
        "num must be >= 1",
    ),
    "seed int32": (
        "sample",
        dict(num=tf.constant(2), seed=tf.constant(0), temperature=ONE),
        tf.errors.InvalidArgumentError,
        "expected to be a int64 tensor but is a int32",
    ),
    "seed negative": (
        "sample",
        dict(num=tf.constant(2), seed=tf.constant(-1, tf.int64), temperature=ONE),
        tf.errors.InvalidArgumentError,
        "seed must be >= 0",
    ),
    "temperature 0": (
        "sample",
        dict(num=tf.constant(2), seed=SEED, temperature=tf.constant(0.0)),
        tf.errors.InvalidArgumentError,
        "temperature must be > 0",
    ),
    "temperature a vector": (
        "sample",
        dict(num=tf.constant(2), seed=SEED, temperature=tf.constant([1.0])),
        tf.errors.InvalidArgumentError,
        "Shape of tensor temperature [1] is not compatible",
    ),
    "noise of other levels": (
        "sample_from_noise",
        dict(noise=tf.zeros((2, 8, 8, 1, 3)), temperature=ONE),
        tf.errors.InvalidArgumentError,
        "is not compatible with expected shape [?,8,8,1,2]",
    ),
    "known of another batch": (
        "complete",
        dict(
            images=tf.zeros((2, 8, 8, 1), tf.int32), known=tf.zeros((3, 8, 8, 1), tf.bool), seed=SEED, temperature=ONE
        ),
        tf.errors.InvalidArgumentError,
        "known must have the shape of images",
    ),
    "known int32": (
        "complete",
        dict(
            images=tf.zeros((2, 8, 8, 1), tf.int32), known=tf.zeros((2, 8, 8, 1), tf.int32), seed=SEED, temperature=ONE
        ),
        tf.errors.InvalidArgumentError,
        "expected to be a bool tensor but is a int32",
    ),
}


@pytest.mark.parametrize("case", BAD_SAVED_MODEL_CALLS)
def test_saved_model_signatures_reject_wrong_inputs_clearly(loaded, case):
    signature, inputs, error, fragment = BAD_SAVED_MODEL_CALLS[case]
    with pytest.raises(error, match=re.escape(fragment)):
        loaded.signatures[signature](**inputs)


def test_saved_model_functions_check_their_input_signature(models, loaded):
    """The same graphs as attributes take numpy values, and reject other dtypes and shapes."""
    images = images_for(models["row_lstm"], 8)
    np.testing.assert_array_equal(
        loaded.log_prob(images)["log_prob"], loaded.signatures["log_prob"](images=tf.constant(images))["log_prob"]
    )
    with pytest.raises(TypeError, match="Can not cast TensorSpec"):
        loaded.log_prob(tf.zeros((2, 9, 8, 1), tf.int32))
    with pytest.raises(TypeError, match="Can not cast TensorSpec"):
        loaded.log_prob(tf.zeros((2, 8, 8, 1), tf.int64))


# ONNX


@pytest.mark.parametrize("arch", ARCHS)
def test_onnx_graphs_check_and_match_keras_at_any_batch_size(models, onnx_exports, sessions, arch):
    model, report = models[arch], onnx_exports[arch]
    assert report["log_prob_max_rel_diff"] <= 1e-4 and report["samples_identical"]
    for path in report["files"].values():
        onnx.checker.check_model(path, full_check=True)
        assert dict((p.key, p.value) for p in onnx.load(path).metadata_props)["pixelrnn.arch"] == arch
    # Other batch sizes in onnxruntime, compared with the first images of the batch sizes Keras
    # has compiled already (each image depends on its own inputs only).
    images = images_for(model, 8, seed=3)
    expected = np.asarray(model.log_prob(images))
    for num in (1, 5, 8):
        (log_prob,) = sessions[arch]["log_prob"].run(["log_prob"], {"images": images[:num]})
        np.testing.assert_allclose(log_prob, expected[:num], rtol=1e-4)
    noise = gumbel_noise(4, model.image_shape, model.levels, seed=3)
    expected = keras_samples(model, noise, temperature=0.7)
    for num in (1, 3, 4):
        feed = {"noise": noise.numpy()[:num], "temperature": np.array(0.7, np.float32)}
        (sampled,) = sessions[arch]["sample"].run(["images"], feed)
        assert sampled.dtype == np.int32 and sampled.shape == (num, *model.image_shape)
        np.testing.assert_array_equal(sampled, expected[:num])


def test_loops_that_share_a_function_convert(tiny_model):
    """The Diagonal BiLSTM layers share one compiled scan: each loop is converted on its own copy."""
    model = tiny_model("diagonal_bilstm", (8, 8, 1), 2, num_layers=2)
    function, signature, output = onnx_graphs.onnx_functions(model)["log_prob"]
    proto = onnx_graphs.convert_function(function, signature, output, onnx_graphs.DEFAULT_OPSET)
    onnx.checker.check_model(proto, full_check=True)
    images = images_for(model, 4)
    (log_prob,) = onnxruntime.InferenceSession(proto.SerializeToString()).run(["log_prob"], {"images": images})
    np.testing.assert_allclose(log_prob, model.log_prob(images), rtol=1e-4)


BAD_ONNX_FEEDS = {  # case -> (graph, feed, message fragment)
    "images int64": (
        "log_prob",
        {"images": np.zeros((2, 8, 8, 1), np.int64)},
        "Unexpected input data type. Actual: (tensor(int64)) , expected: (tensor(int32))",
    ),
    "images 9x8": (
        "log_prob",
        {"images": np.zeros((2, 9, 8, 1), np.int32)},
        "Got invalid dimensions for input: images for the following indices\n index: 1 Got: 9 Expected: 8",
    ),
    "images without channels": (
        "log_prob",
        {"images": np.zeros((2, 8, 8), np.int32)},
        "Invalid rank for input: images Got: 3 Expected: 4",
    ),
    "noise float64": (
        "sample",
        {"noise": np.zeros((2, 8, 8, 1, 2)), "temperature": np.array(1, np.float32)},
        "Unexpected input data type. Actual: (tensor(double)) , expected: (tensor(float))",
    ),
    "noise of other levels": (
        "sample",
        {"noise": np.zeros((2, 8, 8, 1, 3), np.float32), "temperature": np.array(1, np.float32)},
        "Got invalid dimensions for input: noise for the following indices\n index: 4 Got: 3",
    ),
}


@pytest.mark.parametrize("case", BAD_ONNX_FEEDS)
def test_onnx_graphs_reject_wrong_inputs_clearly(sessions, case):
    graph, feed, fragment = BAD_ONNX_FEEDS[case]
    with pytest.raises(InvalidArgument, match=re.escape(fragment)):
        sessions["row_lstm"][graph].run(None, feed)


def test_onnx_log_prob_of_values_out_of_range_is_minus_infinity(models, sessions):
    images = images_for(models["row_lstm"], 3)
    images[1, 2, 3, 0] = 2
    images[2, 0, 0, 0] = -1
    (log_prob,) = sessions["row_lstm"]["log_prob"].run(["log_prob"], {"images": images})
    assert np.isfinite(log_prob[0]) and np.all(log_prob[1:] == -np.inf)


# Class-conditional models: `labels` is one more input of every graph.


@pytest.fixture(scope="module")
def class_model(tiny_model):
    return tiny_model("row_lstm", (8, 8, 1), 2, num_classes=3)


@pytest.fixture(scope="module")
def class_exports(class_model, tmp_path_factory):
    """{"saved_model": signatures, "onnx": {graph: session}} of `class_model`, each verified on export."""
    root = tmp_path_factory.mktemp("class_exports")
    saved = to_saved_model(class_model, root / "saved_model")
    onnx_files = to_onnx(class_model, root / "onnx")
    for report in (saved, onnx_files):
        assert report["log_prob_max_rel_diff"] <= 1e-4 and report["samples_identical"]
    assert saved["completions_identical"]
    return {
        "saved_model": tf.saved_model.load(saved["path"]).signatures,
        "onnx": {name: onnxruntime.InferenceSession(path) for name, path in onnx_files["files"].items()},
    }


def test_class_model_exports_take_labels_and_give_the_keras_numbers(class_model, class_exports):
    signatures, sessions = class_exports["saved_model"], class_exports["onnx"]
    for name in ("log_prob", "sample", "sample_from_noise", "complete"):
        assert "labels" in signatures[name].structured_input_signature[1]
    assert [i.name for i in sessions["log_prob"].get_inputs()] == ["images", "labels"]
    assert [i.name for i in sessions["sample"].get_inputs()] == ["noise", "temperature", "labels"]
    images = images_for(class_model, 6)
    for labels in (np.zeros(6, np.int32), np.array([0, 1, 2, 2, 1, 0], np.int32)):
        expected = np.asarray(class_model.log_prob(images, labels=labels))
        got = signatures["log_prob"](images=tf.constant(images), labels=tf.constant(labels))["log_prob"]
        np.testing.assert_allclose(got, expected, rtol=1e-5)
        (got,) = sessions["log_prob"].run(["log_prob"], {"images": images, "labels": labels})
        np.testing.assert_allclose(got, expected, rtol=1e-4)
    # The labels matter: each class gives its own samples from the same noise, as in Keras.
    noise = noise_of(class_model, 4, seed=3)
    drawn = []
    for label in range(3):
        labels = np.full(4, label, np.int32)
        keras_images = class_model.sample(4, seed=3, labels=label, wavefront=False)
        from_noise = signatures["sample_from_noise"](noise=tf.constant(noise["noise"]), temperature=ONE, labels=labels)
        (onnx_images,) = sessions["sample"].run(
            ["images"], {**noise, "temperature": np.array(1, np.float32), "labels": labels}
        )
        np.testing.assert_array_equal(from_noise["images"], keras_images)
        np.testing.assert_array_equal(onnx_images, keras_images)
        drawn.append(np.asarray(keras_images))
    assert not all(np.array_equal(drawn[0], other) for other in drawn[1:])


BAD_LABELS = {  # case -> (signature, inputs but labels, labels, message fragment)
    "labels out of range": ("log_prob", dict(images=tf.zeros((2, 8, 8, 1), tf.int32)), [0, 3], "in [0, 3)"),
    "negative labels": ("log_prob", dict(images=tf.zeros((2, 8, 8, 1), tf.int32)), [-1, 0], "in [0, 3)"),
    "labels of another batch": (
        "sample",
        dict(num=tf.constant(2), seed=SEED, temperature=ONE),
        [0, 1, 2],
        "labels must hold one class per image",
    ),
    "labels int64": (
        "complete",
        dict(
            images=tf.zeros((2, 8, 8, 1), tf.int32), known=tf.zeros((2, 8, 8, 1), tf.bool), seed=SEED, temperature=ONE
        ),
        tf.constant([0, 1], tf.int64),
        "expected to be a int32 tensor but is a int64",
    ),
    "labels a matrix": (
        "sample_from_noise",
        dict(noise=tf.zeros((2, 8, 8, 1, 2)), temperature=ONE),
        [[0], [1]],
        "Shape of tensor labels [2,1] is not compatible",
    ),
}


@pytest.mark.parametrize("case", BAD_LABELS)
def test_class_model_saved_model_rejects_wrong_labels_clearly(class_exports, case):
    signature, inputs, labels, fragment = BAD_LABELS[case]
    labels = labels if isinstance(labels, tf.Tensor) else tf.constant(labels, tf.int32)
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(fragment)):
        class_exports["saved_model"][signature](**inputs, labels=labels)


def test_class_model_onnx_log_prob_of_labels_out_of_range_is_minus_infinity(class_model, class_exports):
    images = images_for(class_model, 3)
    labels = np.array([1, 3, -1], np.int32)
    (log_prob,) = class_exports["onnx"]["log_prob"].run(["log_prob"], {"images": images, "labels": labels})
    assert np.isfinite(log_prob[0]) and np.all(log_prob[1:] == -np.inf)


def test_portable_cached_loop_completes_like_the_cached_loop(models):
    """The ONNX form of the sampler, with known sub-pixels too (each pixel partly known in RGB)."""
    model = models["diagonal_bilstm"]
    values = tf.constant(images_for(model, 4))
    known = tf.constant(np.random.default_rng(2).random(values.shape) < 0.5)
    noise = gumbel_noise(4, model.image_shape, model.levels, seed=2)
    portable, logits = tf.function(cached_loop, autograph=False)(model, noise, 0.8, values, known, portable=True)
    expected, _ = generate(model, noise, 0.8, values, known)
    assert logits is None
    np.testing.assert_array_equal(portable, expected)


# Multi-scale: two noise inputs, one per stage; the rest as for a PixelRNN.


def test_stage_seeds_are_numpys_seed_sequence_eagerly_and_in_a_graph():
    """The library's stage seeds (so the images of a seed are as before), computable in a SavedModel."""
    seeds = [0, 1, 7, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**63 - 1]
    seeds += [int(s) for s in np.random.default_rng(0).integers(0, 2**63, 24)]
    in_graph = tf.function(two_stage.stage_seeds, input_signature=[tf.TensorSpec([], tf.int64)])
    for seed in seeds:
        expected = tuple(int(s) for s in np.random.SeedSequence(seed).generate_state(2, np.uint64) >> np.uint64(1))
        assert tuple(int(s) for s in two_stage.stage_seeds(seed)) == expected, seed
        assert tuple(int(s) for s in in_graph(tf.constant(seed, tf.int64))) == expected, seed


def test_multi_scale_saved_model_verifies_and_draws_from_the_noise_of_both_stages(
    multi_scale, multi_scale_saved_model, multi_scale_signatures
):
    report, signatures = multi_scale_saved_model, multi_scale_signatures
    assert report["signatures"] == ["complete", "log_prob", "sample", "sample_from_noise"]
    assert report["log_prob_max_rel_diff"] <= 1e-4 and report["num_images"] == 8
    assert report["samples_identical"] and report["completions_identical"]
    inputs = signatures["sample_from_noise"].structured_input_signature[1]
    assert {name: tuple(spec.shape) for name, spec in inputs.items()} == {
        "low_noise": (None, 4, 4, 1, 2),
        "high_noise": (None, 8, 8, 1, 2),
        "temperature": (),
    }
    noise = noise_of(multi_scale, 4, seed=9)
    sampled = signatures["sample_from_noise"](**noise, temperature=tf.constant(0.8))["images"]
    expected = np.asarray(multi_scale.sample(4, seed=9, temperature=0.8, wavefront=False))
    np.testing.assert_array_equal(sampled, expected)
    assert len({image.tobytes() for image in expected}) > 1  # not a degenerate model
    # Other noise of the high stage alone changes only pixels off the grid.
    noise["high_noise"] = noise_of(multi_scale, 4, seed=10)["high_noise"]
    other = signatures["sample_from_noise"](**noise, temperature=tf.constant(0.8))["images"].numpy()
    np.testing.assert_array_equal(other[:, ::2, ::2], expected[:, ::2, ::2])
    assert not np.array_equal(other, expected)


MS_NOISE = dict(low_noise=tf.zeros((2, 4, 4, 1, 2)), high_noise=tf.zeros((2, 8, 8, 1, 2)), temperature=ONE)
BAD_MULTI_SCALE_CALLS = {  # case -> (signature, inputs, message fragment); InvalidArgumentError each
    "noises of other batches": (
        "sample_from_noise",
        {**MS_NOISE, "high_noise": tf.zeros((3, 8, 8, 1, 2))},
        "low_noise and high_noise must have the same batch size",
    ),
    "low noise of the full size": (
        "sample_from_noise",
        {**MS_NOISE, "low_noise": tf.zeros((2, 8, 8, 1, 2))},
        "Shape of tensor low_noise [2,8,8,1,2] is not compatible with expected shape",
    ),
    "high noise float64": (
        "sample_from_noise",
        {**MS_NOISE, "high_noise": tf.zeros((2, 8, 8, 1, 2), tf.float64)},
        "expected to be a float tensor but is a double",
    ),
    "images out of range": ("log_prob", dict(images=tf.fill((2, 8, 8, 1), 2)), "images must hold integers in [0, 2)"),
    "seed negative": (
        "sample",
        dict(num=tf.constant(2), seed=tf.constant(-3, tf.int64), temperature=ONE),
        "seed must be >= 0",
    ),
}


@pytest.mark.parametrize("case", BAD_MULTI_SCALE_CALLS)
def test_multi_scale_saved_model_rejects_wrong_inputs_clearly(multi_scale_signatures, case):
    signature, inputs, fragment = BAD_MULTI_SCALE_CALLS[case]
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(fragment)):
        multi_scale_signatures[signature](**inputs)


def test_multi_scale_onnx_graphs_check_and_match_keras_at_any_batch_size(multi_scale, multi_scale_onnx):
    model, report, sessions = multi_scale, multi_scale_onnx, multi_scale_onnx["sessions"]
    assert report["log_prob_max_rel_diff"] <= 1e-4 and report["samples_identical"]
    for path in report["files"].values():
        onnx.checker.check_model(path, full_check=True)
        metadata = dict((p.key, p.value) for p in onnx.load(path).metadata_props)
        assert metadata["pixelrnn.model"] == "MultiScalePixelRNN" and metadata["pixelrnn.low_size"] == "4"
    assert [i.name for i in sessions["sample"].get_inputs()] == ["low_noise", "high_noise", "temperature"]
    images = images_for(model, 8, seed=3)
    expected = np.asarray(model.log_prob(images))
    for num in (1, 5, 8):
        (log_prob,) = sessions["log_prob"].run(["log_prob"], {"images": images[:num]})
        np.testing.assert_allclose(log_prob, expected[:num], rtol=1e-4)
    images[1, 1, 1, 0], images[2, 2, 2, 0] = 2, -1  # off the grid, on it
    (log_prob,) = sessions["log_prob"].run(["log_prob"], {"images": images[:3]})
    assert np.isfinite(log_prob[0]) and np.all(log_prob[1:] == -np.inf)
    # Each image depends on its own noise only: the first images of Keras' batch of 4.
    noise = noise_of(model, 4, seed=3)
    expected = np.asarray(model.sample(4, seed=3, temperature=0.7, wavefront=False))
    for num in (1, 3, 4):
        feed = {name: value[:num] for name, value in noise.items()}
        (sampled,) = sessions["sample"].run(["images"], {**feed, "temperature": np.array(0.7, np.float32)})
        assert sampled.dtype == np.int32 and sampled.shape == (num, 8, 8, 1)
        np.testing.assert_array_equal(sampled, expected[:num])
    # ONNX has no assertions: a reshape named after the rule fails instead.
    feed = {
        "low_noise": noise["low_noise"][:2],
        "high_noise": noise["high_noise"][:3],
        "temperature": np.array(1, np.float32),
    }
    with pytest.raises(
        onnxruntime.capi.onnxruntime_pybind11_state.Fail, match="low_noise_batch_must_equal_high_noise_batch"
    ):
        sessions["sample"].run(None, feed)


def test_a_multi_scale_keras_file_loads_for_export(multi_scale, tmp_path):
    multi_scale.save(tmp_path / "multi_scale.keras")
    loaded = load_model(str(tmp_path / "multi_scale.keras"))
    assert isinstance(loaded, MultiScalePixelRNN) and loaded.low_size == 4
    images = images_for(multi_scale, 8)
    np.testing.assert_allclose(loaded.log_prob(images), multi_scale.log_prob(images), rtol=1e-6)


# Arguments, atomic writes, command line


def test_bad_arguments_are_refused_before_anything_is_written(models, tmp_path):
    model = models["row_lstm"]
    for opset in (12, 19, 17.0, "17"):
        with pytest.raises(ValueError, match="opset must be an int in"):
            to_onnx(model, tmp_path / "out", opset=opset)
    with pytest.raises(ValueError, match="model must be a pixelrnn_keras PixelRNN"):
        to_saved_model(keras.Sequential(), tmp_path / "out")
    with pytest.raises(ValueError, match="does not exist"):
        to_saved_model(model, tmp_path / "missing" / "out")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="already exists; pass overwrite=True"):
        to_saved_model(model, tmp_path / "taken")
    assert sorted(os.listdir(tmp_path)) == ["taken"] and (tmp_path / "taken" / "keep.txt").read_text() == "mine"


def test_atomic_directory_replaces_only_on_success(tmp_path):
    target = tmp_path / "out"
    with atomic_directory(target) as building:
        Path(building, "a").write_text("1")
        assert not target.exists()
    assert (target / "a").read_text() == "1"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_directory(target, overwrite=True) as building:
            Path(building, "b").write_text("2")
            raise RuntimeError("boom")
    assert os.listdir(target) == ["a"] and os.listdir(tmp_path) == ["out"]
    with atomic_directory(target, overwrite=True) as building:
        Path(building, "b").write_text("2")
    assert os.listdir(target) == ["b"] and os.listdir(tmp_path) == ["out"]


def test_an_export_that_fails_verification_leaves_nothing(models, tmp_path, monkeypatch):
    """A real conversion whose comparison is made to fail: the error says so and nothing is kept."""
    noise_from_seed = adapters.noise_from_seed

    def other_noise(model, num, seed):  # onnxruntime gets other noise than the library drew with
        return {name: -noise for name, noise in noise_from_seed(model, num, seed).items()}

    monkeypatch.setattr(adapters, "noise_from_seed", other_noise)
    with pytest.raises(VerificationError, match="'samples_identical': False"):
        to_onnx(models["row_lstm"], tmp_path / "out")
    assert os.listdir(tmp_path) == []


@pytest.fixture(scope="module")
def keras_file(models, tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "tiny.keras"
    models["row_lstm"].save(path)
    return path


def test_cli_exports_a_keras_file_and_reports_the_verification(keras_file, tmp_path, capsys):
    out = Path(tempfile.mkdtemp(dir=tmp_path))  # an empty directory, as `mktemp -d` makes, is taken
    assert cli_main(["export", str(keras_file), "--format", "onnx", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote ONNX (opset 17) to {out}: log_prob.onnx" in printed
    assert "verified in onnxruntime against the Keras model on 8 images" in printed
    assert "samples identical for the same noise: yes" in printed
    assert sorted(os.listdir(out)) == ["log_prob.onnx", "sample.onnx"]


def test_cli_and_scripts_refuse_bad_input_in_one_line(keras_file, tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    to_onnx_script = runpy.run_path(str(ROOT / "export" / "to_onnx.py"))["main"]
    to_saved_model_script = runpy.run_path(str(ROOT / "export" / "to_saved_model.py"))["main"]
    cases = [
        (
            lambda out: cli_main(["export", "no_such_model", "--format", "onnx", "--out", out]),
            "model must be a zoo name",
        ),
        (
            lambda out: cli_main(["export", "cifar10_row_paper", "--format", "onnx", "--out", out]),
            "'cifar10_row_paper' has no pretrained weights yet",
        ),
        (
            lambda out: cli_main(["export", str(tmp_path / "missing.keras"), "--format", "saved_model", "--out", out]),
            "or an existing .keras file",
        ),
        (
            lambda out: cli_main(["export", str(keras_file), "--format", "onnx", "--opset", "9", "--out", out]),
            "opset must be an int in [13, 18]",
        ),
        (
            lambda out: cli_main(["export", str(keras_file), "--format", "onnx", "--out", str(tmp_path / "taken")]),
            "already exists",
        ),
        (lambda out: to_onnx_script(["--model", "no_such_model", "--out", out]), "to_onnx.py: error: model must be"),
        (
            lambda out: to_saved_model_script(["--model", str(keras_file), "--out", str(tmp_path / "taken")]),
            "to_saved_model.py: error: path",
        ),
    ]
    for run, fragment in cases:
        try:
            status = run(str(tmp_path / "out"))
        except SystemExit as exit:
            status = exit.code
        err = capsys.readouterr().err
        assert status == 2 and fragment in err and len(err.strip().splitlines()) == 1, (fragment, err)
    assert sorted(os.listdir(tmp_path)) == ["taken"] and os.listdir(tmp_path / "taken") == ["keep.txt"]


@pytest.mark.parametrize("script", ["to_onnx.py", "to_saved_model.py"])
def test_scripts_have_help(script):
    result = subprocess.run([sys.executable, str(ROOT / "export" / script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--model" in result.stdout and "--out" in result.stdout


# Slow: the bundled zoo model through the scripts, other opsets.


@pytest.mark.slow
@pytest.mark.parametrize(
    "script,check",
    [
        ("to_saved_model.py", "samples identical for the same seed: yes"),
        ("to_onnx.py", "samples identical for the same noise: yes"),
    ],
)
def test_scripts_export_the_zoo_model(script, check, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, str(ROOT / "export" / script), "--model", "mnist_diag", "--out", str(tmp_path / "out")]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert check in result.stdout and "wrote" in result.stdout


@pytest.mark.slow
def test_scripts_and_cli_export_a_multi_scale_keras_file(multi_scale, tmp_path):
    """What a user runs for a trained multi-scale model of their own, saved as a .keras file."""
    multi_scale.save(tmp_path / "ms.keras")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    commands = {
        "onnx": [
            sys.executable,
            str(ROOT / "export" / "to_onnx.py"),
            "--model",
            str(tmp_path / "ms.keras"),
            "--out",
            str(tmp_path / "onnx"),
        ],
        "saved_model": [
            sys.executable,
            "-m",
            "pixelrnn_keras.cli",
            "export",
            str(tmp_path / "ms.keras"),
            "--format",
            "saved_model",
            "--out",
            str(tmp_path / "saved_model"),
        ],
    }
    for command in commands.values():
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "samples identical for the same" in result.stdout and ": yes" in result.stdout, result.stdout
    assert sorted(os.listdir(tmp_path / "onnx")) == ["log_prob.onnx", "sample.onnx"]
    assert (tmp_path / "saved_model" / "saved_model.pb").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("opset", [13, 18])
def test_other_opsets(models, opset, tmp_path):
    report = to_onnx(models["diagonal_bilstm"], tmp_path / "out", opset=opset)
    assert report["samples_identical"] and onnx.load(report["files"]["sample"]).opset_import[0].version == opset


@pytest.mark.slow
def test_readme_deployment_examples_run_as_written(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    examples = [b for b in blocks if "tf.saved_model.load" in b or "onnxruntime" in b]
    assert len(examples) == 2 and all(len(b.strip().splitlines()) <= 10 for b in examples)
    for format, out in (("saved_model", "mnist_diag_savedmodel"), ("onnx", "mnist_diag_onnx")):
        assert cli_main(["export", "mnist_diag", "--format", format, "--out", str(tmp_path / out)]) == 0
    for example in examples:  # in a process without pixelrnn_keras
        result = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "(16, 28, 28, 1)" in result.stdout
