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


def comparison_inputs(model, num, seed):
    """Images to compare on and a completion mask.

    Returns:
        images: (2 * num, H, W, C) int32, `num` uniformly random images and `num` drawn from
            the model (typical likelihoods).
        known: (num, H, W, C) bool, the top half of each image known.
    """
    rng = np.random.default_rng(seed)
    uniform = rng.integers(0, model.levels, (num, *model.image_shape), dtype=np.int32)
    drawn = np.asarray(model.sample(num, seed=seed + 1))
    known = np.zeros((num, *model.image_shape), bool)
    known[:, : model.image_shape[0] // 2] = True
    return np.concatenate([uniform, drawn]), known
