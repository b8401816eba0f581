"""Image files on disk: a folder per class (torchvision's ImageFolder) or any glob pattern, opened lazily.

These stay file-backed (DataLoader path, `data.num_workers`); unreadable images are
found when the dataset is built and either skipped with a warning or reported.
"""

from __future__ import annotations

import glob
import os
import stat
import warnings
from pathlib import Path
from typing import Annotated, Callable, Literal, Optional

from pydantic import Field
from torch.utils.data import Dataset

from learnai_cli.data.splits import DatasetSplits
from learnai_cli.errors import DataError, DataNotHere, UsageError
from learnai_cli.log import logger
from learnai_cli.registry import DATASETS, ImageSide, PositiveFloat

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
BadImagePolicy = Literal["skip", "fail"]
# one value per channel: 1 for grayscale, 3 for RGB; a std of 0 would divide by zero
ChannelMeans = Annotated[list[float], Field(min_length=1, max_length=3)]
ChannelStds = Annotated[list[PositiveFloat], Field(min_length=1, max_length=3)]


def to_rgb(image):
    """Palette, grayscale and RGBA files all become 3-channel RGB (a named function, so workers can pickle it)."""
    return image.convert("RGB")


def image_transform(
    image_size: int, grayscale: bool, mean: Optional[list[float]], std: Optional[list[float]]
) -> Callable:
    """Resize the short side, center-crop to a square, to tensor, normalise (ImageNet statistics by default)."""
    from torchvision import transforms

    channels = 1 if grayscale else 3
    mean = list(mean) if mean else ([0.5] if grayscale else list(IMAGENET_MEAN))
    std = list(std) if std else ([0.5] if grayscale else list(IMAGENET_STD))
    if len(mean) != channels or len(std) != channels:
        raise DataError(
            f"data.mean and data.std need {channels} value(s) for {'grayscale' if grayscale else 'RGB'} images "
            f"(got {mean}, {std})"
        )
    steps = [transforms.Grayscale(1)] if grayscale else [transforms.Lambda(to_rgb)]
    steps += [
        transforms.Resize(image_size),
        transforms.CenterCrop(image_size),
        transforms.ToTensor(),
        transforms.Normalize(mean, std),
    ]
    return transforms.Compose(steps)


def pixel_normalization(image_size: Optional[int], grayscale: bool, mean, std) -> dict:
    """What image_transform's Normalize does, for DatasetSplits.info["input_normalization"] (an export puts it inside
    its graph, so a consumer gives pixels in [0, 1] as torchvision's ToTensor makes them)."""
    mean = list(mean) if mean else ([0.5] if grayscale else list(IMAGENET_MEAN))
    std = list(std) if std else ([0.5] if grayscale else list(IMAGENET_STD))
    size = f"{image_size}x{image_size} " if image_size else ""
    channels = "1 channel (grayscale)" if grayscale else "3 channels (RGB)"
    return {"input": f"{size}images, {channels} first, pixel values in [0, 1]", "mean": mean, "std": std}


def open_image(path: Path):
    """Image.open with PIL's decompression-bomb warning (over ~89 million pixels) raised as an error, as its error
    is over ~179 million: an image that large would fill the memory when decoded."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(path)


def too_large(error: BaseException) -> bool:
    from PIL import Image

    return isinstance(error, (Image.DecompressionBombError, Image.DecompressionBombWarning))


def image_file_encoder(transform: Callable) -> Callable:
    """For `learnai predict`: an image file's path -> a batch of one, prepared as the training images were."""

    def encode(text: str):
        from PIL import Image, UnidentifiedImageError

        path = Path(text)
        if not path.is_file():
            raise UsageError(f"this model takes an image file; '{text}' is not a file")
        try:
            with open_image(path) as image:
                return transform(image).unsqueeze(0)
        except (UnidentifiedImageError, OSError) as error:
            raise UsageError(f"cannot read image {path}: {error}") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            limit = f"{Image.MAX_IMAGE_PIXELS or 0:,}"
            raise UsageError(
                f"image {path} has more than {limit} pixels (PIL's limit on images that would fill the memory when "
                "decoded): make it smaller first"
            ) from None

    return encode


