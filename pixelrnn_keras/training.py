"""Training recipes for zoo entries: data preparation and a resumable `model.fit`."""

import os

import keras
import numpy as np

from pixelrnn_keras import data as datasets
from pixelrnn_keras.zoo.registry import build_model


def card_data(card, source, data_dir=None):
    """The (train, eval) uint8 images of a card's data set, read from `source`.

    Args:
        card: a `ModelCard`.
        source: the card's ``.npz`` file (e.g. ``../shared/data/binarized_mnist.npz``) or the
            tensorflow-datasets name in ``card.data["name"]``, prepared in `data_dir`.
    """
    spec = card.data
    is_tfds = source == spec["name"]
    split = spec["train_split"]
    train = datasets.load(source, split=split, data_dir=data_dir) if is_tfds else datasets.load(source, split=split)
    holdout = spec.get("holdout")
    if holdout:
        train, held = datasets.split_holdout(train, holdout["fraction"], holdout["seed"])
        if spec["eval_split"] == "holdout":
            return train, held
    kwargs = {"data_dir": data_dir} if is_tfds else {}
    return train, datasets.load(source, split=spec["eval_split"], **kwargs)


class _AtomicWeights(keras.callbacks.Callback):
    """Writes the current weights to `path` after every epoch, through a temporary file."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        save_weights_atomically(self.model, self.path)


def save_weights_atomically(model, path):
    tmp = path[: -len(".weights.h5")] + ".partial.weights.h5"
    model.save_weights(tmp)
    os.replace(tmp, path)


def train(card, train_images, eval_images, workdir, epochs=None, steps_per_epoch=None, seed=0, verbose=2):
    """Train the card's model with its recipe; resumes from `workdir` after an interruption.

    Every epoch: validation NLL on `eval_images` (the recipe's `validation_images` of them),
    a backup for `BackupAndRestore`, a CSV log line and ``workdir/last.weights.h5`` written
    atomically. The final weights go to ``workdir/final.weights.h5``, also atomically.

    Returns:
        (model, path of the final weights).
    """
    recipe = card.training
    epochs = epochs or recipe["epochs"]
    steps_per_epoch = steps_per_epoch or recipe["steps_per_epoch"]
    os.makedirs(workdir, exist_ok=True)
    keras.utils.set_random_seed(seed)
    model = build_model(card)
    schedule = keras.optimizers.schedules.CosineDecay(
        recipe["learning_rate"], decay_steps=epochs * steps_per_epoch, alpha=recipe.get("final_lr_fraction", 0.05)
    )
    optimizers = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}
    model.compile(optimizer=optimizers[recipe["optimizer"]](schedule, clipnorm=recipe.get("clipnorm")))
    train_ds = datasets.make_dataset(train_images, recipe["batch_size"], seed=seed, repeat=True)
    valid = np.asarray(eval_images)[: recipe.get("validation_images", len(eval_images))]
    valid_ds = datasets.make_dataset(valid, recipe["batch_size"], shuffle=False)
    callbacks = [
        keras.callbacks.BackupAndRestore(os.path.join(workdir, "backup")),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.CSVLogger(os.path.join(workdir, "log.csv"), append=True),
        _AtomicWeights(os.path.join(workdir, "last.weights.h5")),
    ]
    model.fit(
        train_ds,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=valid_ds,
        callbacks=callbacks,
        verbose=verbose,
    )
    if not all(np.isfinite(w).all() for w in model.get_weights()):
        raise RuntimeError(f"training of {card.name!r} diverged (non-finite weights); see {workdir}/log.csv")
    final = os.path.join(workdir, "final.weights.h5")
    save_weights_atomically(model, final)
    return model, final
