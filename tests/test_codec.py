"""The codec: exact round trips for every arch, size close to the NLL, refusal of damaged or foreign streams."""

import struct
import zlib
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from pixelrnn_keras import MultiScalePixelRNN
from pixelrnn_keras.cli import codec as codec_cli
from pixelrnn_keras.cli import main
from pixelrnn_keras.codec import CorruptStreamError, ModelMismatchError, compress, decompress, rans, read_header
from pixelrnn_keras.codec.header import model_sha256, parse
from pixelrnn_keras.codec.steps import StageCoder, frequencies_from_logits
from pixelrnn_keras.layers import list_archs
from pixelrnn_keras.models.stages import stages_of

ARCHS = list_archs()
# Non-square images catch mixed-up rows and columns.
CASES = [((5, 6, 3), 256), ((8, 7, 1), 2)]
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def coded_model(tiny_model):
    """`coded_model(arch, shape, levels, seed=1, **config)`: a 1-layer model with weights drawn from
    `seed` (biases too), far from uniform distributions."""

    def build(arch, shape, levels, seed=1, **config):
        return tiny_model(arch, shape, levels, weights="redrawn", seed=seed, **config)

    return build


def stepped_frequencies(model, images, labels=None, index=0):
    """The frequency the codec's compiled steps give each sub-pixel's value of `images` (all of
    them known, as the encoder runs the steps), stage `index`: (N, h, w, C)."""
    coder = StageCoder.for_stage(model, index, len(images))
    f = stages_of(model)[index].factor
    labels = np.zeros(len(images), np.int32) if labels is None else labels
    known = np.ones(images[:, ::f, ::f].shape, bool)
    window = np.zeros(coder.window_size, np.int64)
    return coder(images[:, ::f, ::f], known, images, labels, rans.LOWER, window)[1][..., 0]


def forward_frequencies(logits, images):
    """The frequency that a full forward pass's `logits` give each sub-pixel's value of `images`."""
    frequencies = frequencies_from_logits(logits).numpy()
    return np.take_along_axis(frequencies, images[..., None].astype(np.int64), axis=-1)[..., 0]


@pytest.fixture
def spied_ranges(monkeypatch):
    """A list that collects the (frequency, start) arrays of every `StageCoder` call, in order."""
    found = []
    run = StageCoder.__call__

    def spy(self, *args):
        outputs = run(self, *args)
        found.append(outputs[1])
        return outputs

    monkeypatch.setattr(StageCoder, "__call__", spy)
    return found


def assert_both_sides_compute_the_same_frequencies(model, images, spied_ranges, **kwargs):
    """Encoder and decoder get the same (frequency, start) of every sub-pixel, bit for bit (each
    side records them for every sub-pixel, known or decoded), and the images back."""
    data = compress(model, images, **kwargs)
    encoded = list(spied_ranges)
    spied_ranges.clear()
    decoded = decompress(model, data)
    assert len(encoded) == len(spied_ranges) > 0
    for ours, theirs in zip(encoded, spied_ranges):
        np.testing.assert_array_equal(ours, theirs)
    return data, decoded


def nll_bits(model, images):
    return -float(np.sum(model.log_prob(images))) / np.log(2.0)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("shape,levels", CASES)
def test_round_trip_is_exact_for_every_arch_and_close_to_the_nll(
    coded_model, real_images, spied_ranges, arch, shape, levels
):
    model = coded_model(arch, shape, levels)
    images = real_images(shape, levels, 5)
    # 5 images in batches of 3: the last batch is padded.
    data, decoded = assert_both_sides_compute_the_same_frequencies(model, images, spied_ranges, batch_size=3)
    assert decoded.dtype == np.uint8 and decoded.shape == images.shape
    np.testing.assert_array_equal(decoded, images)
    header, payload = parse(data)
    assert (header.num_images, header.batch_size, header.image_shape, header.levels) == (5, 3, shape, levels)
    # Within 1% of the model's NLL, plus at most two words of the coder's final state.
    assert 8 * payload.nbytes <= 1.01 * nll_bits(model, images) + 64
    # The steps' distributions are the forward pass's, to within float rounding (2**-24 units).
    stepped = stepped_frequencies(model, images[:3])
    assert np.abs(stepped - forward_frequencies(model(images[:3]), images[:3])).max() <= 256


