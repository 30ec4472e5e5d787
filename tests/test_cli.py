"""The `pixelrnn` command: every subcommand's work on a tiny zoo entry, and one-line errors for bad input."""

import dataclasses
import glob
import os
import re
import socket
import subprocess
import sys

import numpy as np
import pytest
import tomllib
from PIL import Image

from pixelrnn_keras import PixelRNN, startup
from pixelrnn_keras.cli import main
from pixelrnn_keras.evaluation import evaluate_nll
from pixelrnn_keras.zoo import get_card, registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
MNIST = os.path.join(DATA, "binarized_mnist_small.npz")
CIFAR = os.path.join(DATA, "cifar10_small.npz")


@pytest.fixture
def tiny(perturb, tmp_path, monkeypatch):
    """A zoo entry "tiny": a 1-layer PixelCNN on binarized 8x8 images, with its weights in tmp_path."""
    config = dict(arch="pixelcnn", image_shape=[8, 8, 1], levels=2, num_layers=1, hidden=4, head_units=8)
    model = perturb(PixelRNN(**config))  # weights away from a near-uniform start, so that samples differ
    path = tmp_path / "tiny.weights.h5"
    model.save_weights(str(path))
    training = dict(
        optimizer="adam", learning_rate=0.01, batch_size=8, epochs=1, steps_per_epoch=2, validation_images=8
    )
    card = dataclasses.replace(
        get_card("mnist_pixelcnn"),
        name="tiny",
        config=config,
        training=training,
        data={**get_card("mnist_pixelcnn").data, "name": "tiny_digits", "file": "tiny_digits.npz"},
        weights={"file": path.name, "sha256": registry.sha256_of(path)},
    )
    monkeypatch.setitem(registry._CARDS, "tiny", card)
    monkeypatch.setattr(type(card), "weights_path", property(lambda self: str(path)))
    monkeypatch.chdir(tmp_path)
    return model


def digits(count=12):
    """Binarized 8x8 digits (count, 8, 8, 1) in {0, 1}."""
    return (np.load(os.path.join(DATA, "digits8.npz"))["images"][:count, ..., None] > 6).astype("uint8")


