"""Make an MNIST-format folder from the real 10k MNIST test digits (t10k-images-idx3-ubyte.gz and
t10k-labels-idx1-ubyte.gz, from any MNIST mirror, in a folder you name).

The full training set cannot be downloaded on the development machines; this split
(first 8,000 digits to train, last 2,000 to test by default) checks that a model and
its normalisation learn real handwriting.

    python bench/real_digits.py path/to/folder-with-t10k-files --out data/real-digits

The benchmarks that use it read the folder from $LEARNAI_MNIST_T10K and skip that part when it is unset.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional

from learnai_cli.data.idx import read_idx, write_mnist_folder

SOURCE_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
SOURCE_VARIABLE = "LEARNAI_MNIST_T10K"


def missing_files(source: Path) -> list[str]:
    return [name for name in SOURCE_FILES if not (source / name).is_file()]


def default_source() -> Optional[Path]:
    """The folder $LEARNAI_MNIST_T10K names, when it holds both files; benchmarks skip real digits otherwise."""
    value = os.environ.get(SOURCE_VARIABLE)
    return Path(value) if value and not missing_files(Path(value)) else None


def make_real_digits(out: Path, source: Path, train_count: int = 8000) -> Path:
    missing = missing_files(source)
    if missing:
        raise FileNotFoundError(
            f"{source} does not hold {' and '.join(missing)}: put the MNIST test files "
            f"({', '.join(SOURCE_FILES)}, still gzipped) in one folder and pass that folder"
        )
    images = read_idx(source / SOURCE_FILES[0])
    labels = read_idx(source / SOURCE_FILES[1])
    write_mnist_folder(out, images[:train_count], labels[:train_count], images[train_count:], labels[train_count:])
    return out


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, nargs="?", help=f"folder holding {' and '.join(SOURCE_FILES)}")
    parser.add_argument("--out", type=Path, default=Path("data/real-digits"))
    parser.add_argument("--train-count", type=int, default=8000)
    args = parser.parse_args(argv)
    source = args.source or (Path(os.environ[SOURCE_VARIABLE]) if os.environ.get(SOURCE_VARIABLE) else None)
    if source is None:
        parser.error(f"name the folder that holds {' and '.join(SOURCE_FILES)} (or set ${SOURCE_VARIABLE})")
    try:
        print(make_real_digits(args.out, source, args.train_count))
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
