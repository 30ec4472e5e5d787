"""Negative log-likelihood of a model on a set of images, in nats per image and bits per dimension."""

import math

import numpy as np


def evaluate_nll(model, images, batch_size=100, progress=None, labels=None):
    """Mean NLL of `images` under `model`.

    Args:
        model: a `PixelRNN` or a `MultiScalePixelRNN` (anything with `log_prob` and `num_dims`).
        images: integer array (N, H, W, C) in [0, model.levels).
        batch_size: images per forward pass.
        progress: optional callable(done, total) called after each batch.
        labels: the (N,) classes of the images, for a class-conditional model: its NLL is then
            -log p(x | y).

    Returns:
        dict with "nats" (per image), "nats_std" (their standard deviation over the images: the mean's
        standard error is nats_std / sqrt(num_images)), "bits_per_dim", "num_images".
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if len(images) == 0:
        raise ValueError("images must hold at least one image")
    per_image = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        given = {} if labels is None else {"labels": np.asarray(labels)[start : start + batch_size]}
        per_image.append(-np.asarray(model.log_prob(batch, **given), np.float64))
        if progress is not None:
            progress(min(start + batch_size, len(images)), len(images))
    per_image = np.concatenate(per_image)
    nats = float(np.sum(per_image)) / len(images)
    return {
        "nats": nats,
        "nats_std": float(np.std(per_image)),
        "bits_per_dim": nats / (model.num_dims * math.log(2.0)),
        "num_images": int(len(images)),
    }
