"""The model zoo: registry, cards, checked weights (bundled, local file, URL)."""

import dataclasses
import json
import os
import pathlib

import h5py
import numpy as np
import pytest

from pixelrnn_keras import data as datasets
from pixelrnn_keras import zoo
from pixelrnn_keras.evaluation import evaluate_nll
from pixelrnn_keras.models import load_weights_exactly, preset_config
from pixelrnn_keras.training import card_data
from pixelrnn_keras.zoo import registry

DATA = os.path.join(os.path.dirname(__file__), "data")
REQUIRED = [
    "mnist_pixelcnn",
    "mnist_row",
    "mnist_diag",
    "mnist_gated",
    "cifar10_gated",
    "cifar10_pixelcnn_paper",
    "cifar10_row_paper",
    "cifar10_diag_paper",
]


def test_list_models_and_patterns():
    names = zoo.list_models()
    assert set(REQUIRED) <= set(names)
    assert names == sorted(names)
    assert zoo.list_models("mnist_*") == [n for n in names if n.startswith("mnist_")]
    assert zoo.list_models("nothing*") == []


def test_unknown_name_lists_names_and_closest_match():
    with pytest.raises(ValueError, match=r"Did you mean 'mnist_diag'\?") as err:
        zoo.load("mnist_dig")
    assert "cifar10_diag_paper" in str(err.value)


@pytest.mark.parametrize("name", REQUIRED)
def test_every_card_is_complete(name):
    card = zoo.get_card(name)
    assert card.summary and card.notes and card.training["command"].startswith(f"pixelrnn train {name}")
    assert card.data["license"] and card.data["eval_split"]
    model = zoo.load(name, weights=None)
    assert model.count_params() == card.params
    assert (card.weights is None) == (card.metrics is None)


@pytest.mark.parametrize("name", [n for n in REQUIRED if n.endswith("_paper")])
def test_paper_sized_entries_say_they_have_no_weights(name):
    card = zoo.get_card(name)
    assert card.weights is None and "No pretrained weights" in card.notes
    with pytest.raises(ValueError, match="no pretrained weights"):
        zoo.load(name)


