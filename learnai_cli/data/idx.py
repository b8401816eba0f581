"""MNIST's IDX file format: write MNIST-format folders that torchvision's MNIST class reads.

Used to build a folder from other digits (the benchmarks' split of the real 10k test set)
and by the tests, which generate small IDX files instead of downloading.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from learnai_cli.atomic import write_atomic

IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (images: N x rows x cols; labels: N)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = IMAGE_MAGIC if array.ndim == 3 else LABEL_MAGIC
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", size) for size in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, header + array.tobytes())


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a uint8 array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        data = file.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def write_mnist_folder(
    root: Path, train_images, train_labels, test_images, test_labels, dataset: str = "MNIST"
) -> Path:
    """Lay out `root/<dataset>/raw/` exactly as torchvision's MNIST (or FashionMNIST) expects it."""
    raw = Path(root) / dataset / "raw"
    write_idx(raw / "train-images-idx3-ubyte", train_images)
    write_idx(raw / "train-labels-idx1-ubyte", train_labels)
    write_idx(raw / "t10k-images-idx3-ubyte", test_images)
    write_idx(raw / "t10k-labels-idx1-ubyte", test_labels)
    return raw
