"""MNIST without a network: the message says which four files go where, .gz files put there by hand are checked
against torchvision's md5s and unpacked, and bench/real_digits.py needs only the folder it is given."""

from __future__ import annotations

import gzip
import hashlib
import shutil

import pytest

from learnai_cli.data.vision import load_idx_dataset
from learnai_cli.errors import DataError


def test_the_missing_files_message_lists_the_four_gz_files_with_sizes(tmp_path):
    from learnai_cli import registry

    with pytest.raises(DataError) as caught:
        registry.DATASETS.build("mnist", {"root": str(tmp_path), "download": False})
    message = caught.value.message
    assert f"into {tmp_path / 'MNIST' / 'raw'}:" in message
    for line in ("train-images-idx3-ubyte.gz  (9,912,422 bytes)", "t10k-labels-idx1-ubyte.gz  (4,542 bytes)"):
        assert line in message
    assert message.count(".gz  (") == 4


def gzipped_copy(mnist_root, tmp_path):
    """The generated MNIST files gzipped into a fresh raw folder, and an MNIST class whose md5s are theirs."""
    from torchvision.datasets import MNIST as Torchvision

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    resources = []
    for plain in sorted((mnist_root / "MNIST" / "raw").glob("*-ubyte")):
        packed = raw / f"{plain.name}.gz"
        packed.write_bytes(gzip.compress(plain.read_bytes()))
        resources.append((packed.name, hashlib.md5(packed.read_bytes()).hexdigest()))

    class MNIST(Torchvision):  # torchvision's own class, with the md5s of these files
        pass

    MNIST.resources = resources
    return raw, MNIST


def test_gz_files_put_in_the_raw_folder_load_offline(mnist_root, tmp_path):
    raw, dataset_class = gzipped_copy(mnist_root, tmp_path)
    splits = load_idx_dataset(dataset_class, str(tmp_path), download=False, mean=0.0, std=1.0)
    assert len(splits.train) == 120 and len(splits.test) == 40
    assert (raw / "train-images-idx3-ubyte").exists() and not list(raw.glob("*.part"))


def test_a_half_downloaded_gz_is_named_with_its_size(mnist_root, tmp_path):
    raw, dataset_class = gzipped_copy(mnist_root, tmp_path)
    damaged = raw / "t10k-images-idx3-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:100])
    with pytest.raises(DataError) as caught:
        load_idx_dataset(dataset_class, str(tmp_path), download=False, mean=0.0, std=1.0)
    assert f"{damaged} is damaged (100 bytes" in caught.value.message and "half-finished" in caught.value.message
    assert not (raw / "t10k-images-idx3-ubyte").exists()


def test_a_torchvision_md5_mismatch_names_the_expected_size(tmp_path):
    from learnai_cli import registry

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b" + b"\0" * 50)
    with pytest.raises(DataError) as caught:
        registry.DATASETS.build("mnist", {"root": str(tmp_path), "download": False})
    assert "train-labels-idx1-ubyte.gz is damaged (52 bytes, expected 28,881" in caught.value.message


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