@pytest.mark.slow
def test_the_bundled_mnist_model_codes_real_images_within_1_percent_of_their_nll():
    """~30 s of CPU: compiling the 7-layer model's steps, 2 x 784 steps."""
    from pixelrnn_keras.zoo import load

    model = load("mnist_diag")
    images = np.load(DATA / "binarized_mnist_small.npz")["valid"][:40, ..., None]
    data = compress(model, images)
    header, payload = parse(data)
    nll = nll_bits(model, images)
    assert len(data) - payload.nbytes == 93  # the header, fixed for this model name
    assert 0.99 * nll <= 8 * payload.nbytes <= 1.01 * nll + 32
    np.testing.assert_array_equal(decompress(model, data), images)


@pytest.fixture(scope="module")
def binary_model(coded_model):
    return coded_model("pixelcnn", (8, 8, 1), 2)


@pytest.fixture(scope="module")
def stream(real_images, binary_model):
    images = real_images((8, 8, 1), 2, num=3)
    return images, compress(binary_model, images)


def test_every_damaged_byte_and_every_truncation_is_refused(binary_model, stream):
    assert_damage_is_refused(binary_model, stream[1])


def assert_damage_is_refused(model, data):
    """Every flipped byte, every truncation, appended bytes and a str raise their error."""
    for k in range(len(data)):
        damaged = bytearray(data)
        damaged[k] ^= 0x10
        with pytest.raises(CorruptStreamError):
            decompress(model, bytes(damaged))
    for length in range(len(data)):
        with pytest.raises(CorruptStreamError):
            decompress(model, data[:length])
    with pytest.raises(CorruptStreamError, match="appended"):
        decompress(model, data + b"\0\0\0\0")
    with pytest.raises(ValueError, match="data must be bytes"):
        decompress(model, "not bytes")


def test_a_forged_payload_with_valid_checksums_fails_the_image_checksum(binary_model, stream):
    """The last line of defence (also against a machine that computes other probabilities):
    the decoded images are checked against the encoder's CRC32."""
    forged = forged_stream(stream[1])
    with pytest.raises(CorruptStreamError, match="checksum"):
        decompress(binary_model, forged)


def forged_stream(data):
    """`data` with a damaged payload and the header's checksums of that payload: it passes the
    stream's checks, and decodes to other values (or fails to decode whole)."""
    header, payload = parse(data)
    payload = payload.copy()
    payload[0] ^= 0x00F00000
    forged_payload = payload.astype("<u4").tobytes()
    # The header ends with: payload words, payload CRC32, images CRC32, header CRC32.
    head = data[: len(data) - len(forged_payload) - 12]
    head += struct.pack("<II", zlib.crc32(forged_payload), header.images_crc32)
    forged = head + struct.pack("<I", zlib.crc32(head)) + forged_payload
    assert parse(forged)[0].payload_crc32 == zlib.crc32(forged_payload)  # it passes the stream checks
    return forged


def test_a_stream_of_another_model_is_refused_naming_both(coded_model, binary_model, stream):
    _, data = stream
    others = {
        "other weights": coded_model("pixelcnn", (8, 8, 1), 2, seed=2, name="other"),
        "other arch": coded_model("row_lstm", (8, 8, 1), 2, name="other"),
        "other shape": coded_model("pixelcnn", (8, 4, 1), 2, name="other"),
    }
    for other in others.values():
        with pytest.raises(ModelMismatchError, match=f"made by model '{binary_model.name}'.*this is 'other'"):
            decompress(other, data)
    # The name is informative only: the same configuration and weights decode.
    twin = coded_model("pixelcnn", (8, 8, 1), 2, name="twin")
    twin.set_weights(binary_model.get_weights())
    np.testing.assert_array_equal(decompress(twin, data), stream[0])
    header = read_header(data)
    assert header.model_name == binary_model.name and len(header.model_sha256) == 32


BAD_COMPRESS = {
    "values too large": (lambda x: x + 2, {}, "images"),
    "negative values": (lambda x: x - 1, {}, "images"),
    "floats": (lambda x: x.astype("float32"), {}, "images"),
    "another shape": (lambda x: x[:, :4], {}, "images"),
    "no images": (lambda x: x[:0], {}, "images"),
    "batch_size 0": (lambda x: x, {"batch_size": 0}, "batch_size"),
    "batch_size float": (lambda x: x, {"batch_size": 2.0}, "batch_size"),
}


