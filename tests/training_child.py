"""Training runs for tests that need a process of their own (one that is killed, one with two devices).

    python tests/training_child.py run WORKDIR [--kill-at-step N]
    python tests/training_child.py compare-devices OUT.json

`run` trains a tiny PixelCNN on binarized 8x8 digits with `training.train` (3 epochs of 6
steps); with --kill-at-step it sends itself SIGKILL after that many steps of this process,
in the middle of an epoch. `compare-devices` trains the same model for one epoch on one
device and under MirroredStrategy on two logical CPU devices and writes the losses and
final weights of both.
"""

import argparse
import dataclasses
import json
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
EPOCHS, STEPS, BATCH = 3, 6, 16


def tiny_card():
    from pixelrnn_keras.zoo import get_card

    base = get_card("mnist_pixelcnn")
    config = dict(arch="pixelcnn", image_shape=(8, 8, 1), levels=2, num_layers=1, hidden=4, head_units=8)
    training = dict(
        optimizer="adam",
        learning_rate=0.01,
        batch_size=BATCH,
        epochs=EPOCHS,
        steps_per_epoch=STEPS,
        validation_images=32,
    )
    return dataclasses.replace(base, name="tiny", config=config, training=training)


def digits():
    """Binarized 8x8 digits: (train, valid)."""
    images = (np.load(os.path.join(DATA, "digits8.npz"))["images"][..., None] > 6).astype("uint8")
    return images[:200], images[200:232]


def logical_cpus(count):
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def run(workdir, kill_at_step=None, strategy=None, epochs=EPOCHS):
    import keras

    from pixelrnn_keras.training import train

    callbacks = []
    if kill_at_step is not None:

        class Kill(keras.callbacks.Callback):
            steps = 0

            def on_train_batch_end(self, batch, logs=None):
                Kill.steps += 1
                if Kill.steps == kill_at_step:
                    os.kill(os.getpid(), signal.SIGKILL)

        callbacks.append(Kill())
    train_images, valid_images = digits()
    return train(
        tiny_card(),
        train_images,
        valid_images,
        workdir,
        epochs=epochs,
        verbose=0,
        strategy=strategy,
        samples_every=0,
        tensorboard=False,
        callbacks=callbacks,
    )


def weights_and_losses(model, workdir):
    import csv

    with open(os.path.join(workdir, "log.csv")) as f:
        rows = list(csv.DictReader(f))
    return {
        "loss": [float(r["loss"]) for r in rows],
        "bits_per_dim": [float(r["bits_per_dim"]) for r in rows],
        "val_loss": [float(r["val_loss"]) for r in rows],
        "weights": [w.tolist() for w in model.get_weights()],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["run", "compare-devices"])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--kill-at-step", type=int)
    args = parser.parse_args()
    if args.mode == "run":
        run(args.paths[0], args.kill_at_step)
    else:
        logical_cpus(2)
        import tensorflow as tf

        out = {}
        for name, strategy in (("one", None), ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))):
            workdir = os.path.join(os.path.dirname(args.paths[0]), name)
            model, final = run(workdir, strategy=strategy, epochs=1)
            out[name] = weights_and_losses(model, os.path.dirname(final))
            out[name]["replicas"] = (strategy or tf.distribute.get_strategy()).num_replicas_in_sync
        with open(args.paths[0], "w") as f:
            json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
