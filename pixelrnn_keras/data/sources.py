"""Loading image sets into uint8 arrays of shape (N, H, W, C).

Three kinds of source: a NumPy ``.npz`` file, a folder of PNG/JPEG files, and a prepared
tensorflow-datasets data set. `load` picks the right one from its argument, so that e.g.
``load("../shared/data/binarized_mnist.npz", split="valid")`` is one call.
"""

import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from pixelrnn_keras.data.arrays import as_int32_labels, as_uint8_images

# Arrays that `load_npz` picks, in this order, when the key is not given.
DEFAULT_NPZ_KEYS = ("train", "x_train", "images")

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")

COLOR_MODES = {"rgb": ("RGB", 3), "grayscale": ("L", 1)}

TFDS_NAMES = ("binarized_mnist", "mnist", "cifar10")

# Split names accepted besides the data sets' own: the shared .npz files call it "valid".
TFDS_SPLIT_ALIASES = {"valid": "validation"}


def _check_existing(path, name, kind):
    """`path` as a str, or ValueError if it is not an existing file (kind "file") or folder."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"{name} must be a path to an existing {kind}; got {path!r}")
    path = os.fspath(path)
    exists = os.path.isfile(path) if kind == "file" else os.path.isdir(path)
    if not exists:
        raise ValueError(f"{name} must be a path to an existing {kind}; got {path!r}")
    return path


def _open_npz(path):
    """The `np.load` archive of the ``.npz`` file `path`, or ValueError."""
    path = _check_existing(path, "path", "file")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f"path must be a readable .npz file; could not read {path!r}: {err}") from err
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"path must be a .npz archive; {path!r} holds a single .npy array")
    return archive


def load_npz(path, key=None):
    """Load one array of images from a ``.npz`` file.

    Args:
        path: the ``.npz`` file.
        key: name of the array. If None: the first of "train", "x_train", "images" that
            the file holds, or its only array.

    Returns:
        uint8 array (N, H, W, C); an (N, H, W) array gets a channel axis of size 1.
    """
    with _open_npz(path) as archive:
        path, keys = os.fspath(path), list(archive.files)
        if key is None:
            found = [k for k in DEFAULT_NPZ_KEYS if k in keys]
            if found:
                key = found[0]
            elif len(keys) == 1:
                key = keys[0]
            else:
                raise ValueError(f"key must be given: {path!r} holds several arrays and none is obvious: {keys}")
        elif key not in keys:
            raise ValueError(f"key must name one of the arrays in {path!r}: {keys}; got {key!r}")
        return as_uint8_images(archive[key], name=f"array {key!r} of {path!r}")


def _check_image_shape(image_shape, channels):
    """(height, width) from `image_shape` = (H, W) or (H, W, C) with C == `channels`."""
    image_shape = tuple(image_shape) if isinstance(image_shape, (tuple, list)) else (image_shape,)
    valid = len(image_shape) in (2, 3) and all(isinstance(s, (int, np.integer)) and s >= 1 for s in image_shape)
    if not valid or (len(image_shape) == 3 and image_shape[2] != channels):
        raise ValueError(
            f"image_shape must be (height, width) or (height, width, {channels}) with positive ints "
            f"(the channels follow color_mode); got {image_shape}"
        )
    return int(image_shape[0]), int(image_shape[1])


def load_image_folder(path, image_shape=None, color_mode="rgb"):
    """Load the PNG/JPEG files of one folder (not its subfolders), in sorted file-name order.

    Args:
        path: the folder. Files with other extensions are ignored.
        image_shape: None to keep the files' size (all must then have the same size), or
            (H, W) / (H, W, C) to resize every image to H x W (bilinear).
        color_mode: "rgb" (C = 3) or "grayscale" (C = 1).

    Returns:
        uint8 array (N, H, W, C).
    """
    path = _check_existing(path, "path", "folder")
    if color_mode not in COLOR_MODES:
        raise ValueError(f"color_mode must be one of {list(COLOR_MODES)}; got {color_mode!r}")
    pil_mode, channels = COLOR_MODES[color_mode]
    size = None if image_shape is None else _check_image_shape(image_shape, channels)
    names = sorted(n for n in os.listdir(path) if n.lower().endswith(IMAGE_EXTENSIONS))
    names = [n for n in names if os.path.isfile(os.path.join(path, n))]
    if not names:
        raise ValueError(f"path must be a folder with {'/'.join(IMAGE_EXTENSIONS)} files; {path!r} has none")
    images = []
    for name in names:
        file = os.path.join(path, name)
        try:
            with Image.open(file) as image:
                image = image.convert(pil_mode)
                if size is not None and image.size != (size[1], size[0]):
                    image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                array = np.asarray(image, dtype=np.uint8)
        except (OSError, UnidentifiedImageError) as err:
            raise ValueError(f"path holds an unreadable image file {file!r}: {err}") from err
        if images and array.shape != images[0].shape:
            raise ValueError(
                f"images in {path!r} differ in size ({names[0]}: {images[0].shape[:2]}, {name}: "
                f"{array.shape[:2]}); pass image_shape to resize them"
            )
        images.append(array)
    return as_uint8_images(np.stack(images))


def load_tfds(name, split="train", data_dir=None):
    """Load the images of a prepared tensorflow-datasets data set; never downloads.

    Args:
        name: "binarized_mnist", "mnist" or "cifar10".
        split: a tfds split, e.g. "train", "test", "train[:1000]"; "valid" means
            "validation" (binarized_mnist only).
        data_dir: the tfds data folder (None: the tfds default, ~/tensorflow_datasets).
            It must already hold the prepared data set.

    Returns:
        uint8 array (N, H, W, C) in the data set's order.

    Raises:
        FileNotFoundError: the data set is not prepared in `data_dir`.
    """
    if name not in TFDS_NAMES:
        raise ValueError(f"name must be one of {list(TFDS_NAMES)}; got {name!r}")
    if not isinstance(split, str) or not split:
        raise ValueError(f"split must be a non-empty tfds split string such as 'train'; got {split!r}")
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise ValueError(f"data_dir must be None or a path; got {data_dir!r}")
    # Imported here: tensorflow_datasets takes seconds to import and only this loader needs it.
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=None if data_dir is None else os.fspath(data_dir))
    try:
        dataset = builder.as_dataset(split=TFDS_SPLIT_ALIASES.get(split, split), shuffle_files=False)
    except AssertionError as err:  # tfds's way of saying the data set is not prepared
        raise FileNotFoundError(
            f"tensorflow-datasets {name!r} is not prepared in data_dir={str(builder.data_dir_root)!r}, and this "
            f"loader never downloads. Prepare it first, e.g. on a machine with network access: "
            f"tfds.builder({name!r}, data_dir=...).download_and_prepare(), then copy data_dir here."
        ) from err
    batches = dataset.map(lambda example: example["image"]).batch(4096).as_numpy_iterator()
    return as_uint8_images(np.concatenate(list(batches)), name=f"tfds {name!r} images")


def load(source, split=None, data_dir=None, key=None, image_shape=None, color_mode="rgb"):
    """Load images from a ``.npz`` file, an image folder or a tfds name, as uint8 (N, H, W, C).

    Args:
        source: an existing ``.npz`` file, an existing folder of images, or one of the tfds
            names "binarized_mnist", "mnist", "cifar10".
        split: which part to load. ``.npz``: the array named `split` or ``x_<split>`` (e.g.
            "valid" -> "valid", "train" -> "x_train"); None: see `load_npz`. Folder: the
            subfolder `split`; None: the folder itself. tfds: a split string; None: "train".
        data_dir: tfds sources only; see `load_tfds`.
        key: ``.npz`` sources only; the array name, overriding `split`.
        image_shape, color_mode: folder sources only; see `load_image_folder`.
    """
    is_path = isinstance(source, (str, os.PathLike))
    if is_path and os.path.isfile(source) and os.fspath(source).endswith(".npz"):
        kind = "npz"
    elif is_path and os.path.isdir(source):
        kind = "folder"
    elif isinstance(source, str) and source in TFDS_NAMES:
        kind = "tfds"
    else:
        raise ValueError(
            f"source must be an existing .npz file, an existing image folder or one of {list(TFDS_NAMES)}; "
            f"got {source!r}"
        )
    for arg, given, kind_of_arg in (
        ("data_dir", data_dir is not None, "tfds"),
        ("key", key is not None, "npz"),
        ("image_shape", image_shape is not None, "folder"),
        ("color_mode", not (isinstance(color_mode, str) and color_mode == "rgb"), "folder"),
    ):
        if given and kind != kind_of_arg:
            raise ValueError(f"{arg} applies only to {kind_of_arg} sources; got it for {kind} source {source!r}")
    if split is not None and (not isinstance(split, str) or not split):
        raise ValueError(f"split must be None or a non-empty string; got {split!r}")

    if kind == "npz":
        if key is None and split is not None:
            with _open_npz(source) as archive:
                key = _split_key(source, list(archive.files), split)
        return load_npz(source, key=key)
    if kind == "folder":
        folder = source if split is None else os.path.join(source, split)
        return load_image_folder(folder, image_shape=image_shape, color_mode=color_mode)
    return load_tfds(source, split="train" if split is None else split, data_dir=data_dir)


def _split_key(path, keys, split):
    """The array of a .npz file's `keys` that `split` names: `split` itself or ``x_<split>``."""
    matches = [k for k in (split, f"x_{split}") if k in keys]
    if not matches:
        raise ValueError(
            f"split must name an array of {path!r} (as {split!r} or 'x_{split}'), one of {keys}; got {split!r}"
        )
    return matches[0]