@pytest.mark.parametrize("case", BAD_COMPRESS)
def test_bad_compress_arguments_name_themselves(real_images, binary_model, case):
    change, kwargs, name = BAD_COMPRESS[case]
    with pytest.raises(ValueError, match=name):
        compress(binary_model, change(real_images((8, 8, 1), 2, num=2)), **kwargs)


def test_a_model_without_the_step_api_is_refused():
    expected = "model must be a PixelRNN, a MultiScalePixelRNN or a Keras model with the one-pixel step API"
    with pytest.raises(ValueError, match=expected):
        compress(keras.Sequential([keras.layers.Dense(2)]), np.zeros((1, 8, 8, 1), "uint8"))


class PreviousSubpixelModel(keras.Model):
    """Another model type with the step API: each sub-pixel's logits are a learned table row
    picked by the sub-pixel before it in raster order (a Markov chain over the image)."""

    def __init__(self, image_shape, levels, **kwargs):
        super().__init__(**kwargs)
        self.image_shape, self.levels = tuple(image_shape), levels
        self.table = self.add_weight(shape=(levels + 1, levels), initializer=keras.initializers.RandomNormal(0, 2, 0))

    def init_cache(self, batch):
        return (tf.convert_to_tensor(self.table), tf.fill([batch], self.levels))  # (table, last sub-pixel)

    def step(self, cache, pixel, i, j, channel):
        table, last = cache
        previous = last if channel == 0 else pixel[:, channel - 1]
        return tf.gather(table, previous), cache

    def end_pixel(self, cache, pixel, i, j):
        return cache[0], pixel[:, -1]

    def end_row(self, cache, i, row):
        return cache

    def get_config(self):
        return {**super().get_config(), "image_shape": self.image_shape, "levels": self.levels}


def markov_nll_bits(model, images):
    """The exact NLL of `PreviousSubpixelModel`, computed without the codec's steps."""
    table = model.table.numpy().astype("float64")
    top = table.max(axis=1, keepdims=True)
    log_p = table - top - np.log(np.exp(table - top).sum(axis=1, keepdims=True))
    flat = images.reshape(len(images), -1)
    previous = np.concatenate([np.full((len(images), 1), model.levels), flat[:, :-1]], axis=1)
    return -log_p[previous, flat].sum() / np.log(2.0)


def test_another_model_type_with_the_step_api_plugs_in():
    model = PreviousSubpixelModel((3, 4, 3), 5, name="markov")
    images = np.random.default_rng(0).integers(0, 5, (3, 3, 4, 3))
    data = compress(model, images)
    np.testing.assert_array_equal(decompress(model, data), images)
    nll = markov_nll_bits(model, images)
    assert 0.99 * nll <= 8 * parse(data)[1].nbytes <= 1.01 * nll + 64


def test_new_weights_are_used_at_once_and_certain_wrong_guesses_still_code():
    """The compiled steps are kept per model, but take its weights afresh for every batch. With
    saturated distributions (float32 probabilities of exactly 1 and 0), every level keeps a
    frequency, so any image codes, at about 24 bits per sub-pixel the model rules out."""
    model = PreviousSubpixelModel((3, 4, 3), 5, name="markov")
    images = np.random.default_rng(0).integers(0, 5, (3, 3, 4, 3))
    before = compress(model, images)
    model.table.assign(1000.0 * np.eye(6, 5, dtype="float32"))  # certain: each sub-pixel repeats the last
    after = compress(model, images)
    fresh = PreviousSubpixelModel((3, 4, 3), 5, name="fresh")
    fresh.table.assign(model.table.numpy())
    fresh_stream = compress(fresh, images)
    assert read_header(fresh_stream).model_sha256 == read_header(after).model_sha256
    np.testing.assert_array_equal(parse(fresh_stream)[1], parse(after)[1])
    np.testing.assert_array_equal(decompress(model, after), images)
    with pytest.raises(ModelMismatchError):
        decompress(model, before)
    flat = images.reshape(3, -1)
    surprises = np.sum(flat[:, 1:] != flat[:, :-1]) + 3  # the first sub-pixel (after "none") too
    assert 8 * parse(after)[1].nbytes <= surprises * (24 + 0.01) + 64