class ImageFiles(Dataset):
    """(image, label) pairs from a list of files; each image is opened only when asked for."""

    def __init__(self, files: list[Path], targets: list[int], transform: Callable):
        self.files, self.targets, self.transform = files, targets, transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        path = self.files[index]
        try:
            with open_image(path) as image:
                return self.transform(image), self.targets[index]
        except OSError as error:
            raise DataError(f"cannot read image {path}: {error}") from None


def readable(files: list[Path], policy: BadImagePolicy) -> list[Path]:
    """Files PIL can open and verify; the rest are skipped with a warning, or reported, as `policy` says."""

    good, bad = [], []
    for path in files:
        try:
            with open_image(path) as image:
                image.verify()
            good.append(path)
        except Exception as error:  # PIL raises many types for broken files
            bad.append(f"{path} ({'too large' if too_large(error) else type(error).__name__})")
    if bad and policy == "fail":
        listing = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise DataError(f"{len(bad)} unreadable image(s): {listing}. Remove them, or set data.on_bad_image: skip")
    if bad:
        logger.warning(f"skipped {len(bad)} unreadable image(s), e.g. {bad[0]}")
    return good


def image_files_under(folder: Path) -> list[Path]:
    """Image files anywhere below `folder`, following linked folders (a class folder may be a link) but never into
    a folder already walked, so a link loop cannot repeat images; non-regular files (FIFOs, sockets) are left out."""
    files, seen = [], set()
    for top, dirs, names in os.walk(folder, followlinks=True):
        here = _identity(top)
        if here is None or here in seen:
            dirs[:] = []
            continue
        seen.add(here)
        dirs.sort()
        files += [Path(top, name) for name in names if Path(name).suffix.lower() in IMAGE_EXTENSIONS]
    return regular_files(files)


def _identity(path: str) -> Optional[tuple[int, int]]:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def regular_files(files: list[Path]) -> list[Path]:
    """Regular files only (a FIFO named x.png would block the reader), each real file once (two links to one image
    would put it in train and val both)."""
    kept, seen = [], set()
    for path in sorted(files):
        try:
            info = os.stat(path)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            kept.append(path)
    if len(kept) < len(files):
        logger.warning(
            f"left out {len(files) - len(kept)} path(s) that are links to an image already found, or not files"
        )
    return kept


def labelled_files(
    files: list[Path], policy: BadImagePolicy, source: str, base: Path
) -> tuple[list[Path], list[int], list[str]]:
    """Label each file by its class folder: the first folder below `base`, however deep the file lies in it (so
    cat/thumbs/1.png is a cat); classes in sorted order, at least two."""
    found = bool(files)
    loose = [path for path in files if len(path.relative_to(base).parts) < 2]
    files = readable(sorted(set(files) - set(loose)), policy)
    if loose:
        where = f"{len(loose)} image(s) directly in {base}, e.g. {loose[0].name}"
        if not files:
            raise DataError(f"{where}, and none in a class folder: put each class's images in {base}/<class>/")
        logger.warning(f"skipped {where}: they are in no class folder ({base}/<class>/...)")
    if not files:
        problem = DataError if found else DataNotHere  # a pattern matching nothing: the images are not here (yet)
        raise problem(f"no readable images found in {source} (extensions: {', '.join(IMAGE_EXTENSIONS)})")
    labels = [path.relative_to(base).parts[0] for path in files]
    class_names = sorted(set(labels))
    if len(class_names) < 2:
        raise DataError(
            f"{source} holds one class ({class_names[0]!r}, {len(files)} images), so there is nothing to tell apart "
            f"and accuracy would be 100%; add a sub-folder of images for each other class in {base}"
        )
    index = {name: i for i, name in enumerate(class_names)}
    return files, [index[label] for label in labels], class_names


