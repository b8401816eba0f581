"""MNIST-style image datasets through torchvision, decoded and normalised once into tensors."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from learnai_cli.data.splits import DatasetSplits, TensorSplit
from learnai_cli.errors import DataError, clip
from learnai_cli.registry import DATASETS

# torchvision names the files it looks for; the message for a missing dataset lists them.
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def load_idx_dataset(dataset_class, root: str, download: bool, mean: float, std: float) -> DatasetSplits:
    """Official train/test splits as float tensors (N, 1, 28, 28), normalised like ToTensor + Normalize."""
    from learnai_cli.data.folders import image_file_encoder, image_transform

    train, test = (_open(dataset_class, root, download, is_train) for is_train in (True, False))
    return DatasetSplits(
        train=_to_tensors(train, mean, std),
        test=_to_tensors(test, mean, std),
        class_names=list(train.classes),
        encode_input=image_file_encoder(image_transform(28, True, [mean], [std])),  # any image, as an MNIST digit
    )


def _open(dataset_class, root: str, download: bool, is_train: bool):
    # torchvision prints download progress on stdout, which belongs to --json output.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            return dataset_class(root=root, train=is_train, download=download)
        except (RuntimeError, OSError, ValueError) as error:
            raw_folder = Path(root) / dataset_class.__name__ / "raw"
            how = "download failed" if download else "download is off (data.download: false)"
            raise DataError(
                f"{dataset_class.__name__} files are missing under {clip(str(raw_folder), 300)} and {how}: "
                f"{clip(str(error), 300)}\n"
                f"Put {', '.join(IDX_FILES)} (or their .gz) in {clip(str(raw_folder), 300)}, "
                "or set data.root to the folder that holds them."
            ) from None


def _to_tensors(dataset, mean: float, std: float) -> TensorSplit:
    images = dataset.data.unsqueeze(1).float().div_(255).sub_(mean).div_(std)
    return TensorSplit(images.contiguous(), dataset.targets.long())


@DATASETS.register("mnist", task="classification", paths=("root",))
def mnist(root: str = "data", download: bool = True, mean: float = 0.1307, std: float = 0.3081) -> DatasetSplits:
    """Handwritten digits 0-9 (60k train / 10k test, 1x28x28), downloaded by torchvision into root on first use."""
    from torchvision.datasets import MNIST

    return load_idx_dataset(MNIST, root, download, mean, std)


@DATASETS.register("fashion_mnist", task="classification", paths=("root",))
def fashion_mnist(
    root: str = "data", download: bool = True, mean: float = 0.2860, std: float = 0.3530
) -> DatasetSplits:
    """Zalando's clothing images in 10 classes (60k train / 10k test, 1x28x28), downloaded by torchvision."""
    from torchvision.datasets import FashionMNIST

    return load_idx_dataset(FashionMNIST, root, download, mean, std)


@DATASETS.register("fake_images", task="classification")
def fake_images(
    size: int = 256, image_size: int = 64, channels: int = 3, num_classes: int = 10, seed: int = 0
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