def test_cli_compresses_png_files_and_decompresses_them_to_png(real_images, binary_model, tmp_path, capsys):
    model_file = str(tmp_path / "tiny.keras")
    binary_model.save(model_file)
    images = real_images((8, 8, 1), 2, num=3)
    paths = []
    for k, image in enumerate(images):
        paths.append(str(tmp_path / f"in{k}.png"))
        Image.fromarray(image[..., 0] * 255).save(paths[-1])
    np.savez(tmp_path / "more.npz", images=images[:2])
    out = str(tmp_path / "images.pxrc")
    assert main(["compress", model_file, *paths, str(tmp_path / "more.npz"), "--out", out]) == 0
    assert main(["decompress", out, "--model", model_file, "--out", str(tmp_path / "decoded")]) == 0
    decoded = [np.asarray(Image.open(tmp_path / "decoded" / f"{k:06d}.png")) for k in range(5)]
    np.testing.assert_array_equal(np.stack(decoded)[..., None], np.concatenate([images, images[:2]]) * 255)
    captured = capsys.readouterr()
    assert "wrote 5 PNG files" in captured.out and "decompress [" in captured.err


def test_cli_codes_a_folder_under_one_bar_and_an_interrupt_leaves_no_partial_file(
    binary_model, real_images, tmp_path, capsys, monkeypatch
):
    model_file = str(tmp_path / "tiny.keras")
    binary_model.save(model_file)
    images = real_images((8, 8, 1), 2, num=5)
    folder = tmp_path / "in"
    folder.mkdir()
    for k, image in enumerate(images):
        Image.fromarray(image[..., 0] * 255).save(folder / f"{k:03d}.png")
    (folder / "notes.txt").write_text("not an image: skipped")
    out = tmp_path / "images.pxrc"
    assert main(["compress", model_file, str(folder), "--out", str(out), "--batch-size", "2"]) == 0
    err = capsys.readouterr().err
    # One bar over the 5 images of the 3 batches, drawn on one line.
    assert err.count("\n") == 1 and err.rstrip().endswith("compress [" + "#" * 30 + "] 5/5"), err
    decoded = tmp_path / "decoded"
    assert main(["decompress", str(out), "--model", model_file, "--out", str(decoded)]) == 0
    assert capsys.readouterr().err.count("\n") == 1
    np.testing.assert_array_equal(
        np.stack([np.asarray(Image.open(p)) for p in sorted(decoded.iterdir())]), images[..., 0] * 255
    )

    def interrupted(label):  # Ctrl-C after the first row
        def report(done, total):
            raise KeyboardInterrupt

        return report

    monkeypatch.setattr(codec_cli, "progress_bar", interrupted)
    again = tmp_path / "again.pxrc"
    assert main(["compress", model_file, str(folder), "--out", str(again)]) == 130
    assert main(["decompress", str(out), "--model", model_file, "--out", str(tmp_path / "none")]) == 130
    monkeypatch.undo()
    # Ctrl-C while the third PNG is being written: the two before are complete, no other file is left.
    save = Image.Image.save

    def save_then_interrupt(picture, path, *args, **kwargs):
        save(picture, path, *args, **kwargs)
        if str(path).startswith(str(tmp_path / "late" / "000002")):
            raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", save_then_interrupt)
    assert main(["decompress", str(out), "--model", model_file, "--out", str(tmp_path / "late")]) == 130
    assert sorted(p.name for p in (tmp_path / "late").iterdir()) == ["000000.png", "000001.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decoded", "images.pxrc", "in", "late", "tiny.keras"]


