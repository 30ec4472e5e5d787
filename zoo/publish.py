"""Bundle trained weights with a zoo entry: copy, hash, evaluate with `pixelrnn eval`, update the card.

The bundled file holds the model's weights only: a training run's files also hold Adam's state
(twice the weights again), which a user of the zoo never needs.

    python zoo/publish.py mnist_diag --weights runs/mnist_diag/final.weights.h5 \
        --data ../shared/data/binarized_mnist.npz

The card's figures are those printed by the `pixelrnn eval` command recorded on the card.
"""

import argparse
import dataclasses
import os
import re
import subprocess
import sys

from pixelrnn_keras.files import atomic_path
from pixelrnn_keras.zoo.cards import WEIGHTS_DIR, read_cards
from pixelrnn_keras.zoo.registry import load, sha256_of

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name")
    parser.add_argument("--weights", required=True, help="trained .weights.h5 file")
    parser.add_argument("--data", required=True, help="the card's data file (as for pixelrnn eval)")
    parser.add_argument("--limit", type=int, help="evaluate on the first N images of the split only")
    args = parser.parse_args()

    card = read_cards()[args.name]
    file = f"{card.name}.weights.h5"
    target = os.path.join(WEIGHTS_DIR, file)
    with atomic_path(target) as partial:
        load(card.name, weights=args.weights).save_weights(partial)  # an uncompiled model: no optimizer state
    card = dataclasses.replace(card, weights={"file": file, "sha256": sha256_of(target)}, metrics=None)
    card.save()  # the new sha256 must be on the card before `pixelrnn eval` loads the weights

    split = card.data["eval_split"]
    command = ["pixelrnn", "eval", card.name, "--data", args.data, "--split", split]
    if args.limit:
        command += ["--limit", str(args.limit)]
    shown = " ".join(command[:4] + [f"../shared/data/{card.data['file']}"] + command[5:])
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    print(output, end="")
    match = re.search(r"\((\d+) images\): ([\d.]+) nats/image, ([\d.]+) bits/dim", output)
    metrics = {
        "nats": float(match.group(2)),
        "bits_per_dim": float(match.group(3)),
        "split": split,
        "num_images": int(match.group(1)),
        "command": shown,
    }
    dataclasses.replace(card, metrics=metrics).save()
    subprocess.run([sys.executable, os.path.join(HERE, "render_cards.py")], check=True)


if __name__ == "__main__":
    main()
