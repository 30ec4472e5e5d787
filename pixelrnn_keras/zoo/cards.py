"""Model cards: what each zoo entry is, how it was trained and how good it is, as data.

Cards are JSON files in `pixelrnn_keras/zoo/cards/`, shipped with the package. A card's
figures are written by `pixelrnn eval` (see `zoo/README.md`), never by hand.
"""

import dataclasses
import json
import os

import numpy as np

from pixelrnn_keras.data.splits import split_holdout
from pixelrnn_keras.files import atomic_path
from pixelrnn_keras.models.presets import preset_config

CARDS_DIR = os.path.join(os.path.dirname(__file__), "cards")
WEIGHTS_DIR = os.path.join(os.path.dirname(__file__), "weights")


@dataclasses.dataclass(frozen=True)
class ModelCard:
    """One zoo entry.

    Attributes:
        name: registry name, e.g. "mnist_diag".
        summary: one line for `list_models` and the README table.
        config: constructor arguments of the `model` class (with `preset`: the paper's config
            from `models.presets`, with the card file's "config" as overrides).
        data: the data set and its preprocessing: {"name", "file", "train_split",
            "eval_split", optional "holdout", optional "binarize_at", "license"}. With
            "binarize_at" t, the 8-bit images are binarized (x >= t) as they are read, for
            training and evaluation alike (`training.card_data`). The holdout is either {"fraction", "seed"}
            (that share of all images, drawn by `split_holdout`) or {"count", "seed", "after"}
            (`count` images drawn at random among those after the first `after`).
        training: the recipe: {"optimizer", "learning_rate", "batch_size", "epochs", ...,
            "command"}.
        paper: the paper's figure for the same architecture, for comparison (or {}).
        notes: how the entry differs from the paper and why.
        weights: {"file", "sha256"} of the bundled weights, or None (no pretrained weights).
        metrics: {"nats", "bits_per_dim", "split", "num_images", "command"} from `pixelrnn eval`, or None.
        params: number of parameters.
        model: the class the entry builds: "PixelRNN" or "MultiScalePixelRNN".
        preset: the name of the paper preset the config is, or None. The paper's sizes are
            defined once, in `models.presets`; such a card's file names the preset only.
    """

    name: str
    summary: str
    config: dict
    data: dict
    training: dict
    paper: dict = dataclasses.field(default_factory=dict)
    notes: str = ""
    weights: dict = None
    metrics: dict = None
    params: int = None
    model: str = "PixelRNN"
    preset: str = None

    @property
    def path(self):
        return os.path.join(CARDS_DIR, f"{self.name}.json")

    @property
    def weights_path(self):
        return None if self.weights is None else os.path.join(WEIGHTS_DIR, self.weights["file"])

    def held_out(self, count):
        """Indices (sorted) of the images that the card's recipe holds out of the `count` images of
        its training split for evaluation (its "holdout" split), as `pixelrnn train` does."""
        holdout = self.data.get("holdout")
        if not holdout:
            raise ValueError(f"{self.name!r} holds no images out: it is evaluated on split {self.data['eval_split']!r}")
        if "fraction" in holdout:
            return split_holdout(np.arange(count), holdout["fraction"], holdout["seed"])[1]
        after, held = holdout.get("after", 0), holdout["count"]
        if count - after < held:
            raise ValueError(
                f"{self.name!r} holds out {held} images after the first {after}, but its training split has {count}"
            )
        return np.sort(after + np.random.default_rng(holdout["seed"]).permutation(count - after)[:held])

    def to_json(self):
        fields = dataclasses.asdict(self)
        if self.preset:  # only what differs from the preset
            preset = _as_json(preset_config(self.preset))
            fields["config"] = {k: v for k, v in _as_json(self.config).items() if preset.get(k) != v}
        else:
            del fields["preset"]
        return json.dumps(fields, indent=2) + "\n"

    def save(self):
        """Write the card atomically."""
        with atomic_path(self.path) as partial, open(partial, "w") as f:
            f.write(self.to_json())


def read_cards():
    """{name: ModelCard} for every card shipped with the package."""
    cards = {}
    for file in sorted(os.listdir(CARDS_DIR)):
        if file.endswith(".json"):
            with open(os.path.join(CARDS_DIR, file)) as f:
                fields = json.load(f)
            if fields.get("preset"):
                fields["config"] = _as_json(preset_config(fields["preset"], **fields.get("config", {})))
            card = ModelCard(**fields)
            cards[card.name] = card
    return cards


def _as_json(config):
    """`config` as it reads back from JSON (tuples as lists)."""
    return json.loads(json.dumps(config))
