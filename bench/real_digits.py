"""Make an MNIST-format folder from the real 10k MNIST test digits (../shared/data/mnist-t10k).

The full training set cannot be downloaded on the development machines; this split
(first 8,000 digits to train, last 2,000 to test by default) checks that a model and
its normalisation learn real handwriting.

    python bench/real_digits.py --out data/real-digits
"""

from __future__ import annotations

import argparse
from pathlib import Path

from learnai_cli.data.idx import read_idx, write_mnist_folder

DEFAULT_SOURCE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist-t10k"


def make_real_digits(out: Path, source: Path = DEFAULT_SOURCE, train_count: int = 8000) -> Path:
    images = read_idx(source / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(source / "t10k-labels-idx1-ubyte.gz")
    write_mnist_folder(out, images[:train_count], labels[:train_count], images[train_count:], labels[train_count:])
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("data/real-digits"))
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--train-count", type=int, default=8000)
    args = parser.parse_args()
    print(make_real_digits(args.out, args.source, args.train_count))
