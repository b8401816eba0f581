"""MNIST and Fashion-MNIST read from their IDX files (torchvision only to download them), decoded and normalised
once into tensors; FakeData's random images."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from learnai_cli.atomic import write_atomic
from learnai_cli.data.idx import NotIdx, read_idx
from learnai_cli.data.splits import DatasetSplits, TensorSplit
from learnai_cli.errors import DataError, DataNotHere, clip
from learnai_cli.registry import DATASETS, ImageSide, PositiveCount, PositiveFloat

MAX_FAKE_IMAGES = 1_000_000  # FakeData makes each image on demand; the count only sizes its index


@dataclass(frozen=True)
class IdxFiles:
    """An MNIST-style dataset on disk, as torchvision lays it out: <root>/<name>/raw holds four IDX files (train
    images, train labels, test images, test labels), downloaded gzipped; `files` has their .gz names with
    torchvision's md5s (its classes' `resources`) and sizes in bytes."""

    name: str
    files: tuple[tuple[str, str, int], ...]
    classes: tuple[str, ...]

    def raw_folder(self, root: str) -> Path:
        return Path(root) / self.name / "raw"

    def plain_names(self) -> list[str]:
        return [gz.removesuffix(".gz") for gz, _, _ in self.files]


MNIST_FILES = IdxFiles(
    "MNIST",
    (
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", 9_912_422),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", 28_881),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", 1_648_877),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", 4_542),
    ),
    tuple(
        f"{digit} - {word}" for digit, word in enumerate("zero one two three four five six seven eight nine".split())
    ),
)
FASHION_MNIST_FILES = IdxFiles(
    "FashionMNIST",
    (
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26_421_880),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", 29_515),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", 4_422_102),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", 5_148),
    ),
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
)


def load_idx_dataset(source: IdxFiles, root: str, download: bool, mean: float, std: float) -> DatasetSplits:
    """Official train/test splits as float tensors (N, 1, 28, 28), normalised like ToTensor + Normalize. Files on
    disk are read here; torchvision's class only downloads them (or reads its legacy processed/*.pt files)."""
    from learnai_cli.data.folders import pixel_normalization  # plain numbers, no torchvision

    unpack_raw_files(source, root)
    if missing_files(source, root):
        arrays = _through_torchvision(source, root, download)
    else:
        arrays = _read_files(source, root)
    train_images, train_labels, test_images, test_labels = arrays
    return DatasetSplits(
        train=_to_tensors(train_images, train_labels, mean, std),
        test=_to_tensors(test_images, test_labels, mean, std),
        class_names=list(source.classes),
        encode_input=digit_image_encoder(mean, std),  # any image, as an MNIST digit
        info={"input_normalization": pixel_normalization(28, True, [mean], [std])},
    )


def missing_files(source: IdxFiles, root: str) -> list[str]:
    folder = source.raw_folder(root)
    return [name for name in source.plain_names() if not (folder / name).is_file()]


def unpack_raw_files(source: IdxFiles, root: str) -> None:
    """Unpack the .gz files a user put in the raw folder (torchvision unpacks them only while downloading); one whose
    md5 is not torchvision's (a half-finished download) is a DataError naming it, its size and the expected one."""
    folder = source.raw_folder(root)
    for name, md5, expected in source.files:
        packed = folder / name
        plain = packed.with_suffix("")
        if plain.exists() or not packed.is_file():
            continue
        data = packed.read_bytes()
        if hashlib.md5(data, usedforsecurity=False).hexdigest() != md5:
            raise DataError(
                f"{clip(str(packed), 300)} is damaged ({len(data):,} bytes, expected {expected:,}; its md5 is not "
                f"{md5}): a half-finished download? Delete it and download or copy it again."
            )
        write_atomic(plain, gzip.decompress(data))  # whole or not at all, and never through a link