def write_folder(folder, images):
    """8-bit PNG files of (N, H, W, 1) images in {0, 1}."""
    os.makedirs(folder, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray((image[..., 0] * 255).astype("uint8"), mode="L").save(os.path.join(folder, f"{i:03d}.png"))


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_console_script_is_declared():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        assert tomllib.load(f)["project"]["scripts"]["pixelrnn"] == "pixelrnn_keras.cli:main"


# --- The work ----------------------------------------------------------------------------


def test_sample_writes_a_png_grid_in_batches(tiny, capsys):
    code, out, err = run(capsys, "sample", "tiny", "--num", 4, "--batch-size", 2, "--out", "grid.png", "--scale", 1)
    assert code == 0, err
    assert out.strip() == "wrote grid.png" and "2/4" in err and "4/4" in err  # a progress bar per batch
    grid = np.asarray(Image.open("grid.png"))
    assert grid.shape == (2 * 9 + 1, 2 * 9 + 1)  # 4 tiles of 8x8 in 2 columns, 1-pixel borders
    tiles = [grid[1 + 9 * r : 9 + 9 * r, 1 + 9 * c : 9 + 9 * c] for r in range(2) for c in range(2)]
    first = np.asarray(tiny.sample(2, seed=0))[..., 0] * 255  # the first batch is model.sample(2, seed)
    np.testing.assert_array_equal(tiles[0], first[0])
    np.testing.assert_array_equal(tiles[1], first[1])
    assert len({t.tobytes() for t in tiles}) == 4  # the second batch has a seed of its own


def test_complete_resizes_a_folder_and_keeps_the_top_halves(tiny, capsys, tmp_path):
    big = np.repeat(np.repeat(digits(3), 2, axis=1), 2, axis=2)  # 16x16: needs --resize
    write_folder(tmp_path / "faces", big)
    code, out, err = run(capsys, "complete", "tiny", "--data", "faces", "--resize", "--out", "c.png", "--scale", 1)
    assert code == 0, err
    grid = np.asarray(Image.open("c.png"))
    assert grid.shape == (3 * 9 + 1, 3 * 9 + 1)  # rows: top halves, completions, originals
    tile = lambda r, c: grid[1 + 9 * r : 9 + 9 * r, 1 + 9 * c : 9 + 9 * c]  # noqa: E731
    for c in range(3):
        np.testing.assert_array_equal(tile(1, c)[:4], tile(2, c)[:4])  # completions keep the given rows
        assert not tile(0, c)[4:].any()  # the input row shows only the top half
        np.testing.assert_array_equal(tile(2, c), digits(3)[c, ..., 0] * 255)  # resized back to the digits


def test_eval_on_an_npz_file_prints_the_nll(tiny, capsys, tmp_path):
    np.savez(tmp_path / "mine.npz", valid=digits(20))
    code, out, err = run(capsys, "eval", "tiny", "--data", "mine.npz", "--split", "valid", "--batch-size", 8)
    assert code == 0, err
    expected = evaluate_nll(tiny, digits(20))
    assert out.strip() == (
        f"tiny on mine.npz valid (20 images): {expected['nats']:.2f} nats/image, "
        f"{expected['bits_per_dim']:.4f} bits/dim"
    )
    assert "20/20" in err


def test_train_on_a_folder_then_sample_from_its_weights(tiny, capsys, tmp_path):
    write_folder(tmp_path / "mine", digits(20))
    code, out, err = run(capsys, "train", "tiny", "--data", "mine", "--workdir", "w", "--num-samples", 4)
    assert code == 0, err
    assert out.strip().endswith(f"wrote {os.path.join('w', 'final.weights.h5')}")
    assert os.path.isfile("w/samples/epoch-001.png") and os.listdir("w/tensorboard")
    code, out, err = run(capsys, "sample", "tiny", "--weights", "w/final.weights.h5", "--num", 2, "--out", "s.png")
    assert code == 0, err


def test_zoo_list_and_info(capsys):
    code, out, _ = run(capsys, "zoo", "list", "mnist_*")
    names = [line.split()[0] for line in out.splitlines()]
    assert code == 0 and names == [
        "mnist_diag",
        "mnist_diag_cond",
        "mnist_gated",
        "mnist_multiscale",
        "mnist_pixelcnn",
        "mnist_row",
    ]
    code, out, _ = run(capsys, "zoo", "list", "cifar10_gated")
    metrics = get_card("cifar10_gated").metrics
    assert code == 0 and f"{metrics['nats']:.2f} nats, {metrics['bits_per_dim']:.4f} bits/dim (holdout)" in out
    code, out, _ = run(capsys, "zoo", "info", "mnist_diag")
    assert code == 0 and '"name": "mnist_diag"' in out


# --- Bad input: one line on stderr, exit status 2 ----------------------------------------


@pytest.fixture
def bad_files(tmp_path):
    """Files that no command can use."""
    (tmp_path / "garbage.npz").write_bytes(b"this is not a zip archive")
    (tmp_path / "garbage.weights.h5").write_bytes(b"nor is this an HDF5 file")
    np.savez(tmp_path / "rgb.npz", train=np.zeros((2, 8, 8, 3), np.uint8))
    np.savez(tmp_path / "eight_bit.npz", train=np.full((2, 8, 8, 1), 200, np.uint8))
    np.savez(tmp_path / "big.npz", train=np.zeros((2, 16, 16, 1), np.uint8))
    write_folder(tmp_path / "big_pngs", np.zeros((2, 16, 16, 1), np.uint8))
    os.makedirs(tmp_path / "empty")
    (tmp_path / "broken_pngs").mkdir()
    (tmp_path / "broken_pngs" / "a.png").write_bytes(b"not a png")
    (tmp_path / "one").mkdir()
    write_folder(tmp_path / "one", np.zeros((1, 8, 8, 1), np.uint8))


BAD_INPUT = {
    # unknown names, with a suggestion
    "unknown model": (["sample", "mnist_dig"], r"got 'mnist_dig'\. Did you mean 'mnist_diag'\?"),
    "unknown model (eval)": (["eval", "tinny", "--data", "rgb.npz"], "Did you mean 'tiny'"),
    "unknown model (train)": (["train", "mnist_pixel", "--data", "rgb.npz"], "Did you mean 'mnist_pixelcnn'"),
    "unknown model (zoo info)": (["zoo", "info", "cifar_diag"], "Did you mean"),
    "no zoo match": (["zoo", "list", "resnet*"], "no zoo entry matches 'resnet\\*'"),
    "unknown command": (["smaple", "tiny"], "invalid choice: 'smaple'"),
    "no command": ([], "required"),
    # numbers
    "num 0": (["sample", "tiny", "--num", "0"], "--num: must be an int > 0, got '0'"),
    "num negative": (["complete", "tiny", "--data", "rgb.npz", "--num", "-2"], "--num: must be an int > 0"),
    "num not a number": (["sample", "tiny", "--num", "many"], "--num: must be an int > 0, got 'many'"),
    "temperature 0": (["sample", "tiny", "--temperature", "0"], "--temperature: must be a number > 0"),
    "temperature negative": (["complete", "tiny", "--data", "rgb.npz", "--temperature", "-1"], "--temperature"),
    "temperature nan": (["sample", "tiny", "--temperature", "nan"], "--temperature: must be a number > 0"),
    "seed negative": (["sample", "tiny", "--seed", "-1"], "--seed: must be an int >= 0"),
    "batch size 0": (["eval", "tiny", "--data", "rgb.npz", "--batch-size", "0"], "--batch-size"),
    "limit 0": (["eval", "tiny", "--data", "rgb.npz", "--limit", "0"], "--limit"),
    "epochs 0": (["train", "tiny", "--data", "rgb.npz", "--epochs", "0"], "--epochs: must be an int > 0"),
    # files
    "missing data": (["complete", "tiny", "--data", "nothing.npz"], "--data: no such file or folder 'nothing.npz'"),
    "missing data (eval)": (["eval", "tiny", "--data", "nothing/"], "--data: no such file or folder"),
    "missing data (train)": (["train", "tiny", "--data", "nothing.npz"], "--data: no such file or folder"),
    "unreadable npz": (["complete", "tiny", "--data", "garbage.npz"], "--data: path must be a readable .npz file"),
    "unreadable image": (["eval", "tiny", "--data", "broken_pngs"], "--data: path holds an unreadable image file"),
    "not images": (["eval", "tiny", "--data", "empty"], "--data: path must be a folder with .png/.jpg/.jpeg files"),
    "missing weights": (["sample", "tiny", "--weights", "no.weights.h5"], "--weights: no such file 'no.weights.h5'"),
    "unreadable weights": (["sample", "tiny", "--weights", "garbage.weights.h5"], "weights: could not load"),
    "no pretrained weights": (["sample", "cifar10_row_paper"], "has no pretrained weights yet: pass --weights"),
    "out folder missing": (["sample", "tiny", "--out", "no/where.png"], "--out: no such folder 'no'"),
    "out not png": (["sample", "tiny", "--out", "grid.jpg"], "--out must name a .png file"),
    # images that do not fit the model
    "wrong channels": (
        ["complete", "tiny", "--data", "rgb.npz"],
        r"shape \(8, 8, 3\) .* do not fit tiny, which takes \(8, 8, 1\)",
    ),
    "wrong size": (["eval", "tiny", "--data", "big.npz"], r"shape \(16, 16, 1\) .* do not fit tiny"),
    "wrong size (train)": (["train", "tiny", "--data", "big.npz"], r"shape \(16, 16, 1\) .* do not fit tiny"),
    "wrong size folder": (["complete", "tiny", "--data", "big_pngs"], r"do not fit tiny.*--resize"),
    "wrong levels": (
        ["eval", "tiny", "--data", "eight_bit.npz"],
        r"values up to 200, but tiny takes values in \[0, 2\)",
    ),
    "resize npz": (["complete", "tiny", "--data", "rgb.npz", "--resize"], "resize applies to image folders only"),
    "bad split": (["eval", "tiny", "--data", "rgb.npz", "--split", "valid"], "split must name an array"),
    "too few to train": (["train", "tiny", "--data", "one"], "needs at least 2 images"),
    "unknown precision": (
        ["train", "tiny", "--data", "rgb.npz", "--precision", "float16"],
        "--precision: invalid choice: 'float16'",
    ),
    "multi-worker without cluster": (
        ["train", "tiny", "--data", "rgb.npz", "--strategy", "multi-worker"],
        "needs the cluster in the TF_CONFIG",
    ),
}


@pytest.mark.parametrize("argv,message", list(BAD_INPUT.values()), ids=list(BAD_INPUT))
def test_bad_input_is_one_line_with_exit_status_2(tiny, bad_files, capsys, monkeypatch, argv, message):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pixelrnn"), err
    assert "Traceback" not in err
    assert re.search(message, lines[0]), lines[0]
    assert not [f for f in os.listdir(".") if f.endswith(".png")], "nothing is written on bad input"


def test_bad_input_in_a_real_process_prints_one_line_and_nothing_of_tensorflow(tmp_path):
    """Not a traceback, nor TensorFlow's start-up lines (oneDNN, CUDA drivers, ...), which it prints
    while loading and looking for devices, whatever TF_CPP_MIN_LOG_LEVEL says (here unset)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    result = subprocess.run(
        [sys.executable, "-m", "pixelrnn_keras.cli", "complete", "mnist_diag", "--data", str(tmp_path / "x.npz")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 2 and result.stdout == ""
    expected = f"pixelrnn complete: error: --data: no such file or folder {str(tmp_path / 'x.npz')!r}"
    assert result.stderr.splitlines() == [expected], result.stderr


def test_tensorflows_lines_below_the_level_are_held_back(monkeypatch):
    monkeypatch.setattr(startup, "_saw_no_drivers", False)
    lines = [
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
        b"I0000 00:00:1796236168.223922    5000 port.cc:153] oneDNN custom operations are on.\n",
        b"I0000 00:00:1796236168.271700    5000 cpu_feature_guard.cc:227] This TensorFlow binary is optimized\n",
        b"To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow.\n",
        b"W0000 00:00:1796236168.3    5000 a.cc:1] a warning\n",
        b"2025-09-17 14:44:05.157831: E external/b.cc:2] an error\n",
        b"  its second line\n",
    ]
    data = b"".join(lines)
    assert startup.kept(data, 0) == data.replace(lines[0], b"")
    assert startup.kept(data, 1) == b"".join(lines[4:])
    assert startup.kept(data, 2) == b"".join(lines[5:])
    assert startup.kept(data, 3) == b""
    cuda = [
        b"I0000 00:00:1796236168.224416    5000 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n",
        b"E0000 00:00:1796236257.877844    5519 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n",
    ]
    assert startup.kept(cuda[1], 2) == cuda[1]  # a machine with drivers: news
    assert startup.kept(cuda[0], 2) == b"" and startup.kept(cuda[1], 2) == b""  # one without: none


def test_what_python_writes_to_stderr_meanwhile_is_passed_on(monkeypatch, capfd):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    with startup.filtered_stderr():
        os.write(2, b"I0000 00:00:1796236168.223922    5000 port.cc:153] oneDNN custom operations are on.\n")
        print("a warning of Python's", file=sys.stderr)
        os.write(2, b"E0000 00:00:1796236168.3    5000 a.cc:1] an error\n")
    assert capfd.readouterr().err == "E0000 00:00:1796236168.3    5000 a.cc:1] an error\na warning of Python's\n"


def test_readme_main_job_gives_the_readme_picture(tmp_path, capsys, monkeypatch):
    """`pixelrnn sample mnist_diag --num 16 --out samples.png` with the bundled weights: the README's picture."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "sample", "mnist_diag", "--num", 16, "--out", "samples.png")
    assert code == 0, err
    with open("samples.png", "rb") as made, open(os.path.join(ROOT, "docs", "mnist_diag_samples.png"), "rb") as shown:
        assert made.read() == shown.read()


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_readme_multi_worker_example_runs_as_written(h5_arrays, tmp_path):
    """The README's two MultiWorkerMirroredStrategy workers on localhost train together to the same weights."""
    with open(os.path.join(ROOT, "README.md")) as f:
        block = next(b for b in re.findall(r"```bash\n(.*?)```", f.read(), flags=re.S) if "multi-worker" in b)
    ports = free_ports(2)
    script = (
        block.replace("localhost:12345", f"localhost:{ports[0]}")
        .replace("localhost:12346", f"localhost:{ports[1]}")
        .replace("pixelrnn train", f"{sys.executable} -m pixelrnn_keras.cli train")
    )
    write_folder(tmp_path / "my_digits", np.load(MNIST)["train"][:100, ..., None])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200)
    chief, other = tmp_path / "runs" / "two", tmp_path / "runs" / "two" / "worker-1"
    assert (chief / "final.weights.h5").is_file() and (other / "final.weights.h5").is_file(), result.stderr[-3000:]
    first, second = h5_arrays(chief / "final.weights.h5"), h5_arrays(other / "final.weights.h5")
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    assert (chief / "log.csv").read_text() == (other / "log.csv").read_text()
    assert glob.glob(str(chief / "samples" / "*.png")) and not (other / "samples").exists()