def load_labels(path, split=None):
    """The class labels (N,) int32 of the images that ``load(path, split)`` reads from a ``.npz`` file.

    They are the array ``y_<name>`` for images ``x_<name>`` (mnist.npz, cifar10_train.npz),
    ``labels`` for ``images``, or ``<name>_labels`` for images ``<name>``.

    Raises:
        ValueError: not a .npz file, no such array, or not one integer >= 0 per image.
    """
    if not (isinstance(path, (str, os.PathLike)) and os.fspath(path).endswith(".npz")):
        raise ValueError(f"labels are read from .npz files only; got {path!r}")
    with _open_npz(path) as archive:
        keys = list(archive.files)
        if split is not None:
            key = _split_key(path, keys, split)
        else:
            key = next((k for k in DEFAULT_NPZ_KEYS if k in keys), keys[0] if len(keys) == 1 else None)
        names = [f"y_{key[2:]}" if key and key.startswith("x_") else None, "labels" if key == "images" else None]
        names = [name for name in (*names, f"{key}_labels") if name]
        found = [name for name in names if name in keys]
        if key is None or not found:
            raise ValueError(f"labels: {path!r} holds no labels for its images {key!r} (as {names}); it holds {keys}")
        return as_int32_labels(archive[found[0]], len(archive[key]), name=f"labels: array {found[0]!r} of {path!r}")
