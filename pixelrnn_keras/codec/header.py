"""The codec's stream format: a header that identifies the model and checks the payload, then the payload.

Layout (little-endian; one header per stream):

    magic b"PXRC" | version u8 | name length u8 | model name (UTF-8) | model sha256 (32 bytes)
    | height, width, channels u16 | levels u16 | number of images u32 | batch size u16
    | precision u8 | maker length u8 | maker (UTF-8, e.g. "tf 2.21.0 CPU")
    | payload words u32 | payload CRC32 u32 | images CRC32 u32 | CRC32 of the header before it u32
    | payload: the rANS coder's 32-bit words (codec/rans.py)

Version 2 (rANS, the decoder inside the compiled loop); version 1 streams (a range coder driven
from Python) are refused with an error that names their version.

A class-conditional model's stream holds each batch's labels in its payload, before the batch's
images, and its images CRC32 covers the labels after the images. The model (its sha256) says
whether a stream has labels, so the layout is the same version as before classes existed.

The batch size is part of the format because the decoder must run the model's steps on batches of
exactly that size (padded with zero images): XLA's results may depend on the batch size.
"""

import dataclasses
import hashlib
import json
import struct
import zlib

import numpy as np

MAGIC = b"PXRC"
VERSION = 2
_FIXED = struct.Struct("<4sBB")
_SHAPE = struct.Struct("<32sHHHHIHBB")
_CHECKS = struct.Struct("<III")
_CRC = struct.Struct("<I")


class CorruptStreamError(ValueError):
    """The data is not a complete, intact stream of this codec."""


class ModelMismatchError(ValueError):
    """The stream was made by another model than the one asked to decode it."""


@dataclasses.dataclass(frozen=True)
class Header:
    """What a stream says about itself; `to_bytes` / `parse` convert."""

    model_name: str
    model_sha256: bytes  # 32 bytes, see `model_sha256`
    image_shape: tuple  # (H, W, C)
    levels: int
    num_images: int
    batch_size: int
    precision: int  # frequencies sum to 2**precision
    maker: str  # the software and device that computed the probabilities, for error messages
    payload_words: int
    payload_crc32: int
    images_crc32: int

    def to_bytes(self):
        name, maker = self.model_name.encode(), self.maker.encode()
        if len(name) > 255:
            raise ValueError(f"model: the codec stores names of up to 255 bytes; {self.model_name[:40]!r}... is longer")
        head = (
            _FIXED.pack(MAGIC, VERSION, len(name))
            + name
            + _SHAPE.pack(
                self.model_sha256,
                *self.image_shape,
                self.levels,
                self.num_images,
                self.batch_size,
                self.precision,
                len(maker),
            )
            + maker
        )
        head += _CHECKS.pack(self.payload_words, self.payload_crc32, self.images_crc32)
        return head + _CRC.pack(zlib.crc32(head))


def parse(data):
    """(Header, payload uint32 array) of a whole stream; CorruptStreamError unless it is intact.

    Checks the magic bytes, the version, the header's and the payload's CRC32 and the payload's
    length, so that a damaged or truncated stream is refused before any decoding.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    reader = _Reader(data)
    magic, version, name_length = reader.unpack(_FIXED)
    if magic != MAGIC:
        raise CorruptStreamError(f"data is not a pixelrnn_keras codec stream (its first bytes are {data[:4]!r})")
    if version != VERSION:
        raise CorruptStreamError(f"data is a stream of format version {version}; this version reads {VERSION}")
    name = reader.take(name_length)
    sha, height, width, channels, levels, num_images, batch_size, precision, maker_length = reader.unpack(_SHAPE)
    maker = reader.take(maker_length)
    payload_words, payload_crc, images_crc = reader.unpack(_CHECKS)
    (header_crc,) = reader.unpack(_CRC)
    if zlib.crc32(data[: reader.offset - 4]) != header_crc:
        raise CorruptStreamError("data: the stream's header fails its CRC32 check (the stream is damaged)")
    payload = data[reader.offset :]
    if len(payload) != 4 * payload_words:
        raise CorruptStreamError(
            f"data: the payload has {len(payload)} bytes, the header says {4 * payload_words} "
            "(the stream is truncated or has bytes appended)"
        )
    if zlib.crc32(payload) != payload_crc:
        raise CorruptStreamError("data: the payload fails its CRC32 check (the stream is damaged)")
    try:
        header = Header(
            name.decode(),
            sha,
            (height, width, channels),
            levels,
            num_images,
            batch_size,
            precision,
            maker.decode(),
            payload_words,
            payload_crc,
            images_crc,
        )
    except UnicodeDecodeError as err:
        raise CorruptStreamError(f"data: the header's text is not UTF-8 ({err})") from err
    if min(height, width, channels, levels - 1, num_images, batch_size) < 1:
        raise CorruptStreamError(f"data: the header describes no images ({header})")
    return header, np.frombuffer(payload, "<u4").astype(np.uint32)


class _Reader:
    def __init__(self, data):
        self.data, self.offset = data, 0

    def take(self, size):
        if self.offset + size > len(self.data):
            raise CorruptStreamError(
                f"data: the stream ends inside its header ({len(self.data)} bytes; the stream is truncated)"
            )
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def unpack(self, layout):
        return layout.unpack(self.take(layout.size))


def model_sha256(model):
    """sha256 (32 bytes) of a model's class, configuration (but its name) and weight values.

    Computed from the values in memory, so it identifies in-memory models too. (It differs from
    the sha256 of a weights file.)
    """
    digest = hashlib.sha256()
    config = {k: v for k, v in model.get_config().items() if k not in ("name", "trainable")}
    digest.update(type(model).__name__.encode())
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    for weight in model.weights:
        value = np.ascontiguousarray(weight.numpy())
        digest.update(f"{value.dtype.str}{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.digest()


def images_crc32(images, labels=None):
    """CRC32 of integer images (N, H, W, C), as int32 little-endian, followed by their `labels`
    (N,) if they have classes."""
    crc = zlib.crc32(np.ascontiguousarray(images, "<i4").tobytes())
    return crc if labels is None else zlib.crc32(np.ascontiguousarray(labels, "<i4").tobytes(), crc)
