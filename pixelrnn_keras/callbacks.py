"""Training callbacks: crash-safe backups, sample grids and TensorBoard curves.

- `AtomicBackupAndRestore`: `keras.callbacks.BackupAndRestore` whose backup survives a kill
  at any moment (SIGKILL included) and restores the optimizer state with the weights.
- `SampleGrid`: a PNG grid of samples after every epoch (and a TensorBoard image).
- `EpochSummaries`: the epoch's loss, bits/dim and learning rate as TensorBoard scalars.

TensorBoard records are written with TensorFlow alone (see `pixelrnn_keras.summaries`).
"""

import glob
import json
import os

import keras
import numpy as np
import tensorflow as tf

from pixelrnn_keras import summaries
from pixelrnn_keras.files import atomic_path
from pixelrnn_keras.images import save_png, to_grid


class AtomicBackupAndRestore(keras.callbacks.Callback):
    """Backs up the training state after every epoch; a later `fit` resumes from it.

    Keras's `BackupAndRestore` writes its weights file in place and then, separately, the
    epoch it belongs to: a kill in between leaves the weights of one epoch labelled with
    another, or a truncated file. Here each backup goes to a new file
    (``epoch-0003.weights.h5``: the model's and the optimizer's variables, so Adam's moments
    and step count, and with it the learning-rate schedule, resume too), and only once it is
    complete does ``state.json`` switch to it (``os.replace``); older files are removed
    after that. Whenever the process dies, ``state.json`` names a complete backup.

    A run killed during epoch e restarts from the end of epoch e - 1 and runs epoch e again.
    A run that finished keeps its last backup, so that running the same `fit` again does not
    train any further.

    A backup written by Keras's `BackupAndRestore` in the same folder (``latest.weights.h5``
    and ``training_metadata.json``) is restored as well, if there is no newer one of ours.

    Args:
        backup_dir: a folder used by this callback only.
    """

    def __init__(self, backup_dir):
        super().__init__()
        self.backup_dir = os.fspath(backup_dir)

    @property
    def _state_path(self):
        return os.path.join(self.backup_dir, "state.json")

    def saved_state(self):
        """(epochs done, weights file) of the backup in `backup_dir`, or (0, None) if there is none."""
        if os.path.isfile(self._state_path):
            with open(self._state_path) as f:
                state = json.load(f)
            return int(state["epoch"]), os.path.join(self.backup_dir, state["weights"])
        legacy_weights = os.path.join(self.backup_dir, "latest.weights.h5")
        legacy_state = os.path.join(self.backup_dir, "training_metadata.json")
        if os.path.isfile(legacy_weights) and os.path.isfile(legacy_state):
            with open(legacy_state) as f:
                return int(json.load(f)["epoch"]), legacy_weights
        return 0, None

    def saved_epoch(self):
        """How many epochs the backup holds (0 without a backup): the epoch a resumed `fit` starts at."""
        return self.saved_state()[0]

    def on_train_begin(self, logs=None):
        epoch, weights = self.saved_state()
        if weights is None:
            return
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)  # its variables must exist to be loaded
        self.model.load_weights(weights)
        # What keras.callbacks.BackupAndRestore sets as well: `fit` starts at this epoch.
        self.model._initial_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.backup_dir, exist_ok=True)
        name = f"epoch-{epoch + 1:04d}.weights.h5"
        with atomic_path(os.path.join(self.backup_dir, name)) as partial:
            self.model.save_weights(partial)
        with atomic_path(self._state_path) as partial, open(partial, "w") as f:
            json.dump({"epoch": epoch + 1, "weights": name}, f)
        for old in glob.glob(os.path.join(self.backup_dir, "*.weights.h5")) + [
            os.path.join(self.backup_dir, "training_metadata.json")
        ]:
            if os.path.basename(old) != name and os.path.exists(old):
                os.remove(old)


class SampleGrid(keras.callbacks.Callback):
    """After every `every`-th epoch, `num` samples as a PNG grid and, with `log_dir`, a TensorBoard image.

    The samples come from the cached sampler (`model.sample`) with the same `seed` every time,
    so the grids show the same noise passing through the model as it learns; a class-conditional
    model's images take the classes in turn (image k has class k mod K). The PNG is written
    through a temporary file.

    Args:
        path_pattern: PNG path with an ``{epoch}`` field, the number of epochs done
            (e.g. ``"runs/x/samples/epoch-{epoch:03d}.png"``).
        num: images per grid.
        seed: the sampling seed.
        temperature: the sampling temperature.
        every: epochs between grids.
        scale: enlarge the PNG this many times.
        log_dir: TensorBoard folder; the image goes to its ``samples`` run, tag ``samples``,
            step = epochs done. None: no TensorBoard image.
    """

    def __init__(self, path_pattern, num=16, seed=0, temperature=1.0, every=1, scale=2, log_dir=None):
        super().__init__()
        if not (isinstance(every, int) and every >= 1):
            raise ValueError(f"every must be an int >= 1; got {every!r}")
        self.path_pattern = os.fspath(path_pattern)
        self.num, self.seed, self.temperature, self.every, self.scale = num, seed, temperature, every, scale
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every:
            return
        classes = self.model.num_classes
        labels = {"labels": np.arange(self.num) % classes} if classes else {}
        images = np.asarray(self.model.sample(self.num, seed=self.seed, temperature=self.temperature, **labels))
        grid = to_grid(images, self.model.levels)
        path = self.path_pattern.format(epoch=done)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        save_png(grid, path, scale=self.scale)
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))
            with self._writer.as_default():
                summaries.image("samples", grid, step=done)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class EpochSummaries(keras.callbacks.Callback):
    """Every epoch's logs as TensorBoard scalars, laid out as `keras.callbacks.TensorBoard` does.

    ``log_dir/train`` gets ``epoch_loss`` (nats/image), ``epoch_bits_per_dim`` and
    ``epoch_learning_rate``; ``log_dir/validation`` gets the ``val_`` logs under the same tags,
    so that TensorBoard draws training and validation curves together. Step = epochs done.
    """

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self._writers = {}

    def _writer(self, run):
        if run not in self._writers:
            self._writers[run] = tf.summary.create_file_writer(os.path.join(self.log_dir, run))
        return self._writers[run]

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        optimizer = self.model.optimizer
        if optimizer is not None and "learning_rate" not in logs:
            logs["learning_rate"] = float(np.asarray(optimizer.learning_rate))
        for key, value in logs.items():
            run, tag = ("validation", key[len("val_") :]) if key.startswith("val_") else ("train", key)
            with self._writer(run).as_default():
                summaries.scalar(f"epoch_{tag}", value, step=epoch + 1)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
