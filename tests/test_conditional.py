"""Class-conditional models (num_classes=K): causality for every label, the label's reach, training on
(images, labels) pairs, the generative classifier, sampling and completion given labels, bad labels."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from pixelrnn_keras import PixelRNN
from pixelrnn_keras.layers import list_archs

SHAPE, LEVELS, CLASSES = (4, 4, 3), 8, 3


@pytest.fixture(scope="module")
def class_model(tiny_model):
    """`class_model(arch, num_layers=2)`: a small class-conditional model with perturbed weights,
    initialized from a fixed seed."""

    def build(arch, num_layers=2):
        keras.utils.set_random_seed(1)
        return tiny_model(arch, SHAPE, LEVELS, num_layers=num_layers, hidden=6, head_units=24, num_classes=CLASSES)

    return build


def images_and_labels(num=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, LEVELS, (num, *SHAPE)), rng.integers(0, CLASSES, num)


@pytest.fixture(scope="module")
def models(class_model):
    return {arch: class_model(arch) for arch in list_archs()}


@pytest.mark.parametrize("arch", list_archs())
def test_no_logit_depends_on_its_own_or_a_later_sub_pixel_for_any_label(
    moved_one_at_a_time, changed_outputs, models, arch
):
    model = models[arch]
    image = images_and_labels(1)[0][0]
    flat = image.reshape(-1)
    batch = moved_one_at_a_time(flat, LEVELS)
    for label in range(CLASSES):
        logits = model(batch.reshape(-1, *SHAPE), labels=np.full(len(batch), label))
        logits = np.asarray(logits).reshape(flat.size + 1, flat.size, LEVELS)
        depends = changed_outputs(logits).T  # [p, q]: output p on input q
        p, q = np.nonzero(depends)
        assert (q < p).all(), f"{arch}, label {label}: output {p[q >= p][:3]} depends on input {q[q >= p][:3]}"
        assert depends[1, 0], "G does not see R: the test would not see a dependence"


@pytest.mark.parametrize("arch", list_archs())
def test_the_label_changes_the_logits_of_every_sub_pixel_the_first_included(models, arch):
    """Over a few images (a ReLU can hide the label at one), every sub-pixel's logits move with it."""
    model = models[arch]
    images = np.repeat(images_and_labels(4)[0], CLASSES, axis=0)
    logits = np.asarray(model(images, labels=np.tile(np.arange(CLASSES), 4))).reshape(4, CLASSES, -1, LEVELS)
    for a in range(CLASSES):
        for b in range(a):
            assert (np.abs(logits[:, a] - logits[:, b]).max(axis=-1) > 1e-4).any(axis=0).all()


def test_training_on_image_label_pairs_arrays_and_datasets(class_model):
    keras.utils.set_random_seed(0)
    model = class_model("pixelcnn", num_layers=1)
    images, labels = images_and_labels(8)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = float(-np.mean(model.log_prob(images, labels=labels)))
    model.fit(images, labels, batch_size=4, epochs=3, verbose=0)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    history = model.fit(dataset, epochs=3, verbose=0, validation_data=dataset)
    after = float(-np.mean(model.log_prob(images, labels=labels)))
    assert after < before and np.isfinite(history.history["val_loss"]).all()
    with pytest.raises(ValueError, match="labels must be given"):
        model.fit(images, epochs=1, verbose=0)
    plain = PixelRNN("pixelcnn", SHAPE, levels=LEVELS, num_layers=1, hidden=6, head_units=12)
    plain.compile(optimizer="adam")
    # An unconditional model ignores the labels of (image, label) pairs (since 15ad00c).
    history = plain.fit(images, labels, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_classify_is_bayes_rule_over_the_class_likelihoods_and_the_prior(class_model):
    model = class_model("row_lstm")
    images, labels = images_and_labels(5)
    model.set_class_prior([0, 1, 2])  # one of each: uniform
    uniform = np.asarray(model.classify(images, batch_size=2))
    likelihoods = np.stack([model.log_prob(images, labels=np.full(5, y)) for y in range(CLASSES)], axis=1)
    top = likelihoods.max(axis=1, keepdims=True)
    expected = likelihoods - top - np.log(np.exp(likelihoods - top).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(uniform, expected, atol=1e-3)
    np.testing.assert_allclose(np.exp(uniform).sum(axis=1), 1, rtol=1e-5)
    model.set_class_prior([0, 0, 0, 0, 1])  # prior counts 5 : 2 : 1 (each class + 1)
    shifted = np.asarray(model.classify(images))
    prior = np.log(np.array([5, 2, 1]) / 8)
    offset = shifted - uniform - prior  # the same for every class of an image: the normalisation
    np.testing.assert_allclose(offset - offset[:, :1], 0, atol=1e-3)


@pytest.mark.parametrize("arch", list_archs())
def test_cached_sampling_equals_naive_for_the_same_seed_and_labels(models, arch):
    model = models[arch]
    labels = np.array([0, 2])
    cached = model.sample(2, seed=3, labels=labels)
    np.testing.assert_array_equal(cached, model.sample(2, seed=3, labels=labels, method="naive"))
    assert not np.array_equal(cached, model.sample(2, seed=3, labels=np.array([1, 0])))
    np.testing.assert_array_equal(model.sample(2, seed=3, labels=2), model.sample(2, seed=3, labels=[2, 2]))


def test_completion_keeps_the_known_sub_pixels_given_labels(models):
    model = models["diagonal_bilstm"]
    images, labels = images_and_labels(2)
    known = np.zeros(images.shape, bool)
    known[:, :2] = True
    completed = np.asarray(model.complete(images, known, seed=0, labels=labels))
    np.testing.assert_array_equal(completed[known], images[known])
    naive = model.complete(images, known, seed=0, labels=labels, method="naive")
    np.testing.assert_array_equal(completed, naive)


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.array([0, 3]), r"labels must be ints in \[0, 3\) of shape \(2,\); got values in \[0, 3\]"),
        (np.array([0, -1]), r"got values in \[-1, 0\]"),
        (np.array([0.0, 1.0]), "labels must be ints .* got dtype float"),
        (np.array([[0, 1]]), r"got shape \(1, 2\)"),
        (np.array([0, 1, 2]), r"got shape \(3,\)"),
        (None, "labels must be given: this model was built with num_classes=3"),
    ],
)
def test_bad_labels_are_refused_naming_labels(models, labels, message):
    model = models["pixelcnn"]
    images = images_and_labels(2)[0]
    for call in (lambda: model(images, labels=labels), lambda: model.log_prob(images, labels=labels)):
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(ValueError, match=message.replace("(2,)", "(2,)")):
        model.sample(2, labels=labels)