def _read_files(source: IdxFiles, root: str) -> list:
    """The four IDX files as uint8 arrays, checked: well-formed, as many labels as images, labels within the classes."""
    folder = source.raw_folder(root)
    arrays = []
    for name in source.plain_names():
        path = folder / name
        kind = "images" if "images" in name else "labels"
        try:
            arrays.append(read_idx(path, dims=3 if kind == "images" else 1))
        except NotIdx as problem:
            raise DataError(
                f"{clip(str(path), 300)} is not an MNIST {kind} file: {problem}. Delete it and download or copy "
                "it again."
            ) from None
        except OSError as error:
            raise DataError(f"cannot read {clip(str(path), 300)}: {error.strerror or error}") from None
    for images, labels in ((0, 1), (2, 3)):
        _check_labels(source, folder, source.plain_names()[images], arrays[images], arrays[labels])
    return arrays


def _check_labels(source: IdxFiles, folder: Path, images_name: str, images, labels) -> None:
    labels_name = images_name.replace("images-idx3", "labels-idx1")
    if len(images) != len(labels):
        raise DataError(
            f"{clip(str(folder), 300)}: {images_name} holds {len(images):,} images but {labels_name} "
            f"{len(labels):,} labels: the two files must come from the same copy of {source.name}"
        )
    if len(labels) and int(labels.max()) >= len(source.classes):
        raise DataError(
            f"{clip(str(folder / labels_name), 300)} has label {int(labels.max())}; {source.name}'s labels are "
            f"0 to {len(source.classes) - 1}: is it another dataset's file?"
        )


def _through_torchvision(source: IdxFiles, root: str, download: bool) -> tuple:
    """Download with torchvision's own class (or read its legacy processed/ files), as users with a network always
    have; without either, a DataNotHere that says which files are where."""
    legacy = (Path(root) / source.name / "processed" / "training.pt").is_file()
    if not download and not legacy:
        raise DataNotHere(missing_files_message(source, root, download, None))
    import torchvision.datasets

    dataset_class = getattr(torchvision.datasets, source.name)
    # torchvision prints download progress on stdout, which belongs to --json output.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            train, test = (dataset_class(root=root, train=is_train, download=download) for is_train in (True, False))
        except (RuntimeError, OSError, ValueError) as error:
            raise DataNotHere(missing_files_message(source, root, download, error)) from None
    return train.data, train.targets, test.data, test.targets


def missing_files_message(source: IdxFiles, root: str, download: bool, error: BaseException | None) -> str:
    """Which files are there, which are missing (with their sizes) and where they go, so a learner without a
    network can train; files that look like the missing ones elsewhere under root are named with where to move them."""
    folder = source.raw_folder(root)
    shown = clip(str(folder), 300)
    how = f"the download failed: {_first_and_last(error)}" if download else "download is off (data.download: false)"
    missing = missing_files(source, root)
    present = [name for name in source.plain_names() if name not in missing]
    sizes = {gz.removesuffix(".gz"): size for gz, _, size in source.files}
    listed = "\n".join(f"  {name}.gz  ({sizes[name]:,} bytes)" for name in missing)
    there = f"present there: {', '.join(present)}" if present else f"none of its {len(source.files)} files is there"
    lines = [
        f"{source.name} files are missing under {shown} ({len(missing)} of {len(source.files)}; {there}) and {how}",
        f"To train without a network, copy {'this file' if len(missing) == 1 else f'these {len(missing)} files'} "
        f"(from any {source.name} mirror, still gzipped) into {shown}:\n{listed}",
        *_found_elsewhere(source, root, missing),
        "learnai checks .gz files against torchvision's md5s and unpacks them; or set data.root to the folder whose "
        f"{source.name}/raw holds all {len(source.files)}.",
    ]
    return "\n".join(lines)