def test_load_model_takes_a_name_or_a_keras_file_with_other_weights(tmp_path):
    """The loader of every command: a zoo name or a `.keras` file, with a weights file over either."""
    saved = zoo.load("mnist_pixelcnn", weights=None)
    saved.save(tmp_path / "mine.keras")
    other = zoo.load("mnist_pixelcnn")
    other.save_weights(tmp_path / "other.weights.h5")
    for source in ("mnist_pixelcnn", str(tmp_path / "mine.keras")):
        loaded = zoo.load_model(source, weights=str(tmp_path / "other.weights.h5"))
        for a, b in zip(loaded.get_weights(), other.get_weights()):
            np.testing.assert_array_equal(a, b)
    loaded = zoo.load_model(str(tmp_path / "mine.keras"))
    for a, b in zip(loaded.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(a, b)
    (tmp_path / "not_a.keras").write_bytes(b"not a zip")
    for source, weights, message in [
        ("mnist_dig", None, r"model must be a zoo name \(one of \[.*\]\) or an existing .keras file; got 'mnist_dig'"),
        ("cifar10_row_paper", None, "'cifar10_row_paper' has no pretrained weights yet: pass --weights"),
        ("mnist_pixelcnn", str(tmp_path / "missing.weights.h5"), "weights: no such file"),
        (str(tmp_path / "not_a.keras"), None, "could not load"),
    ]:
        with pytest.raises(ValueError, match=message):
            zoo.load_model(source, weights)


@pytest.mark.parametrize("name", [n for n in zoo.list_models() if zoo.get_card(n).weights])
def test_bundled_weights_hold_the_model_only(name):
    """No optimizer state in the package (zoo/publish.py strips it): it would triple its size."""
    with h5py.File(zoo.get_card(name).weights_path, "r") as f:
        assert "optimizer" not in f and "vars" in f


@pytest.mark.parametrize("name", [n for n in zoo.list_models() if zoo.get_card(n).weights])
def test_bundled_weights_reproduce_the_card(name):
    """Weights load (sha256 checked) and the NLL of real images is that of the card, within noise."""
    card = zoo.get_card(name)
    model = zoo.load(name)
    labels = None
    if card.data["name"] == "binarized_mnist":
        images = np.load(os.path.join(DATA, "binarized_mnist_small.npz"))["valid"][:200, ..., None]
    elif card.data["name"] == "mnist":
        images, labels = held_out_mnist_images_and_labels(card)
    else:
        images, labels = held_out_cifar_images_and_labels(card)
        labels = labels if card.config.get("num_classes") else None
    result = evaluate_nll(model, images, labels=labels)
    noise = 4 * result["nats_std"] / np.sqrt(len(images))  # 4 standard errors of the mean
    assert abs(result["nats"] - card.metrics["nats"]) < noise + 0.02 * card.metrics["nats"]


def held_out_mnist_images_and_labels(card):
    """(images, labels) of tests/data/mnist_holdout_small.npz, 200 of the MNIST images `card` held out
    of mnist.npz, prepared as its data spec says (binarized at its threshold)."""
    with np.load(os.path.join(DATA, "mnist_holdout_small.npz")) as held:
        assert np.isin(held["index"], card.held_out(60000)).all()
        images = datasets.binarize(held["x_train"][..., None], threshold=card.data["binarize_at"])
        return images, held["y_train"]


def held_out_cifar_images_and_labels(card):
    """Real CIFAR-10 images that `card` held out of its training (those its figure is measured on),
    with their classes.

    Cards trained on cifar10_train.npz: tests/data/cifar10_holdout_small.npz (100 of their 2000
    held-out images, with their indices); cards trained on cifar10_4k.npz: the held-out ones among
    the images of tests/data/cifar10_small.npz (its first 200)."""
    if card.data["file"] == "cifar10_train.npz":
        with np.load(os.path.join(DATA, "cifar10_holdout_small.npz")) as held:
            assert np.isin(held["index"], card.held_out(50000)).all()
            return held["x_train"], held["y_train"]
    with np.load(os.path.join(DATA, "cifar10_small.npz")) as small:
        images, labels = small["x_train"], small["y_train"]
    held = card.held_out(4000)
    held = held[held < len(images)]
    assert len(held) >= 20
    return images[held], labels[held]


def test_held_out_indices_are_the_images_training_holds_out():
    base = zoo.get_card("cifar10_pixelcnn")  # as it was on cifar10_4k.npz: a holdout by fraction
    card = dataclasses.replace(
        base, data={**base.data, "file": "cifar10_4k.npz", "holdout": {"fraction": 0.125, "seed": 0}}
    )
    path = os.path.join(DATA, "cifar10_small.npz")
    train, held = card_data(card, path)
    images = np.load(path)["x_train"]
    np.testing.assert_array_equal(held, images[card.held_out(len(images))])
    assert len(train) + len(held) == len(images)
    with pytest.raises(ValueError, match="'mnist_diag' holds no images out: it is evaluated on split 'valid'"):
        zoo.get_card("mnist_diag").held_out(10)


def test_a_holdout_by_count_draws_among_the_images_after_the_first():
    base = zoo.get_card("cifar10_diag")
    card = dataclasses.replace(base, data={**base.data, "holdout": {"count": 30, "seed": 0, "after": 40}})
    held = card.held_out(100)
    assert len(set(held)) == 30 and held.min() >= 40 and (np.diff(held) > 0).all()
    np.testing.assert_array_equal(held, card.held_out(100))
    path = os.path.join(DATA, "cifar10_small.npz")
    train, eval_images = card_data(card, path)
    images = np.load(path)["x_train"]
    np.testing.assert_array_equal(eval_images, images[card.held_out(len(images))])
    assert len(train) == len(images) - 30
    with pytest.raises(ValueError, match="holds out 30 images after the first 40, but its training split has 60"):
        card.held_out(60)


@pytest.fixture
def fake_entry(tmp_path, monkeypatch):
    """A small zoo entry whose weights are a fresh model's, written to tmp_path."""
    base = zoo.get_card("mnist_pixelcnn")
    config = {**base.config, "num_layers": 1, "hidden": 4, "head_units": 8}
    model = zoo.load("mnist_pixelcnn", weights=None).__class__(**config)
    path = tmp_path / "fake.weights.h5"
    model.save_weights(str(path))
    card = dataclasses.replace(
        base, name="fake", config=config, weights={"file": path.name, "sha256": registry.sha256_of(path)}
    )
    monkeypatch.setitem(registry._CARDS, "fake", card)
    monkeypatch.setattr(type(card), "weights_path", property(lambda self: str(path)))
    return card, model, path


def test_pretrained_weights_load_and_match(fake_entry):
    card, model, _ = fake_entry
    loaded = zoo.load("fake")
    images = np.random.default_rng(0).integers(0, 2, (2, 28, 28, 1))
    np.testing.assert_array_equal(np.asarray(loaded(images)), np.asarray(model(images)))


@pytest.mark.parametrize("damage", ["truncate", "flip", "foreign"])
def test_damaged_weights_are_refused(fake_entry, damage, tmp_path):
    card, _, path = fake_entry
    blob = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(blob[: len(blob) // 2])
    elif damage == "flip":
        path.write_bytes(blob[:-100] + bytes([blob[-100] ^ 1]) + blob[-99:])
    else:
        zoo.load("mnist_pixelcnn", weights=None).save_weights(str(path))
    with pytest.raises(ValueError, match="sha256"):
        zoo.load("fake")


def test_local_file_of_another_model_is_refused_cleanly(fake_entry, tmp_path):
    other = tmp_path / "other.weights.h5"
    zoo.load("mnist_diag", weights=None).save_weights(str(other))
    with pytest.raises(ValueError, match="could not load"):
        zoo.load("fake", weights=str(other))


def test_a_deeper_network_s_weights_are_refused_not_cut_short(fake_entry, tmp_path):
    """Keras alone loads a file with more blocks than the model silently, keeping the first ones."""
    card, model, _ = fake_entry
    images = np.random.default_rng(0).integers(0, 2, (2, 28, 28, 1))
    deeper = tmp_path / "deeper.weights.h5"
    type(model)(**{**card.config, "num_layers": 2}).save_weights(str(deeper))
    with pytest.raises(ValueError, match="has no place for, e.g. 'blocks/residual_block_1/"):
        zoo.load("fake", weights=str(deeper))
    saved = tmp_path / "fake.keras"
    model.save(str(saved))
    with pytest.raises(ValueError, match="the weights of a larger network"):
        load_weights_exactly(model, str(deeper))
    np.testing.assert_array_equal(np.asarray(zoo.load("fake")(images)), np.asarray(model(images)))  # left as it was
    with pytest.raises(ValueError, match="the weights of a larger network"):
        zoo.load_model(str(saved), weights=str(deeper))


def test_weights_from_a_url_go_through_the_keras_cache(fake_entry, tmp_path):
    card, model, path = fake_entry
    loaded = zoo.load("fake", weights=pathlib.Path(path).as_uri(), cache_dir=str(tmp_path / "keras_home"))
    images = np.zeros((1, 28, 28, 1), "int32")
    np.testing.assert_array_equal(np.asarray(loaded(images)), np.asarray(model(images)))
    cached = list((tmp_path / "keras_home").rglob("*.weights.h5"))
    assert cached, "the download should land in the Keras cache"


def test_url_with_wrong_content_is_refused(fake_entry, tmp_path):
    card, _, _ = fake_entry
    wrong = tmp_path / "wrong.weights.h5"
    zoo.load("mnist_pixelcnn", weights=None).save_weights(str(wrong))
    with pytest.raises(ValueError):
        zoo.load("fake", weights=wrong.as_uri(), cache_dir=str(tmp_path / "keras_home"))


def test_bad_weights_argument():
    with pytest.raises(ValueError, match="weights must be"):
        zoo.load("mnist_diag", weights="/no/such/file.weights.h5")


def test_zoo_readme_is_rendered_from_the_cards():
    import importlib.util

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location("render_cards", os.path.join(root, "zoo", "render_cards.py"))
    render_cards = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render_cards)
    with open(os.path.join(root, "zoo", "README.md")) as f:
        assert f.read() == render_cards.render(), "zoo/README.md is stale: run python zoo/render_cards.py"
    with open(os.path.join(root, "README.md")) as f:
        readme = f.read()
    assert readme == render_cards.with_readme_table(readme), (
        "README's zoo table is stale: run python zoo/render_cards.py"
    )


@pytest.mark.parametrize("name", [n for n in REQUIRED if n.endswith("_paper")])
def test_paper_sized_entries_take_their_config_from_the_presets(name):
    """The paper's sizes are defined once (models/presets.py): the card file names the preset only."""
    card = zoo.get_card(name)
    assert card.preset and card.config == json.loads(json.dumps(preset_config(card.preset)))
    with open(card.path) as f:
        assert json.load(f)["config"] == {}
    assert card.to_json() == pathlib.Path(card.path).read_text()


def test_a_class_card_reads_labelled_images_binarized_as_it_says(tmp_path):
    """mnist_diag_cond's data: 8-bit images with labels (x_train, y_train), binarized at 128 and held out
    together, as `pixelrnn train` and `pixelrnn eval` read them."""
    card = zoo.get_card("mnist_diag_cond")
    assert card.config["num_classes"] == 10 and card.data["binarize_at"] == 128
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (12000, 28, 28), dtype=np.uint8), rng.integers(0, 10, 12000)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=images, y_train=labels.astype(np.uint8))
    (train, train_labels), (held, held_labels) = card_data(card, str(path))
    index = card.held_out(12000)
    np.testing.assert_array_equal(held[..., 0], images[index] >= 128)
    np.testing.assert_array_equal(held_labels, labels[index])
    assert len(train) == len(train_labels) == 2000 and train.max() == 1