# --- Class-conditional entries --------------------------------------------------------------


@pytest.fixture
def tiny_class(tiny, tmp_path, monkeypatch):
    """A zoo entry "tiny_class": tiny with 10 classes, without weights, trained on "tiny_digits.npz"
    (8-bit digits with labels, binarized at 128 by the card), 8 images held out."""
    images = np.load(os.path.join(DATA, "digits8.npz"))
    np.savez(
        tmp_path / "tiny_digits.npz", x_train=digits(40)[..., 0] * 200, y_train=images["labels"][:40].astype("uint8")
    )
    card = dataclasses.replace(
        registry._CARDS["tiny"],
        name="tiny_class",
        config={**registry._CARDS["tiny"].config, "num_classes": 10},
        data={
            **registry._CARDS["tiny"].data,
            "eval_split": "holdout",
            "holdout": {"count": 8, "seed": 0},
            "binarize_at": 128,
        },
        weights=None,
        metrics=None,
    )
    monkeypatch.setitem(registry._CARDS, "tiny_class", card)
    return card


def test_a_class_entry_trains_from_unconditional_weights_then_evaluates_classifies_and_samples(
    tiny, tiny_class, capsys, tmp_path
):
    code, out, err = run(
        capsys, "train", "tiny_class", "--data", "tiny_digits.npz", "--workdir", "w", "--init-weights",
        "tiny.weights.h5", "--num-samples", 4,
    )  # fmt: skip
    assert code == 0, err
    weights = "w/final.weights.h5"
    model = registry.load("tiny_class", weights=None)
    model.load_weights(weights)
    held = tiny_class.held_out(40)
    images, labels = digits(40)[held], np.load("tiny_digits.npz")["y_train"][held].astype("int32")
    code, out, err = run(capsys, "eval", "tiny_class", "--data", "tiny_digits.npz", "--weights", weights)
    assert code == 0, err
    expected = evaluate_nll(model, images, labels=labels)
    assert f"(8 images): {expected['nats']:.2f} nats/image" in out
    code, out, err = run(capsys, "classify", "tiny_class", "--data", "tiny_digits.npz", "--weights", weights)
    assert code == 0, err
    predicted = np.argmax(model.classify(images), axis=1)
    lines = out.splitlines()
    assert lines[0].endswith(f"holdout (8 images): accuracy {np.mean(predicted == labels):.4f}")
    assert lines[1].split()[-10:] == [str(k) for k in range(10)] and len(lines) == 12
    table = np.array([line.split()[1:] for line in lines[2:]], int)
    assert table.sum() == 8 and np.trace(table) == np.sum(predicted == labels)
    # Training set the prior of classify to the training labels' frequencies.
    assert not np.allclose(model.class_prior_logits.numpy(), model.class_prior_logits.numpy()[0])
    code, out, err = run(capsys, "sample", "tiny_class", "--weights", weights, "--label", "0,1,2", "--out", "s.png")
    assert code == 0 and "sampling 3 images" in err, err
    grid = np.asarray(Image.open("s.png"))
    assert grid.shape == (2 * 9 * 4 + 4, 2 * 9 * 4 + 4)  # 3 tiles in 2 columns, at --scale 4
    code, out, err = run(
        capsys, "complete", "tiny_class", "--weights", weights, "--data", "tiny_digits.npz", "--split", "train",
        "--label", "3", "--num", "2", "--out", "c.png",
    )  # fmt: skip
    assert code == 0, err  # the card's data binarized as for training
    np.savez("eight_bit.npz", x_train=digits(4) * 200)
    code, out, err = run(
        capsys,
        "complete",
        "tiny_class",
        "--weights",
        weights,
        "--data",
        "eight_bit.npz",
        "--label",
        "3",
        "--out",
        "c.png",
    )
    assert code == 2 and "values up to 200" in err  # other data must fit the model already


