"""MNIST and Fashion-MNIST without a network and without torchvision: learnai reads the IDX files itself (the tensors
are torchvision's, bit for bit), the message says which files are there, which are missing and where they go, .gz
files put there by hand are checked against torchvision's md5s and unpacked, a damaged file is named, and
bench/real_digits.py needs only the folder it is given."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from learnai_cli.data.idx import write_idx
from learnai_cli.data.vision import FASHION_MNIST_FILES, MNIST_FILES, as_digit, load_idx_dataset
from learnai_cli.errors import DataError
from tests.conftest import CONFIGS

PLAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.mark.parametrize("source", [MNIST_FILES, FASHION_MNIST_FILES], ids=lambda source: source.name)
def test_the_tensors_are_torchvisions_bit_for_bit(mnist_root, source):
    import torchvision.datasets

    dataset_class = getattr(torchvision.datasets, source.name)
    assert [(name, md5) for name, md5, _ in source.files] == dataset_class.resources
    mean, std = 0.1307, 0.3081
    splits = load_idx_dataset(source, str(mnist_root), download=False, mean=mean, std=std)
    assert splits.class_names == dataset_class.classes
    for ours, is_train in ((splits.train, True), (splits.test, False)):
        theirs = dataset_class(root=str(mnist_root), train=is_train, download=False)
        expected = theirs.data.unsqueeze(1).float().div_(255).sub_(mean).div_(std)
        assert ours.inputs.dtype == expected.dtype and torch.equal(ours.inputs, expected)
        assert ours.targets.dtype == theirs.targets.dtype and torch.equal(ours.targets, theirs.targets)


@pytest.mark.parametrize(
    "size, mode", [((28, 28), "L"), ((50, 31), "RGB"), ((17, 90), "RGBA"), ((300, 200), "P"), ((29, 28), "I;16")]
)
def test_a_predict_image_becomes_the_digit_torchvisions_transforms_make(tmp_path, size, mode):
    from PIL import Image

    from learnai_cli.data.folders import image_transform

    pixels = np.random.default_rng(sum(size)).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    expected = image_transform(28, True, [0.1307], [0.3081])(image)
    assert torch.equal(as_digit(image, 0.1307, 0.3081), expected)


def train(cli, root: Path, *settings: str, config: str = "mnist_cnn"):
    arguments = [CONFIGS / f"{config}.yaml", f"data.root={root}", "data.download=false", "data.val_split=20"]
    return cli("train", *arguments, *settings, "train.epochs=1", "--no-progress")


def partial_root(mnist_root: Path, tmp_path: Path, present: tuple[str, ...], dataset: str = "MNIST") -> Path:
    raw = tmp_path / "data" / dataset / "raw"
    raw.mkdir(parents=True)
    for name in present:
        source = mnist_root / dataset / "raw" / name.removesuffix(".gz")
        (raw / name).write_bytes(gzip.compress(source.read_bytes()) if name.endswith(".gz") else source.read_bytes())
    return tmp_path / "data"


def test_no_files_at_all_lists_the_four_gz_files_with_sizes(cli, tmp_path):
    result = train(cli, tmp_path)
    raw = tmp_path / "MNIST" / "raw"
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"MNIST files are missing under {raw} (4 of 4; none of its 4 files is there)" in result.stderr
    assert "download is off (data.download: false)" in result.stderr and "these 4 files" in result.stderr
    for line in ("train-images-idx3-ubyte.gz  (9,912,422 bytes)", "t10k-labels-idx1-ubyte.gz  (4,542 bytes)"):
        assert line in result.stderr
    assert result.stderr.count(".gz  (") == 4


@pytest.mark.parametrize(
    "present",
    [PLAIN[:2], PLAIN[:3], (PLAIN[0], PLAIN[3]), (PLAIN[3],)],
    ids=["train only", "three", "two apart", "one"],
)
def test_some_files_present_says_which_are_there_and_which_to_copy_where(cli, mnist_root, tmp_path, present):
    root = partial_root(mnist_root, tmp_path, present)
    result = train(cli, root)
    raw = root / "MNIST" / "raw"
    plain = [name.removesuffix(".gz") for name in present]
    missing = [name for name in PLAIN if name not in plain]
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"({len(missing)} of 4; present there: {', '.join(n for n in PLAIN if n in plain)})" in result.stderr
    assert f"into {raw}:" in result.stderr
    assert [line.split()[0] for line in result.stderr.splitlines() if ".gz  (" in line] == [f"{n}.gz" for n in missing]


def test_fashion_mnist_names_its_own_folder_and_sizes(cli, mnist_root, tmp_path):
    root = partial_root(mnist_root, tmp_path, PLAIN[2:], dataset="FashionMNIST")
    result = train(cli, root, "data.name=fashion_mnist")
    assert result.exit_code == 2
    assert f"FashionMNIST files are missing under {root / 'FashionMNIST' / 'raw'} (2 of 4" in result.stderr
    assert "train-images-idx3-ubyte.gz  (26,421,880 bytes)" in result.stderr


def test_misplaced_or_dotted_files_are_named_with_where_they_must_go(cli, mnist_root, tmp_path):
    root = partial_root(mnist_root, tmp_path, PLAIN[:2])
    raw = root / "MNIST" / "raw"
    shutil.copy(mnist_root / "MNIST" / "raw" / PLAIN[2], root / PLAIN[2])  # in data.root itself
    (raw / "t10k-labels.idx1-ubyte.GZ").write_bytes(b"x")  # a mirror's dotted name
    (root / "raw").mkdir()  # a place to look that holds none of them
    result = train(cli, root)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"found {root / PLAIN[2]}: move it to {raw / PLAIN[2]}" in result.stderr
    assert f"found {raw / 't10k-labels.idx1-ubyte.GZ'}: rename it to {raw / (PLAIN[3] + '.gz')}" in result.stderr


def test_config_still_checks_a_config_whose_files_are_partly_there(cli, mnist_root, tmp_path):
    root = partial_root(mnist_root, tmp_path, PLAIN[:3])
    payload = cli.json("config", CONFIGS / "mnist_cnn.yaml", f"data.root={root}", "data.download=false")
    assert payload["ok"] and payload["data_check"].startswith("data not checked: MNIST files are missing")
    assert "(1 of 4; present there:" in payload["data_check"]


def damage(raw: Path, name: str, how: str) -> None:
    path = raw / name
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[:-5])
    elif how == "not idx":
        path.write_bytes(b"<html>Not found</html>")
    elif how == "fewer labels":
        write_idx(path, np.zeros(7, dtype=np.uint8))
    elif how == "label 12":
        write_idx(path, np.full(len(data) - 8, 12, dtype=np.uint8))


@pytest.mark.parametrize(
    "name, how, said",
    [
        (PLAIN[0], "truncated", "is not an MNIST images file: its header says 120 x 28 x 28 values but it holds"),
        (PLAIN[2], "not idx", "is not an MNIST images file: it does not start with an IDX header"),
        (PLAIN[3], "fewer labels", "t10k-images-idx3-ubyte holds 40 images but t10k-labels-idx1-ubyte 7 labels"),
        (PLAIN[1], "label 12", "has label 12; MNIST's labels are 0 to 9"),
    ],
)
def test_a_damaged_idx_file_is_one_line_naming_it(cli, mnist_root, tmp_path, name, how, said):
    root = partial_root(mnist_root, tmp_path, PLAIN)
    damage(root / "MNIST" / "raw", name, how)
    result = train(cli, root)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert said in result.stderr and len(result.stderr.strip().splitlines()) == 1


def gzipped_copy(mnist_root, tmp_path):
    """The generated MNIST files gzipped into a fresh raw folder, and a source whose md5s are theirs."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    files = []
    for plain in PLAIN:
        packed = raw / f"{plain}.gz"
        packed.write_bytes(gzip.compress((mnist_root / "MNIST" / "raw" / plain).read_bytes()))
        files.append((packed.name, hashlib.md5(packed.read_bytes()).hexdigest(), packed.stat().st_size))
    return raw, dataclasses.replace(MNIST_FILES, files=tuple(files))


