"""Write the small real-data subsets in tests/data from the project's shared data files.

Usage, from the project root:
    python tests/data/make_test_data.py [--shared ../shared/data] [--out tests/data]
"""

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parents[1]

# Images of cifar10_4k.npz to keep: 200 are ~0.57 MB compressed (CIFAR pixels hardly compress).
CIFAR_IMAGES = 200
# Of the 2000 images the CIFAR-10 cards hold out of cifar10_train.npz, the first (by index) to keep.
CIFAR_HELD_OUT_IMAGES = 100
# Of the 10000 images mnist_diag_cond holds out of mnist.npz, the first (by index) to keep.
MNIST_HELD_OUT_IMAGES = 200


def make_test_data(shared, out):
    """Write binarized_mnist_small.npz, mnist_holdout_small.npz, cifar10_small.npz,
    cifar10_holdout_small.npz and digits8.npz from `shared` to `out`."""
    from pixelrnn_keras.zoo import get_card

    with np.load(shared / "binarized_mnist.npz") as mnist:
        np.savez_compressed(out / "binarized_mnist_small.npz", train=mnist["train"][:2000], valid=mnist["valid"][:500])
    with np.load(shared / "mnist.npz") as mnist:
        index = get_card("mnist_diag_cond").held_out(len(mnist["y_train"]))[:MNIST_HELD_OUT_IMAGES]
        np.savez_compressed(
            out / "mnist_holdout_small.npz",
            x_train=mnist["x_train"][index],
            y_train=mnist["y_train"][index],
            index=index,
        )
    with np.load(shared / "cifar10_4k.npz") as cifar:
        np.savez_compressed(
            out / "cifar10_small.npz",
            x_train=cifar["x_train"][:CIFAR_IMAGES],
            y_train=cifar["y_train"][:CIFAR_IMAGES],
        )
    with np.load(shared / "cifar10_train.npz") as cifar:
        index = get_card("cifar10_diag").held_out(len(cifar["y_train"]))[:CIFAR_HELD_OUT_IMAGES]
        np.savez_compressed(
            out / "cifar10_holdout_small.npz",
            x_train=cifar["x_train"][index],
            y_train=cifar["y_train"][index],
            index=index,
        )
    with np.load(shared / "small_real_images.npz") as small:
        np.savez_compressed(out / "digits8.npz", images=small["digits_8x8"], labels=small["digits_y"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=PROJECT_ROOT.parent / "shared" / "data",
        help="folder with the shared data files (default: ../shared/data from the project root)",
    )
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: tests/data)")
    args = parser.parse_args()
    make_test_data(args.shared, args.out)


if __name__ == "__main__":
    main()