def test_cli_bad_input_is_one_line_and_exit_status_2(binary_model, stream, tmp_path, capsys):
    model_file = str(tmp_path / "tiny.keras")
    binary_model.save(model_file)
    grey = str(tmp_path / "grey.png")
    Image.fromarray(np.full((8, 8), 128, "uint8")).save(grey)
    damaged = tmp_path / "damaged.pxrc"
    damaged.write_bytes(stream[1][:-1])
    cases = [
        (["compress", model_file, str(tmp_path / "missing.png"), "--out", "x"], "no such file"),
        (["compress", model_file, grey, "--out", "x"], "intensities must be those of 2 levels"),
        (["compress", "no_such_model", grey, "--out", "x"], "zoo name"),
        (["compress", "cifar10_row_paper", grey, "--out", "x"], "has no pretrained weights yet: pass --weights"),
        (["decompress", str(damaged), "--model", model_file, "--out", str(tmp_path)], "truncated"),
        (["decompress", str(tmp_path / "missing.pxrc"), "--out", str(tmp_path)], "no such file"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "x").exists()


# Multi-scale models: x_s = x[:, ::2, ::2] with the low network, then the pixels off that grid given x_s.


@pytest.fixture(scope="session")
def coded_multi_scale(tiny_multi_scale):
    """`coded_multi_scale(low_arch, high_arch, shape, levels, seed=1, **kwargs)`: 8x8 images, 4x4
    low images, 1-layer networks, weights drawn from `seed`."""

    def build(low_arch, high_arch, shape, levels, seed=1, **kwargs):
        return tiny_multi_scale(
            shape,
            4,
            levels,
            low_arch,
            high_arch,
            weights="redrawn",
            seed=seed,
            condition_features=4,
            condition_layers=1,
            **kwargs,
        )

    return build


@pytest.fixture(scope="module")
def multi_scale_model(coded_multi_scale):
    return coded_multi_scale("row_lstm", "pixelcnn", (8, 8, 1), 2)


@pytest.fixture(scope="module")
def multi_scale_stream(real_images, multi_scale_model):
    # 20 images in batches of 8: the last batch is padded; enough bits that the 1% bound is tight.
    images = real_images((8, 8, 1), 2, num=20)
    return images, compress(multi_scale_model, images, batch_size=8)


def test_multi_scale_round_trip_is_exact_and_within_1_percent_of_the_nll(
    multi_scale_model, multi_scale_stream, spied_ranges
):
    images, data = multi_scale_stream
    again, decoded = assert_both_sides_compute_the_same_frequencies(
        multi_scale_model, images, spied_ranges, batch_size=8
    )
    assert again == data
    np.testing.assert_array_equal(decoded, images)
    header, payload = parse(data)
    assert (header.num_images, header.batch_size, header.image_shape) == (20, 8, (8, 8, 1))
    nll = nll_bits(multi_scale_model, images)
    assert 0.99 * nll <= 8 * payload.nbytes <= 1.01 * nll + 64


def test_multi_scale_grid_pixels_are_known_not_coded(multi_scale_model, multi_scale_stream, monkeypatch):
    """A mutation: coding the grid's sub-pixels with the high network as well (as if they were
    unknown) costs their bits under the high network on top of the NLL, and breaks the size bound."""
    images, data = multi_scale_stream
    nll = nll_bits(multi_scale_model, images)
    high_logits = multi_scale_model(images)[1]
    grid = multi_scale_model.grid_mask()
    entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=images.astype("int32"), logits=high_logits)
    grid_bits = float(np.sum(entropy.numpy()[:, grid])) / np.log(2.0)
    monkeypatch.setattr(MultiScalePixelRNN, "grid_mask", lambda self: np.zeros(self.image_shape[:2], bool))
    mutated = compress(multi_scale_model, images, batch_size=8)
    assert 8 * parse(mutated)[1].nbytes > 1.01 * nll + 64
    assert 0.99 * (nll + grid_bits) <= 8 * parse(mutated)[1].nbytes <= 1.01 * (nll + grid_bits) + 64


def test_the_high_steps_read_each_batch_s_condition_when_they_run(multi_scale_model, multi_scale_stream):
    """The compiled loop is kept per model, stage and batch size; the condition map is computed
    from the s x s grid of the images passed, never compiled in. With every value known, the
    steps give the full forward pass's distributions of batch after batch."""
    images = multi_scale_stream[0][:16]
    coder = StageCoder.for_stage(multi_scale_model, 1, 8)
    assert (
        StageCoder.for_stage(multi_scale_model, 1, 8) is coder
        and StageCoder.for_stage(multi_scale_model, 1, 4) is not coder
    )
    for batch, other in ((images[:8], images[8:]), (images[8:], images[:8])):
        full = forward_frequencies(multi_scale_model(batch)[1], batch)
        assert np.abs(stepped_frequencies(multi_scale_model, batch, index=1) - full).max() <= 256
        # Conditioned on the other batch's s x s images, the steps give other distributions.
        mixed = np.where(multi_scale_model.grid_mask()[None, :, :, None], other, batch)
        stepped = stepped_frequencies(multi_scale_model, mixed, index=1)
        off_grid = ~multi_scale_model.grid_mask()
        assert np.abs(stepped - forward_frequencies(multi_scale_model(mixed)[1], mixed))[:, off_grid].max() <= 256
        assert np.abs(stepped - full)[:, off_grid].max() > 2**16


