"""MNIST's IDX file format: read it (learnai's MNIST and Fashion-MNIST load their files with this, without
torchvision) and write MNIST-format folders.

Writing builds a folder from other digits (the benchmarks' split of the real 10k test set)
and serves the tests, which generate small IDX files instead of downloading.
"""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import numpy as np

from learnai_cli.atomic import write_atomic

IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
UNSIGNED_BYTE = 0x08  # the IDX type code of uint8, the only one MNIST-style files use


class NotIdx(ValueError):
    """A file that is not a well-formed uint8 IDX file; the message says what is wrong with it."""


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (images: N x rows x cols; labels: N)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = IMAGE_MAGIC if array.ndim == 3 else LABEL_MAGIC
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", size) for size in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, header + array.tobytes())


def read_idx(path: Path, dims: int | None = None) -> np.ndarray:
    """Read a uint8 IDX file (gzipped or not) into a writable uint8 array, checking its header against its length
    (and its number of dimensions against `dims`, when given); NotIdx says what does not fit."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        data = bytearray(file.read())
    return parse_idx(data, dims)


def parse_idx(data: bytearray, dims: int | None = None) -> np.ndarray:
    if len(data) < 4 or data[0] or data[1]:
        raise NotIdx("it does not start with an IDX header (two zero bytes, a type code, a number of dimensions)")
    if data[2] != UNSIGNED_BYTE:
        raise NotIdx(f"its values are not unsigned bytes (IDX type code 0x{data[2]:02x}, expected 0x08)")
    if data[3] == 0 or (dims is not None and data[3] != dims):
        expected = f", expected {dims}" if dims is not None else ""
        raise NotIdx(f"it has {data[3]} dimensions{expected}")
    offset = 4 + 4 * data[3]
    if len(data) < offset:
        raise NotIdx(f"it ends inside its header ({len(data)} bytes)")
    shape = struct.unpack(">" + "I" * data[3], bytes(data[4:offset]))
    if len(data) - offset != math.prod(shape):
        raise NotIdx(
            f"its header says {' x '.join(map(str, shape))} values but it holds {len(data) - offset:,} "
            "(a truncated or damaged file?)"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def write_mnist_folder(
    root: Path, train_images, train_labels, test_images, test_labels, dataset: str = "MNIST"
) -> Path:
    """Lay out `root/<dataset>/raw/` exactly as learnai's (and torchvision's) MNIST or FashionMNIST read it."""
    raw = Path(root) / dataset / "raw"
    write_idx(raw / "train-images-idx3-ubyte", train_images)
    write_idx(raw / "train-labels-idx1-ubyte", train_labels)
    write_idx(raw / "t10k-images-idx3-ubyte", test_images)
    write_idx(raw / "t10k-labels-idx1-ubyte", test_labels)
    return raw