def test_an_unconditional_model_refuses_labels_and_keeps_its_weights_and_config():
    model = PixelRNN("row_lstm", SHAPE, levels=LEVELS, num_layers=1, hidden=6, head_units=12)
    images, labels = images_and_labels(2)
    with pytest.raises(ValueError, match="labels must be None: this model was built with num_classes=0"):
        model(images, labels=labels)
    with pytest.raises(ValueError, match="classify needs a class-conditional model"):
        model.classify(images)
    assert "num_classes" not in model.get_config()
    conditional = PixelRNN.from_config({**model.get_config(), "num_classes": CLASSES})
    assert len(conditional.weights) > len(model.weights)
    assert conditional.get_config()["num_classes"] == CLASSES
    with pytest.raises(ValueError, match="num_classes must be an int >= 0"):
        PixelRNN("row_lstm", SHAPE, levels=LEVELS, num_classes=-1)


def test_a_class_model_round_trips_through_a_keras_file(tmp_path, models):
    model = models["row_lstm"]
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    images, labels = images_and_labels(3)
    np.testing.assert_allclose(loaded.log_prob(images, labels=labels), model.log_prob(images, labels=labels), rtol=1e-5)


def test_a_warm_start_from_unconditional_weights_is_exactly_the_unconditional_model(perturb, tmp_path):
    from pixelrnn_keras.training import load_initial_weights

    config = dict(arch="diagonal_bilstm", image_shape=SHAPE, levels=LEVELS, num_layers=2, hidden=6, head_units=12)
    plain = perturb(PixelRNN(**config), seed=0)
    plain.save_weights(str(tmp_path / "plain.weights.h5"))
    # Far from zero, so that the warm start must set the class layers.
    model = perturb(PixelRNN(**config, num_classes=CLASSES), seed=1)
    load_initial_weights(model, str(tmp_path / "plain.weights.h5"))
    images, _ = images_and_labels(4)
    for label in range(CLASSES):
        np.testing.assert_array_equal(model.log_prob(images, labels=np.full(4, label)), plain.log_prob(images))
    np.testing.assert_allclose(np.exp(model.classify(images)), 1 / CLASSES, rtol=1e-5)  # no class preferred
    model.save_weights(str(tmp_path / "class.weights.h5"))  # a file of the model itself loads as is
    load_initial_weights(model, str(tmp_path / "class.weights.h5"))
    other = PixelRNN(**{**config, "hidden": 4}, num_classes=CLASSES)
    with pytest.raises(ValueError, match="holds the weights of neither this model nor its network with fewer"):
        load_initial_weights(other, str(tmp_path / "plain.weights.h5"))


def test_a_class_model_s_one_stage_is_conditioned_on_the_labels(models):
    model = models["row_lstm"]
    (stage,) = model.stages()
    images, labels = images_and_labels(3)
    np.testing.assert_array_equal(stage.condition(images, labels), model.label_condition(labels))
