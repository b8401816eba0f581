"""MNIST-style image datasets through torchvision, decoded and normalised once into tensors."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import sys
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from learnai_cli.atomic import write_atomic
from learnai_cli.data.splits import DatasetSplits, TensorSplit
from learnai_cli.errors import DataError, DataNotHere, clip
from learnai_cli.registry import DATASETS, ImageSide, PositiveCount, PositiveFloat

MAX_FAKE_IMAGES = 1_000_000  # FakeData makes each image on demand; the count only sizes its index

# The gzipped files torchvision's classes read from <root>/<class name>/raw, with their sizes in bytes (their md5s
# are the classes' `resources`). A file present there unpacked is used as it is.
GZ_SIZES = {
    "MNIST": {
        "train-images-idx3-ubyte.gz": 9_912_422,
        "train-labels-idx1-ubyte.gz": 28_881,
        "t10k-images-idx3-ubyte.gz": 1_648_877,
        "t10k-labels-idx1-ubyte.gz": 4_542,
    },
    "FashionMNIST": {
        "train-images-idx3-ubyte.gz": 26_421_880,
        "train-labels-idx1-ubyte.gz": 29_515,
        "t10k-images-idx3-ubyte.gz": 4_422_102,
        "t10k-labels-idx1-ubyte.gz": 5_148,
    },
}


def load_idx_dataset(dataset_class, root: str, download: bool, mean: float, std: float) -> DatasetSplits:
    """Official train/test splits as float tensors (N, 1, 28, 28), normalised like ToTensor + Normalize."""
    from learnai_cli.data.folders import image_file_encoder, image_transform, pixel_normalization

    unpack_raw_files(dataset_class, root)
    train, test = (_open(dataset_class, root, download, is_train) for is_train in (True, False))
    return DatasetSplits(
        train=_to_tensors(train, mean, std),
        test=_to_tensors(test, mean, std),
        class_names=list(train.classes),
        encode_input=image_file_encoder(image_transform(28, True, [mean], [std])),  # any image, as an MNIST digit
        info={"input_normalization": pixel_normalization(28, True, [mean], [std])},
    )


def raw_folder(dataset_class, root: str) -> Path:
    return Path(root) / dataset_class.__name__ / "raw"


def unpack_raw_files(dataset_class, root: str) -> None:
    """Unpack the .gz files a user put in the raw folder (torchvision unpacks them only while downloading); one whose
    md5 is not torchvision's (a half-finished download) is a DataError naming it, its size and the expected one."""
    folder = raw_folder(dataset_class, root)
    for name, md5 in dataset_class.resources:
        packed = folder / os.path.basename(name)
        plain = packed.with_suffix("")
        if plain.exists() or not packed.is_file():
            continue
        data = packed.read_bytes()
        if hashlib.md5(data, usedforsecurity=False).hexdigest() != md5:
            expected = GZ_SIZES.get(dataset_class.__name__, {}).get(packed.name)
            sizes = f"{len(data):,} bytes" + (f", expected {expected:,}" if expected else "")
            raise DataError(
                f"{clip(str(packed), 300)} is damaged ({sizes}; its md5 is not {md5}): a half-finished download? "
                "Delete it and download or copy it again."
            )
        write_atomic(plain, gzip.decompress(data))  # whole or not at all, and never through a link


def _open(dataset_class, root: str, download: bool, is_train: bool):
    # torchvision prints download progress on stdout, which belongs to --json output.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            return dataset_class(root=root, train=is_train, download=download)
        except (RuntimeError, OSError, ValueError) as error:
            raise DataNotHere(missing_files_message(dataset_class, root, download, error)) from None


def missing_files_message(dataset_class, root: str, download: bool, error: BaseException) -> str:
    """Which four files to put where, with their sizes, so a learner without a network can train."""
    name, folder = dataset_class.__name__, clip(str(raw_folder(dataset_class, root)), 300)
    how = "the download failed" if download else "download is off (data.download: false)"
    sizes = GZ_SIZES.get(name, {})
    files = [os.path.basename(file) for file, _ in dataset_class.resources]
    listed = "\n".join(f"  {file}" + (f"  ({sizes[file]:,} bytes)" if file in sizes else "") for file in files)
    return (
        f"{name} files are missing under {folder} and {how}: {clip(str(error), 300)}\n"
        f"To train without a network, copy these {len(files)} files (from any {name} mirror, still gzipped) "
        f"into {folder}:\n{listed}\n"
        "learnai checks them against torchvision's md5s and unpacks them; "
        "or set data.root to the folder whose "
        f"{name}/raw holds them."
    )


def _to_tensors(dataset, mean: float, std: float) -> TensorSplit:
    images = dataset.data.unsqueeze(1).float().div_(255).sub_(mean).div_(std)
    return TensorSplit(images.contiguous(), dataset.targets.long())


@DATASETS.register("mnist", task="classification", paths=("root",))
def mnist(
    root: str = "data", download: bool = True, mean: float = 0.1307, std: PositiveFloat = 0.3081
) -> DatasetSplits:
    """Handwritten digits 0-9 (60k train / 10k test, 1x28x28), downloaded by torchvision into root on first use."""
    from torchvision.datasets import MNIST

    return load_idx_dataset(MNIST, root, download, mean, std)


@DATASETS.register("fashion_mnist", task="classification", paths=("root",))
def fashion_mnist(
    root: str = "data", download: bool = True, mean: float = 0.2860, std: PositiveFloat = 0.3530
) -> DatasetSplits:
    """Zalando's clothing images in 10 classes (60k train / 10k test, 1x28x28), downloaded by torchvision."""
    from torchvision.datasets import FashionMNIST

    return load_idx_dataset(FashionMNIST, root, download, mean, std)


@DATASETS.register("fake_images", task="classification")
def fake_images(
    size: Annotated[PositiveCount, Field(le=MAX_FAKE_IMAGES)] = 256,
    image_size: ImageSide = 64,
    channels: Literal[1, 3] = 3,
    num_classes: Annotated[PositiveCount, Field(le=MAX_FAKE_IMAGES)] = 10,
    seed: int = 0,
) -> DatasetSplits:
    """Random images from torchvision's FakeData: runs an image pipeline offline end to end (there is nothing to
    learn)."""
    from torchvision.datasets import FakeData
    from torchvision.transforms import ToTensor

    from learnai_cli.data.folders import image_file_encoder, image_transform

    shape = (channels, image_size, image_size)
    images = FakeData(size=size, image_size=shape, num_classes=num_classes, transform=ToTensor(), random_offset=seed)
    encode = image_file_encoder(image_transform(image_size, channels == 1, [0.0] * channels, [1.0] * channels))
    return DatasetSplits(train=images, class_names=[f"class {i}" for i in range(num_classes)], encode_input=encode)
