"""Training recipes for zoo entries: data preparation and a resumable `model.fit`."""

import os

import h5py
import keras
import numpy as np
import tensorflow as tf

from pixelrnn_keras import data as datasets
from pixelrnn_keras.callbacks import AtomicBackupAndRestore, EpochSummaries, SampleGrid
from pixelrnn_keras.files import atomic_path
from pixelrnn_keras.models import PixelRNN, load_weights_exactly
from pixelrnn_keras.models.widening import inside_model, widened_weights
from pixelrnn_keras.zoo.registry import build_model

# Keras dtype policies a run can train under; the weights are float32 under both.
PRECISIONS = ("float32", "mixed_bfloat16")


def card_data(card, source, data_dir=None):
    """The (train, eval) uint8 images of a card's data set, read from `source` and prepared as
    the card says (its optional "binarize_at" threshold).

    For a class-conditional card (num_classes > 0 in its config), train and eval are each an
    (images, labels) pair, the labels read with `data.load_labels` (from a ``.npz`` file).

    Args:
        card: a `ModelCard`.
        source: the card's ``.npz`` file (e.g. ``../shared/data/binarized_mnist.npz``) or the
            tensorflow-datasets name in ``card.data["name"]``, prepared in `data_dir`.
    """
    spec = card.data
    kwargs = {"data_dir": data_dir} if source == spec["name"] else {}

    def read(split):
        images = datasets.load(source, split=split, **kwargs)
        if "binarize_at" in spec:
            images = datasets.binarize(images, threshold=spec["binarize_at"])
        if not card.config.get("num_classes"):
            return images
        return images, datasets.load_labels(source, split=split)

    train = read(spec["train_split"])
    if spec.get("holdout"):
        is_held = np.zeros(len(images_and_labels(train)[0]), dtype=bool)
        is_held[card.held_out(len(is_held))] = True
        train, held = _select(train, ~is_held), _select(train, is_held)
        if spec["eval_split"] == "holdout":
            return train, held
    return train, read(spec["eval_split"])


def _select(data, mask):
    """The images (and labels) of `data` where `mask` is True."""
    return tuple(part[mask] for part in data) if isinstance(data, tuple) else data[mask]


def images_and_labels(data):
    """(images, labels or None) of data as `card_data` gives it: images, or an (images, labels) pair."""
    return data if isinstance(data, tuple) else (data, None)


def load_initial_weights(model, path):
    """Loads the weights file `path` into `model` for a warm start: weights of the same model, or
    for a `PixelRNN`, those of the same network with fewer residual blocks, fewer hidden units
    (`models.widening`) and/or without classes. Then every weight of that network is loaded by
    its layer's path (widened, where it is narrower); the class layers (the label's projections
    and the class prior) are set to zero, and so is each added block's way to the head: its skip
    projection in a network with skip connections, else its output projection (`expand`: the
    block then passes its input on unchanged). The added blocks' and features' other weights keep
    their fresh initialisation. So the model starts as exactly the smaller one, for every label,
    and the zeroed weights get gradients at once: training grows it from there.

    Raises:
        ValueError: `path` holds the weights of none of those networks, or of a narrower
            conditional one (its condition layers do not widen).
    """
    try:
        load_weights_exactly(model, path)
        return
    except ValueError:
        if not isinstance(model, PixelRNN):
            raise
    source = _smaller_network(model, path)
    if source.hidden == model.hidden:
        found = {inside_model(v.path): v.numpy() for v in source.weights}
    else:
        found = widened_weights(source, type(model).from_config({**source.get_config(), "hidden": model.hidden}))
    for variable in model.weights:
        key = inside_model(variable.path)
        if key in found:
            variable.assign(found[key])
        elif _starts_at_zero(key, source.num_layers, model.skip_connections):
            variable.assign(np.zeros(variable.shape, variable.dtype))