def test_the_sampled_classes_are_those_asked_for(perturb, tiny, tiny_class, capsys, tmp_path):
    model = registry.load("tiny_class", weights=None)
    perturb(model, scale=1.0, seed=2)
    model.save_weights("class.weights.h5")
    code, out, err = run(
        capsys,
        "sample",
        "tiny_class",
        "--weights",
        "class.weights.h5",
        "--label",
        "4,7",
        "--scale",
        1,
        "--out",
        "s.png",
    )
    assert code == 0, err
    grid = np.asarray(Image.open("s.png"))
    tiles = [grid[1:9, 1 + 9 * c : 9 + 9 * c] for c in range(2)]
    expected = np.asarray(model.sample(2, seed=0, labels=np.array([4, 7])))[..., 0] * 255
    np.testing.assert_array_equal(np.stack(tiles), expected)


CLASS_BAD_INPUT = {
    "label for a model without classes": (["sample", "tiny", "--label", "1"], "--label: tiny has no classes"),
    "no label for a class model": (["sample", "tiny_class", "--weights", "tiny.weights.h5"], "--label is needed"),
    "label out of range": (["sample", "tiny_class", "--label", "10"], r"--label must be in \[0, 10\)"),
    "negative label": (["sample", "tiny_class", "--label", "-1"], "--label: must be an int >= 0"),
    "label not a number": (["sample", "tiny_class", "--label", "seven"], "--label: must be an int >= 0"),
    "labels for other images": (
        ["sample", "tiny_class", "--label", "1,2", "--num", "3"],
        "--label: 2 labels for 3 images",
    ),
    "classify a model without classes": (["classify", "tiny", "--data", "tiny_digits.npz"], "not class-conditional"),
    "classify images without labels": (
        ["classify", "tiny_class", "--data", "unlabelled.npz", "--weights", "tiny.weights.h5"],
        "--data: labels: 'unlabelled.npz' holds no labels for its images 'train'",
    ),
}


@pytest.mark.parametrize("argv,message", list(CLASS_BAD_INPUT.values()), ids=list(CLASS_BAD_INPUT))
def test_bad_class_input_is_one_line_with_exit_status_2(tiny, tiny_class, capsys, argv, message):
    np.savez("unlabelled.npz", train=digits(4))
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and re.search(message, lines[0]), err
    assert not [f for f in os.listdir(".") if f.endswith(".png")]