# Slow only for the default run's time (~25 s each, mostly compiling); the default run codes a
# multi-scale model's binary images (above) and every single-scale arch's colour images.
MULTI_SCALE_CASES = [
    pytest.param("pixelcnn", "row_lstm", (8, 8, 3), 256, marks=pytest.mark.slow),
    pytest.param("diagonal_bilstm", "pixelcnn", (8, 8, 3), 256, marks=pytest.mark.slow),
    pytest.param("row_lstm", "diagonal_bilstm", (8, 8, 1), 2, marks=pytest.mark.slow),
    pytest.param("pixelcnn", "diagonal_bilstm", (8, 8, 3), 256, marks=pytest.mark.slow),
    pytest.param("row_lstm", "gated_pixelcnn", (8, 8, 3), 256, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("low_arch,high_arch,shape,levels", MULTI_SCALE_CASES)
def test_multi_scale_round_trip_of_colour_and_other_archs(
    coded_multi_scale, real_images, low_arch, high_arch, shape, levels
):
    model = coded_multi_scale(low_arch, high_arch, shape, levels)
    images = real_images(shape, levels, 5)
    data = compress(model, images, batch_size=3)  # 5 images: the last batch is padded
    decoded = decompress(model, data)
    assert decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, images)
    nll = nll_bits(model, images)
    assert 0.99 * nll <= 8 * parse(data)[1].nbytes <= 1.01 * nll + 64


def test_multi_scale_damaged_and_forged_streams_are_refused(multi_scale_model, multi_scale_stream):
    assert_damage_is_refused(multi_scale_model, multi_scale_stream[1])
    with pytest.raises(CorruptStreamError, match="checksum"):
        decompress(multi_scale_model, forged_stream(multi_scale_stream[1]))


def test_streams_of_pixel_rnns_and_multi_scale_models_are_refused_by_the_other(
    coded_multi_scale, binary_model, stream, multi_scale_model, multi_scale_stream
):
    """These models all take 8x8 binary images; only the one that made a stream decodes it."""
    other_condition = coded_multi_scale("row_lstm", "pixelcnn", (8, 8, 1), 2, name="other")
    other_condition.set_weights(multi_scale_model.get_weights())
    kernel = other_condition.condition_upsample.kernel
    kernel.assign(kernel.numpy() * 1.001)  # only the conditioning network's weights differ
    assert model_sha256(other_condition) != model_sha256(multi_scale_model)
    with pytest.raises(ModelMismatchError, match=f"made by model '{multi_scale_model.name}'.*this is 'other'"):
        decompress(other_condition, multi_scale_stream[1])
    with pytest.raises(ModelMismatchError, match=f"made by model '{binary_model.name}'"):
        decompress(multi_scale_model, stream[1])
    with pytest.raises(ModelMismatchError, match=f"made by model '{multi_scale_model.name}'"):
        decompress(binary_model, multi_scale_stream[1])


def test_cli_compresses_with_a_multi_scale_model_file_as_the_library_does(
    multi_scale_model, multi_scale_stream, tmp_path
):
    """The same bytes as `compress` in memory. (Each command loads and compiles the model afresh:
    decompressing by the command is tested, with the zoo's multi-scale entry, behind the slow marker.)"""
    model_file = str(tmp_path / "multi_scale.keras")
    multi_scale_model.save(model_file)
    images, data = multi_scale_stream
    np.savez(tmp_path / "images.npz", images=images)
    out = tmp_path / "images.pxrc"
    assert main(["compress", model_file, str(tmp_path / "images.npz"), "--batch-size", "8", "--out", str(out)]) == 0
    assert out.read_bytes() == data


@pytest.mark.slow
def test_cli_codes_mnist_with_the_multi_scale_zoo_model_and_a_weights_file(tmp_path):
    """The zoo's multi-scale entry by name, with weights from a file (--weights).
    ~2 minutes of CPU: compiling the 7-layer upper network's steps twice (each command loads it)."""
    from pixelrnn_keras.zoo import load

    model = load("mnist_multiscale", weights=None)
    weights = str(tmp_path / "fresh.weights.h5")
    model.save_weights(weights)
    images = np.load(DATA / "binarized_mnist_small.npz")["valid"][:3, ..., None]
    np.savez(tmp_path / "digits.npz", images=images)
    out = str(tmp_path / "digits.pxrc")
    assert main(["compress", "mnist_multiscale", str(tmp_path / "digits.npz"), "--weights", weights, "--out", out]) == 0
    assert main(["decompress", out, "--weights", weights, "--out", str(tmp_path / "decoded")]) == 0
    decoded = [np.asarray(Image.open(tmp_path / "decoded" / f"{k:06d}.png")) for k in range(3)]
    np.testing.assert_array_equal(np.stack(decoded)[..., None], images * 255)
    with open(out, "rb") as f:
        header, payload = parse(f.read())
    nll = nll_bits(model, images)
    assert header.model_name == "mnist_multiscale"
    assert 0.99 * nll <= 8 * payload.nbytes <= 1.01 * nll + 64


# Class-conditional models: each batch's labels are coded first, then its images given them.


@pytest.fixture(scope="module")
def class_model(coded_model):
    # Seed 3: the images below are most likely under different classes.
    return coded_model("row_lstm", (8, 7, 1), 2, seed=3, num_classes=3)


@pytest.fixture(scope="module")
def class_images(real_images):
    """10 images: 7 digits, then blank, full and an inverted digit."""
    digits = real_images((8, 7, 1), 2, num=7)
    return np.concatenate([digits, np.zeros_like(digits[:1]), np.ones_like(digits[:1]), 1 - digits[:1]])


def class_nll_bits(model, images, labels):
    """-log2 p(x | y) of the images plus log2(K) per label."""
    return -float(np.sum(model.log_prob(images, labels=labels))) / np.log(2.0) + len(labels) * np.log2(3)


def test_class_model_round_trip_stores_the_labels_within_1_percent_of_their_nll(
    class_images, class_model, spied_ranges
):
    images, labels = class_images, np.array([0, 1, 2, 2, 1, 0, 1, 2, 0, 1], np.int32)
    data, (decoded, decoded_labels) = assert_both_sides_compute_the_same_frequencies(
        class_model, images, spied_ranges, labels=labels, batch_size=3
    )  # the last batch padded
    np.testing.assert_array_equal(decoded, images)
    np.testing.assert_array_equal(decoded_labels, labels)
    bits = 8 * parse(data)[1].nbytes
    nll = class_nll_bits(class_model, images, labels)
    assert 0.99 * nll - 64 <= bits <= 1.01 * nll + 64
    # The images are coded given their labels: other labels give another stream of other size.
    other = compress(class_model, images, labels=(labels + 1) % 3, batch_size=3)
    assert 8 * parse(other)[1].nbytes <= 1.01 * class_nll_bits(class_model, images, (labels + 1) % 3) + 64
    assert other != data


def test_class_model_without_labels_codes_each_image_under_its_most_likely_class(class_images, class_model):
    images = class_images
    best = np.argmax(class_model.class_log_likelihoods(images), axis=1)
    data = compress(class_model, images, batch_size=4)
    decoded, labels = decompress(class_model, data)
    np.testing.assert_array_equal(decoded, images)
    np.testing.assert_array_equal(labels, best)
    assert len(set(best.tolist())) > 1  # the choice is per image
    for other in range(3):  # no single class codes them in fewer bits
        assert len(data) <= len(compress(class_model, images, labels=np.full(10, other), batch_size=4)) + 8


BAD_LABELS = {
    "labels out of range": (lambda n: np.full(n, 3), "labels must be ints in \\[0, 3\\)"),
    "negative labels": (lambda n: np.full(n, -1), "labels must be ints in \\[0, 3\\)"),
    "labels of another batch": (lambda n: np.zeros(n + 1, int), "labels must be .* of shape \\(2,\\)"),
    "float labels": (lambda n: np.zeros(n), "labels must be .* got dtype float64"),
    "labels a matrix": (lambda n: np.zeros((n, 1), int), "labels must be .* got shape \\(2, 1\\)"),
}


@pytest.mark.parametrize("case", BAD_LABELS)
def test_bad_labels_are_refused_naming_labels(real_images, class_model, binary_model, case):
    make, message = BAD_LABELS[case]
    images = real_images((8, 7, 1), 2, num=2)
    with pytest.raises(ValueError, match=message):
        compress(class_model, images, labels=make(2))
    with pytest.raises(ValueError, match="labels must be None: this model has no classes"):
        compress(binary_model, real_images((8, 8, 1), 2, num=2), labels=np.zeros(2, int))


def test_cli_codes_a_class_model_s_images_with_their_labels(class_images, class_model, tmp_path):
    model_file = str(tmp_path / "class.keras")
    class_model.save(model_file)
    images = class_images[:4]
    np.savez(tmp_path / "images.npz", images=images)
    for label, expected in (
        (["--label", "2"], [2, 2, 2, 2]),
        ([], np.argmax(class_model.class_log_likelihoods(images), 1)),
    ):
        out, decoded = tmp_path / "images.pxrc", tmp_path / "decoded"
        assert main(["compress", model_file, str(tmp_path / "images.npz"), *label, "--out", str(out)]) == 0
        assert main(["decompress", str(out), "--model", model_file, "--out", str(decoded)]) == 0
        assert (decoded / "labels.txt").read_text().split() == [str(k) for k in expected]
        pngs = [np.asarray(Image.open(decoded / f"{k:06d}.png")) for k in range(4)]
        np.testing.assert_array_equal(np.stack(pngs)[..., None], images * 255)
    assert main(["compress", model_file, str(tmp_path / "images.npz"), "--label", "3", "--out", str(out)]) == 2


def test_the_steps_of_a_class_model_read_the_labels_passed(class_model, class_images):
    """The labels passed condition the compiled steps, never compiled in."""
    images = class_images[:4]
    for labels in (np.array([0, 1, 2, 0]), np.array([2, 2, 1, 1])):
        full = forward_frequencies(class_model(images, labels=labels), images)
        assert np.abs(stepped_frequencies(class_model, images, labels=labels) - full).max() <= 256
    other = stepped_frequencies(class_model, images, labels=np.array([1, 2, 0, 1]))
    assert np.abs(other - full).max() > 2**16


def test_a_stream_of_the_first_format_version_is_refused_naming_its_version(binary_model, stream):
    data = bytearray(stream[1])
    data[4] = 1  # the version byte, after the magic
    with pytest.raises(CorruptStreamError, match="format version 1; this version reads 2"):
        decompress(binary_model, bytes(data))


@pytest.mark.parametrize("chunk", [None, 16])
def test_rans_codes_extreme_and_uniform_distributions_exactly_near_their_information(chunk, monkeypatch):
    """Certain and near-impossible symbols, interleaved lanes with some known, uniform labels;
    encoded in one call or in chunks of 16 symbols."""
    if chunk:
        monkeypatch.setattr(rans, "_CHUNK", chunk)
    rng = np.random.default_rng(0)
    steps, lanes, levels = 60, 4, 5
    logits = rng.normal(size=(steps, lanes, levels)).astype("float32") * rng.choice([0.1, 3, 40], (steps, lanes, 1))
    frequencies = frequencies_from_logits(logits).numpy()
    symbols = rng.integers(0, levels, (steps, lanes)).astype("int32")  # often ones the model rules out
    known = rng.random((steps, lanes)) < 0.25
    ranges = rans.symbol_ranges(frequencies.reshape(-1, levels), symbols.reshape(-1)).numpy().reshape(steps, lanes, 2)
    labels = np.array([6, 0, 2])
    words = rans.encode(np.concatenate([rans.uniform_ranges(labels, 7), ranges[~known]]))
    information = -np.log2(ranges[..., 0][~known] / 2**rans.PRECISION).sum() + 3 * np.log2(7)
    assert information <= 32 * len(words) <= information + 64
    decoder = rans.Decoder(words)
    np.testing.assert_array_equal(decoder.decode_uniform(7, 3), labels)
    x, used, window = tf.constant(decoder.x, tf.int64), tf.constant(0), tf.constant(decoder.window(steps * lanes))
    for t in range(steps):
        values = np.where(known[t], symbols[t], 0)
        decoded, x, used = rans.decode_lanes(
            tf.constant(frequencies[t]), tf.constant(known[t]), values, x, window, used
        )
        np.testing.assert_array_equal(decoded, symbols[t])
    assert not decoder.exhausted()
    decoder.advance(x, used)
    assert decoder.exhausted()
