"""Comparing an exported graph with the Keras model it came from."""

import numpy as np

# log_prob of an export may differ from the model's by float rounding only (other kernels and
# summation orders, e.g. in onnxruntime).
LOG_PROB_RTOL = 1e-4


class VerificationError(RuntimeError):
    """An exported graph gives other numbers than the Keras model."""


def relative_difference(got, expected):
    """max |got - expected| / |expected| over the elements; inf if any is NaN or the shapes differ."""
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    if got.shape != expected.shape or np.isnan(got).any() or np.isnan(expected).any():
        return float("inf")
    scale = np.maximum(np.abs(expected), np.finfo(np.float32).tiny)
    return float(np.max(np.abs(got - expected) / scale, initial=0.0))


class Labels:
    """The class labels of the comparison images, as keyword arguments: `all` for the 2 * num images,
    `first` for the first num ({"labels": int32 array}, or {} for a model without classes)."""

    def __init__(self, labels, num):
        self.all = {} if labels is None else {"labels": labels}
        self.first = {} if labels is None else {"labels": labels[:num]}


def comparison_inputs(model, num, seed):
    """Images to compare on, a completion mask and their labels.

    Returns:
        images: (2 * num, H, W, C) int32, `num` uniformly random images and `num` drawn from
            the model (typical likelihoods).
        known: (num, H, W, C) bool, the top half of each image known.
        labels: `Labels`; for a class-conditional model, random classes (those the first `num`
            images are drawn and completed with; the drawn images are drawn with the others).
    """
    rng = np.random.default_rng(seed)
    uniform = rng.integers(0, model.levels, (num, *model.image_shape), dtype=np.int32)
    labels = rng.integers(0, model.num_classes, 2 * num, dtype=np.int32) if model.num_classes else None
    drawn_labels = {} if labels is None else {"labels": labels[num:]}
    # The raster steps, as the checks: one sampling loop compiles for both.
    drawn = np.asarray(model.sample(num, seed=seed + 1, wavefront=False, **drawn_labels))
    known = np.zeros((num, *model.image_shape), bool)
    known[:, : model.image_shape[0] // 2] = True
    return np.concatenate([uniform, drawn]), known, Labels(labels, num)