def _first_and_last(error: BaseException | None) -> str:
    """torchvision's download error on one line: what failed and the last mirror's reason."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
    return clip(lines[0] + (f" ... {lines[-1]}" if len(lines) > 1 else ""), 300)


def _found_elsewhere(source: IdxFiles, root: str, missing: list[str]) -> list[str]:
    """Lines for files that are a missing one misplaced: in root, root/<name>, root/raw, or named with dots (as some
    mirrors name them: train-images.idx3-ubyte)."""
    folder, base = source.raw_folder(root), Path(root)
    places = [base, base / source.name, base / "raw", base / source.name.lower() / "raw", folder]
    hints, seen = [], set()
    for place in places:
        try:
            if not place.is_dir() or place.resolve() in seen:
                continue
            seen.add(place.resolve())
            entries = sorted(place.iterdir())[:1000]
        except OSError:  # unreadable: nothing to point at there
            continue
        for entry in entries:
            name = entry.name.lower().removesuffix(".gz").replace(".", "-")
            if name in missing and entry.is_file():
                target = folder / (name + ".gz" if entry.name.lower().endswith(".gz") else name)
                verb = "move" if place.resolve() != folder.resolve() else "rename"
                hints.append(f"  found {clip(str(entry), 300)}: {verb} it to {clip(str(target), 300)}")
    return hints


def _to_tensors(images, labels, mean: float, std: float) -> TensorSplit:
    """uint8 images (N, rows, cols) as float (N, 1, rows, cols), (x / 255 - mean) / std as ToTensor + Normalize make
    it: the 256 values computed once with torch's own ops, then looked up (one pass over the images, not four)."""
    import numpy as np
    import torch

    table = torch.arange(256, dtype=torch.uint8).float().div_(255).sub_(mean).div_(std).numpy()
    inputs = torch.from_numpy(table[np.asarray(images)]).unsqueeze(1)
    return TensorSplit(inputs, torch.as_tensor(labels).long())


def digit_image_encoder(mean: float, std: float):
    """For `learnai predict`: an image file made a 1x28x28 digit exactly as torchvision's Grayscale(1), Resize(28),
    CenterCrop(28), ToTensor and Normalize would (tests/test_offline_mnist.py compares), without importing it."""
    from functools import partial

    from learnai_cli.data.folders import image_file_encoder

    return image_file_encoder(partial(as_digit, mean=mean, std=std))


def as_digit(image, mean: float, std: float, side: int = 28):
    import numpy as np
    import torch
    from PIL import Image

    image = image.convert("L")
    width, height = image.size
    longer = int(side * max(width, height) / min(width, height))
    size = (side, longer) if width <= height else (longer, side)
    if size != (width, height):
        image = image.resize(size, Image.BILINEAR)  # PIL always antialiases, as torchvision says of PIL images
    left, top = int(round((size[0] - side) / 2.0)), int(round((size[1] - side) / 2.0))
    image = image.crop((left, top, left + side, top + side))
    pixels = torch.from_numpy(np.array(image, np.uint8, copy=True)).view(side, side, 1).permute(2, 0, 1).contiguous()
    pixels = pixels.to(dtype=torch.get_default_dtype()).div(255)
    statistics = {"dtype": pixels.dtype}
    return pixels.sub_(torch.as_tensor([mean], **statistics).view(-1, 1, 1)).div_(
        torch.as_tensor([std], **statistics).view(-1, 1, 1)
    )


@DATASETS.register("mnist", task="classification", paths=("root",))
def mnist(
    root: str = "data", download: bool = True, mean: float = 0.1307, std: PositiveFloat = 0.3081
) -> DatasetSplits:
    """Handwritten digits 0-9 (60k train / 10k test, 1x28x28), downloaded by torchvision into root on first use."""
    return load_idx_dataset(MNIST_FILES, root, download, mean, std)


@DATASETS.register("fashion_mnist", task="classification", paths=("root",))
def fashion_mnist(
    root: str = "data", download: bool = True, mean: float = 0.2860, std: PositiveFloat = 0.3530
) -> DatasetSplits:
    """Zalando's clothing images in 10 classes (60k train / 10k test, 1x28x28), downloaded by torchvision."""
    return load_idx_dataset(FASHION_MNIST_FILES, root, download, mean, std)


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
