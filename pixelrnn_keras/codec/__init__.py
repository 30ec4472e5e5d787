"""Lossless image compression with a model's exact likelihoods.

A model that gives an image probability p(x) can store it in about -log2 p(x) bits: `compress`
codes every sub-pixel with the model's distribution for it (rANS, codec/rans.py), `decompress`
decodes them in the same order, running the model's one-pixel steps on the values decoded so
far, as the cached sampler does on the values it draws, in one compiled loop per batch::

    from pixelrnn_keras.codec import compress, decompress
    from pixelrnn_keras.zoo import load
    model = load("mnist_diag")
    data = compress(model, images)          # bytes
    assert (decompress(model, data) == images).all()

A `MultiScalePixelRNN` codes in the order of its likelihood: the s x s image x[:, ::f, ::f] with
its low network, then the sub-pixels off that grid with its high network given it (the grid's
values are known by then and are not coded).

A class-conditional `PixelRNN` codes each image given its label, and stores the label (log2 K
bits): `compress(model, images, labels=labels)`, or without labels each image under its most
likely class; `decompress` then returns `(images, labels)`.

Both sides compute the distributions with the same compiled loop on the same inputs and round
them to the same integers, so decoding is exact (codec/steps.py). The stream names the model and carries the
sha256 of its configuration and weights (another model is refused) and CRC32 checksums (a damaged
stream raises an error, never returns a wrong image). See `header.py` for the format.
"""

from pixelrnn_keras.codec.coding import compress, decompress, read_header
from pixelrnn_keras.codec.header import CorruptStreamError, Header, ModelMismatchError, model_sha256

__all__ = [
    "CorruptStreamError",
    "Header",
    "ModelMismatchError",
    "compress",
    "decompress",
    "model_sha256",
    "read_header",
]