def test_gz_files_put_in_the_raw_folder_load_offline(mnist_root, tmp_path):
    raw, source = gzipped_copy(mnist_root, tmp_path)
    splits = load_idx_dataset(source, str(tmp_path), download=False, mean=0.0, std=1.0)
    assert len(splits.train) == 120 and len(splits.test) == 40
    assert (raw / "train-images-idx3-ubyte").exists() and not list(raw.glob("*.part"))


def test_a_half_downloaded_gz_is_named_with_its_size(mnist_root, tmp_path):
    raw, source = gzipped_copy(mnist_root, tmp_path)
    damaged = raw / "t10k-images-idx3-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:100])
    with pytest.raises(DataError) as caught:
        load_idx_dataset(source, str(tmp_path), download=False, mean=0.0, std=1.0)
    assert f"{damaged} is damaged (100 bytes" in caught.value.message and "half-finished" in caught.value.message
    assert not (raw / "t10k-images-idx3-ubyte").exists()


def test_a_torchvision_md5_mismatch_names_the_expected_size(cli, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b" + b"\0" * 50)
    result = train(cli, tmp_path)
    assert result.exit_code == 2
    assert "train-labels-idx1-ubyte.gz is damaged (52 bytes, expected 28,881" in result.stderr


def test_real_digits_takes_its_source_folder(mnist_root, tmp_path, capsys, monkeypatch):
    from bench.real_digits import main

    monkeypatch.delenv("LEARNAI_MNIST_T10K", raising=False)
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2 and "name the folder that holds t10k-images" in capsys.readouterr().err
    assert main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    assert "does not hold t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz" in capsys.readouterr().err
    source = tmp_path / "t10k"
    source.mkdir()
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with open(mnist_root / "MNIST" / "raw" / name, "rb") as plain, gzip.open(source / f"{name}.gz", "wb") as out:
            shutil.copyfileobj(plain, out)
    assert main([str(source), "--out", str(tmp_path / "out"), "--train-count", "30"]) == 0
    assert (tmp_path / "out" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").exists()