def _folder_split(folder: Path, transform: Callable, policy: BadImagePolicy, class_names: Optional[list[str]] = None):
    files, targets, names = labelled_files(image_files_under(folder), policy, str(folder), folder)
    if class_names is not None and names != class_names:
        raise DataError(
            f"{folder} has classes {names}, but the train folder has {class_names}; use the same class folders"
        )
    return ImageFiles(files, targets, transform), names


@DATASETS.register("image_folder", task="classification", paths=("root",))
def image_folder(
    root: str,
    image_size: ImageSide = 224,
    grayscale: bool = False,
    mean: Optional[ChannelMeans] = None,
    std: Optional[ChannelStds] = None,
    on_bad_image: BadImagePolicy = "skip",
) -> DatasetSplits:
    """Images in root/<class>/..., or root/{train,val,test}/<class>/... for fixed splits (ImageFolder layout)."""
    base = Path(root)
    if not base.is_dir():
        problem = DataError if base.exists() else DataNotHere  # a file there is a mistake; nothing there, not yet
        raise problem(f"data.root: {base} is not a folder; put one sub-folder of images per class in it")
    transform = image_transform(image_size, grayscale, mean, std)
    encode = image_file_encoder(transform)
    if (base / "train").is_dir():
        train, names = _folder_split(base / "train", transform, on_bad_image)
        val, test = (_fixed_split(base / part, transform, on_bad_image, names) for part in ("val", "test"))
        info = {"input_normalization": pixel_normalization(image_size, grayscale, mean, std)}
        return DatasetSplits(train=train, val=val, test=test, class_names=names, encode_input=encode, info=info)
    train, names = _folder_split(base, transform, on_bad_image)
    info = {"input_normalization": pixel_normalization(image_size, grayscale, mean, std)}
    return DatasetSplits(train=train, class_names=names, encode_input=encode, info=info)


def _fixed_split(folder: Path, transform: Callable, policy: BadImagePolicy, class_names: list[str]):
    return _folder_split(folder, transform, policy, class_names)[0] if folder.is_dir() else None


@DATASETS.register("glob_images", task="classification", globs=("pattern",))
def glob_images(
    pattern: str,
    image_size: ImageSide = 224,
    grayscale: bool = False,
    mean: Optional[ChannelMeans] = None,
    std: Optional[ChannelStds] = None,
    on_bad_image: BadImagePolicy = "skip",
) -> DatasetSplits:
    """Image files matching a glob pattern (e.g. 'photos/**/*.jpg'), labelled by their class folder: the first folder
    below the pattern's fixed part (photos/cat/thumbs/1.jpg is a cat); `**` does not descend into linked folders."""
    base, files = glob_matches(pattern)
    files, targets, names = labelled_files(files, on_bad_image, f"'{pattern}'", base)
    transform = image_transform(image_size, grayscale, mean, std)
    return DatasetSplits(
        train=ImageFiles(files, targets, transform),
        class_names=names,
        encode_input=image_file_encoder(transform),
        info={"input_normalization": pixel_normalization(image_size, grayscale, mean, std)},
    )


def glob_matches(pattern: str) -> tuple[Path, list[Path]]:
    """(the pattern's fixed leading folders, the regular image files it matches). pathlib's `**` never follows a
    linked folder, so a link loop cannot multiply the matches; hidden names match only when the pattern names them."""
    parts = Path(pattern).parts
    fixed = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    if fixed == len(parts):
        path = Path(pattern)
        return path.parent, regular_files([path] if path.suffix.lower() in IMAGE_EXTENSIONS else [])
    base, rest = Path(*parts[:fixed]) if fixed else Path("."), str(Path(*parts[fixed:]))
    hidden = any(part.startswith(".") for part in parts[fixed:])
    matches = [
        path
        for path in base.glob(rest)
        if path.suffix.lower() in IMAGE_EXTENSIONS
        and (hidden or not any(part.startswith(".") for part in path.relative_to(base).parts))
    ]
    return base, regular_files(matches)
