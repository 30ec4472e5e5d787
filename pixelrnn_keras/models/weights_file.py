"""Loading a `.weights.h5` file into a model, refusing one that holds more than the model has.

Keras loads a file with weights for layers the model lacks without a word: a deeper network's file
loads into a shallower one, which then computes something else than the network that was trained.
"""

import os
import tempfile

import h5py

# What a training run's files hold beside the model's own weights.
_NOT_MODEL_WEIGHTS = ("optimizer",)


def load_weights_exactly(model, path):
    """`model.load_weights(path)`, and a ValueError if `path` holds weights that `model` has no
    place for. Keras itself raises for weights the model has and the file lacks.

    A training run's files (with the optimizer's state beside the weights) load as well.
    """
    with tempfile.TemporaryDirectory() as folder:
        own = os.path.join(folder, "own.weights.h5")
        model.save_weights(own)
        extra = sorted(_weight_paths(path) - _weight_paths(own))
    if extra:  # checked first, so that a refused file leaves the model as it was
        raise ValueError(
            f"{os.fspath(path)!r} holds {len(extra)} weights that this model has no place for, e.g. {extra[0]!r}: "
            "the weights of a larger network (more blocks or layers) than this one"
        )
    model.load_weights(path)


def _weight_paths(path):
    """The paths of the model weights (h5 datasets) in a `.weights.h5` file."""
    paths = []
    with h5py.File(path, "r") as file:
        file.visititems(lambda name, item: paths.append(name) if isinstance(item, h5py.Dataset) else None)
    return {name for name in paths if name.split("/", 1)[0] not in _NOT_MODEL_WEIGHTS}