def _smaller_network(model, path):
    """The network of `model` with fewer blocks, fewer hidden units and/or no classes whose weights
    `path` holds, loaded."""
    config = model.get_config()
    with h5py.File(path, "r") as file:  # the residual stream's 2h features, where the file has them
        stream = file["input_conv/vars/1"].shape[0] if "input_conv/vars/1" in file else 2 * model.hidden
    for num_classes in dict.fromkeys((model.num_classes, 0)):
        for hidden in dict.fromkeys((model.hidden, min(model.hidden, stream // 2))):
            for num_layers in range(model.num_layers, 0, -1):
                smaller = {"num_layers": num_layers, "num_classes": num_classes, "hidden": hidden}
                if all(config.get(key, 0) == value for key, value in smaller.items()):
                    continue
                candidate = type(model).from_config({**config, **smaller})
                try:
                    load_weights_exactly(candidate, path)
                except ValueError:
                    continue
                return candidate
    raise ValueError(
        f"initial weights: {path!r} holds the weights of neither this model nor its network with fewer "
        "residual blocks, fewer hidden units or without classes"
    )


def _starts_at_zero(key, source_layers, skip_connections):
    """Whether the weight at `key` (its path inside the model) is one that a warm start sets to
    zero: a class layer, or the way to the head of a block the source network did not have."""
    layer, *inside = key.split("/")
    if layer in ("input_condition", "class_prior_logits") or inside[:1] == ["condition_bias"]:
        return True
    kind, _, index = layer.rpartition("_")
    if not (index.isdigit() and int(index) >= source_layers):
        return False
    return kind == "skip" if skip_connections else (kind == "block" and inside[:1] == ["expand"])


class _AtomicWeights(keras.callbacks.Callback):
    """Writes the current weights to `path` after every epoch, through a temporary file."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        save_weights_atomically(self.model, self.path)


def save_weights_atomically(model, path):
    with atomic_path(path) as partial:
        model.save_weights(partial)


def is_chief(strategy):
    """Whether this process writes a run's files: always, except for the non-chief workers of a multi-worker run."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if "chief" in resolver.cluster_spec().as_dict():
        return resolver.task_type == "chief"
    return resolver.task_type == "worker" and resolver.task_id == 0


def train(
    card,
    train_images,
    eval_images,
    workdir,
    epochs=None,
    steps_per_epoch=None,
    seed=0,
    verbose=2,
    strategy=None,
    samples_every=1,
    num_samples=16,
    tensorboard=True,
    callbacks=(),
    initial_weights=None,
    learning_rate=None,
    precision=None,
):
    """Train the card's model with its recipe; resumes from `workdir` after an interruption.

    Every epoch: validation NLL on `eval_images` (the recipe's `validation_images` of them),
    a crash-safe backup (`AtomicBackupAndRestore`, in ``workdir/backup``), a CSV log line,
    ``workdir/last.weights.h5`` written atomically, TensorBoard scalars (loss in nats/image,
    bits/dim, learning rate) in ``workdir/tensorboard``, and every `samples_every` epochs a
    grid of `num_samples` samples in ``workdir/samples/epoch-NNN.png`` (and in TensorBoard).
    The final weights go to ``workdir/final.weights.h5``, also atomically.

    The recipe's optional "precision" is the Keras dtype policy to train under (e.g.
    "mixed_bfloat16" where `bench/train.py --precision` measured it faster); the weights are
    float32 either way, and the zoo loads them into a float32 model.

    Resuming gives the weights of an uninterrupted run: the batches are a function of (seed,
    step) (`data.make_step_dataset`), and the backup holds the optimizer state. A run killed
    during an epoch repeats that epoch from its start.

    Args:
        card: a `ModelCard` (its config and training recipe).
        train_images, eval_images: integer images (N, H, W, C) in [0, levels); for a
            class-conditional card, (images, labels (N,)) pairs, as `card_data` gives them.
        workdir: the run's folder.
        epochs, steps_per_epoch: override the recipe's.
        seed: initialisation and data-order seed.
        verbose: `model.fit`'s verbosity (1: a progress bar, 2: a line per epoch).
        strategy: a `tf.distribute.Strategy` to train under (e.g. `MirroredStrategy` over
            several devices, or `MultiWorkerMirroredStrategy`); None: the default (one device).
            The recipe's batch size is the global batch, split between the replicas. In a
            multi-worker run, workers other than the chief write to ``workdir/worker-N`` and
            draw no samples.
        samples_every: epochs between sample grids; 0 for none.
        num_samples: images per sample grid.
        tensorboard: write TensorBoard scalars and images.
        callbacks: more Keras callbacks for `fit`.
        initial_weights: a ``.weights.h5`` file of the card's model to start from instead of a
            fresh initialisation (a warm start; a resumed run continues from its backup instead);
            or of its network with fewer residual blocks and/or without classes (see
            `load_initial_weights`).
        learning_rate: overrides the recipe's peak learning rate (e.g. a lower one for a leg
            that goes on from trained weights, where the recipe's would first undo progress).
        precision: overrides the recipe's dtype policy, one of `PRECISIONS`: which one trains
            faster depends on the CPU (bfloat16 needs its instructions), not on the model.

    Returns:
        (model, path of the final weights).
    """
    if precision is not None and precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS} or None (the recipe's), got {precision!r}")
    recipe = card.training
    epochs = epochs or recipe["epochs"]
    steps_per_epoch = steps_per_epoch or recipe["steps_per_epoch"]
    strategy = strategy or tf.distribute.get_strategy()
    chief = is_chief(strategy)
    if not chief:
        workdir = os.path.join(workdir, f"worker-{strategy.cluster_resolver.task_id}")
    os.makedirs(workdir, exist_ok=True)
    keras.utils.set_random_seed(seed)
    (train_images, train_labels), (eval_images, eval_labels) = (
        images_and_labels(train_images),
        images_and_labels(eval_images),
    )
    with strategy.scope():
        model = build_model(card, dtype=precision or recipe.get("precision"))
        if initial_weights:
            load_initial_weights(model, initial_weights)
        if train_labels is not None:  # `classify`'s prior: the training data's class frequencies
            model.set_class_prior(train_labels)
        schedule = keras.optimizers.schedules.CosineDecay(
            learning_rate or recipe["learning_rate"],
            decay_steps=epochs * steps_per_epoch,
            alpha=recipe.get("final_lr_fraction", 0.05),
        )
        optimizers = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}
        model.compile(optimizer=optimizers[recipe["optimizer"]](schedule, clipnorm=recipe.get("clipnorm")))
    backup = AtomicBackupAndRestore(os.path.join(workdir, "backup"))
    start_step = backup.saved_epoch() * steps_per_epoch
    train_ds = datasets.make_step_dataset(
        train_images, recipe["batch_size"], seed=seed, start_step=start_step, labels=train_labels
    )
    # A seeded draw, not the first ones: a held-out split kept in file order can be sorted by class.
    count = min(recipe.get("validation_images", len(eval_images)), len(eval_images))
    pick = np.sort(np.random.default_rng(0).permutation(len(eval_images))[:count])
    valid_labels = None if eval_labels is None else np.asarray(eval_labels)[pick]
    valid_ds = datasets.make_dataset(
        np.asarray(eval_images)[pick], recipe["batch_size"], shuffle=False, labels=valid_labels
    )
    # int32 for the same reason as the training batches (see make_step_dataset).
    valid_ds = valid_ds.map(lambda *batch: (tf.cast(batch[0], tf.int32), *batch[1:]))
    log_dir = os.path.join(workdir, "tensorboard") if tensorboard and chief else None
    callbacks = [
        *callbacks,
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.CSVLogger(os.path.join(workdir, "log.csv"), append=True),
        _AtomicWeights(os.path.join(workdir, "last.weights.h5")),
    ]
    if log_dir:
        callbacks.append(EpochSummaries(log_dir))
    if samples_every and chief:
        pattern = os.path.join(workdir, "samples", "epoch-{epoch:03d}.png")
        callbacks.append(SampleGrid(pattern, num=num_samples, seed=seed, every=samples_every, log_dir=log_dir))
    # Last: an epoch counts as done once all its outputs are written (a kill before repeats them).
    callbacks.append(backup)
    model.fit(
        train_ds,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=valid_ds,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # the data set shuffles
    )
    if not all(np.isfinite(w).all() for w in model.get_weights()):
        raise RuntimeError(f"training of {card.name!r} diverged (non-finite weights); see {workdir}/log.csv")
    final = os.path.join(workdir, "final.weights.h5")
    save_weights_atomically(model, final)
    return model, final
