"""Image datasets on disk: ImageFolder layouts and glob patterns, built on the fly; unreadable files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from learnai_cli import registry
from learnai_cli.errors import DataError


def make_tree(root: Path, classes=("cat", "dog"), per_class: int = 6, size=(20, 16)) -> Path:
    rng = np.random.default_rng(0)
    for label, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 80, (*size[::-1], 3), dtype=np.uint8) + label * 150
            Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{i}.png" if i % 2 else folder / f"{i}.jpg")
    return root


def test_image_folder_builds_lazy_labelled_dataset(tmp_path):
    make_tree(tmp_path)
    splits = registry.DATASETS.build("image_folder", {"root": str(tmp_path), "image_size": 12})
    assert splits.class_names == ["cat", "dog"] and len(splits.train) == 12
    image, label = splits.train[0]
    assert tuple(image.shape) == (3, 12, 12) and label == 0
    gray = registry.DATASETS.build("image_folder", {"root": str(tmp_path), "image_size": 8, "grayscale": True})
    assert tuple(gray.train[7][0].shape) == (1, 8, 8) and gray.train[7][1] == 1


def test_image_folder_with_fixed_splits(tmp_path):
    make_tree(tmp_path / "train")
    make_tree(tmp_path / "val", per_class=2)
    splits = registry.DATASETS.build("image_folder", {"root": str(tmp_path), "image_size": 8})
    assert len(splits.train) == 12 and len(splits.val) == 4 and splits.test is None


def test_glob_images(tmp_path):
    make_tree(tmp_path)
    splits = registry.DATASETS.build("glob_images", {"pattern": str(tmp_path / "**" / "*.png"), "image_size": 10})
    assert len(splits.train) == 6 and splits.class_names == ["cat", "dog"]
    assert tuple(splits.train[0][0].shape) == (3, 10, 10)


def test_unreadable_images_are_skipped_or_reported(tmp_path, caplog):
    make_tree(tmp_path)
    (tmp_path / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    skipped = registry.DATASETS.build("image_folder", {"root": str(tmp_path), "image_size": 8})
    assert len(skipped.train) == 12
    assert "skipped 1 unreadable image(s)" in caplog.text
    with pytest.raises(DataError, match=r"1 unreadable image\(s\): .*broken.png"):
        registry.DATASETS.build("image_folder", {"root": str(tmp_path), "image_size": 8, "on_bad_image": "fail"})


def test_missing_or_empty_folder(tmp_path):
    with pytest.raises(DataError, match="is not a folder"):
        registry.DATASETS.build("image_folder", {"root": str(tmp_path / "nope")})
    with pytest.raises(DataError, match="no readable images"):
        registry.DATASETS.build("image_folder", {"root": str(tmp_path)})


def test_train_and_eval_on_an_image_folder_with_workers(cli, tmp_path):
    make_tree(tmp_path / "images", per_class=10)
    config = tmp_path / "images.yaml"
    config.write_text(
        f"name: tiny_images\ndata: {{name: image_folder, root: {tmp_path / 'images'}, image_size: 28, val_split: 4, test_split: 4, num_workers: 1, memory_budget_mb: 0}}\n"
        "model: {name: basic_cnn, in_channels: 3, num_classes: 2}\nloss: {name: cross_entropy}\noptimizer: {name: adam, lr: 0.01}\n"
        "train: {epochs: 3, batch_size: 4, monitor: val_accuracy, mode: max}\n"
    )
    payload = cli.json("train", config)
    assert payload["status"] == "completed"
    report = cli.json("eval", payload["run_id"])
    assert report["samples"] == 4 and report["class_names"] == ["cat", "dog"]


def test_image_that_breaks_during_training_fails_the_run_naming_the_file(cli, tmp_path, monkeypatch):
    make_tree(tmp_path / "images")
    config = tmp_path / "images.yaml"
    config.write_text(
        f"name: breaks\ndata: {{name: image_folder, root: {tmp_path / 'images'}, image_size: 28, val_split: 2, test_split: 2, memory_budget_mb: 0}}\n"
        "model: {name: basic_cnn, in_channels: 3, num_classes: 2}\nloss: {name: cross_entropy}\noptimizer: {name: sgd}\ntrain: {epochs: 2, batch_size: 4}\n"
    )
    from learnai_cli.data import folders

    original = folders.ImageFiles.__getitem__
    calls = {"n": 0}

    def breaks_later(self, index):
        calls["n"] += 1
        if calls["n"] > 4:  # after the fit check: as if a file changed on disk mid-training
            raise DataError(f"cannot read image {self.files[index]}: truncated")
        return original(self, index)

    monkeypatch.setattr(folders.ImageFiles, "__getitem__", breaks_later)
    result = cli("train", config)
    assert result.exit_code == 1 and "cannot read image" in result.stderr and "truncated" in result.stderr


def test_small_image_folders_are_decoded_into_memory_once(tmp_path):
    from learnai_cli import config as config_module
    from learnai_cli.data.splits import TensorSplit
    from learnai_cli.experiment import build_data

    make_tree(tmp_path / "images", per_class=10)
    raw = {
        "name": "cached",
        "data": {
            "name": "image_folder",
            "root": str(tmp_path / "images"),
            "image_size": 8,
            "val_split": 4,
            "test_split": 4,
        },
        "model": {"name": "basic_cnn"},
        "loss": {"name": "cross_entropy"},
        "optimizer": {"name": "sgd"},
    }
    cached, _ = build_data(config_module.validate(raw, source="test"))
    assert isinstance(cached.train, TensorSplit) and tuple(cached.train.inputs.shape) == (12, 3, 8, 8)
    assert (
        sorted(cached.val.targets.tolist() + cached.test.targets.tolist() + cached.train.targets.tolist())
        == [0] * 10 + [1] * 10
    )
    raw["data"]["memory_budget_mb"] = 0
    lazy, _ = build_data(config_module.validate(raw, source="test"))
    assert not isinstance(lazy.train, TensorSplit)


def test_file_backed_run_resumes_exactly(cli, runs_dir, tmp_path, monkeypatch):
    import torch

    from learnai_cli.engine import trainer
    from tests.test_resume import stop_at_step

    make_tree(tmp_path / "images", per_class=10)
    config = tmp_path / "images.yaml"
    config.write_text(
        f"name: resumable_images\ndata: {{name: image_folder, root: {tmp_path / 'images'}, image_size: 16, val_split: 4, test_split: 4, memory_budget_mb: 0}}\n"
        "model: {name: basic_cnn, in_channels: 3, num_classes: 2, image_size: 16}\nloss: {name: cross_entropy}\noptimizer: {name: sgd, lr: 0.05}\n"
        "train: {epochs: 3, batch_size: 3, deterministic: true, checkpoint_every_steps: 2}\n"
    )
    reference = cli.json("train", config)
    with monkeypatch.context() as patch:
        patch.setattr(trainer.Trainer, "_optimizer_step", stop_at_step(6))
        assert cli("train", config).exit_code == 130
    stopped = max(p for p in runs_dir.iterdir() if p.name != reference["run_id"])
    assert cli.json("train", "--resume", stopped.name)["status"] == "completed"
    expected = torch.load(reference["checkpoints"]["last"], weights_only=True)["model"]
    resumed = torch.load(stopped / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(expected[k], resumed[k]) for k in expected)


def image_config(tmp_path: Path, data: dict, name: str = "images") -> Path:
    """A small CNN on 16-pixel images; val and test take 4 images each, so the train split is the rest."""
    data = {"image_size": 16, "val_split": 4, "test_split": 4, "memory_budget_mb": 0, **data}
    config = {
        "name": name,
        "data": data,
        "model": {"name": "basic_cnn", "in_channels": 3, "num_classes": 2, "image_size": 16},
        "loss": {"name": "cross_entropy"},
        "optimizer": {"name": "sgd"},
        "train": {"epochs": 1, "batch_size": 4},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


FOLDER_AND_GLOB = [
    lambda root: {"name": "image_folder", "root": str(root)},
    lambda root: {"name": "glob_images", "pattern": str(root / "**" / "*.*g")},
    lambda root: {"name": "glob_images", "pattern": str(root / "*" / "**" / "*.*g")},
]


@pytest.mark.parametrize("data", FOLDER_AND_GLOB)
@pytest.mark.parametrize("inner", ["thumbs", "a/b/thumbs"])
def test_the_class_is_the_top_folder_under_the_root_however_deep_the_image(cli, tmp_path, data, inner):
    make_tree(tmp_path / "tmp", per_class=6)
    for name in ("cat", "dog"):
        (tmp_path / "photos" / name / inner).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tmp" / name).rename(tmp_path / "photos" / name / inner)
        for i in range(2):  # some images beside the nested folder too
            Image.new("RGB", (8, 8)).save(tmp_path / "photos" / name / f"top{i}.png")
    payload = cli.json("train", image_config(tmp_path, data(tmp_path / "photos")))
    assert payload["status"] == "completed", payload
    report = cli.json("eval", payload["run_id"])
    assert report["class_names"] == ["cat", "dog"]


@pytest.mark.parametrize("data", FOLDER_AND_GLOB)
def test_a_link_loop_or_a_second_link_to_an_image_adds_no_samples(cli, tmp_path, data):
    root = make_tree(tmp_path / "photos")  # 12 images
    (root / "cat" / "loop").symlink_to(root, target_is_directory=True)
    (root / "dog" / "again").symlink_to(root / "dog", target_is_directory=True)
    (root / "cat" / "same.png").symlink_to(root / "cat" / "1.png")
    payload = cli.json("train", image_config(tmp_path, data(root)))
    assert payload["status"] == "completed" and payload["final"]["samples"] == 12 - 8, payload


def test_a_linked_class_folder_is_read(cli, tmp_path):
    make_tree(tmp_path / "elsewhere")
    (tmp_path / "photos").mkdir()
    for name in ("cat", "dog"):
        (tmp_path / "photos" / name).symlink_to(tmp_path / "elsewhere" / name, target_is_directory=True)
    payload = cli.json("train", image_config(tmp_path, {"name": "image_folder", "root": str(tmp_path / "photos")}))
    assert payload["final"]["samples"] == 4 and cli.json("eval", payload["run_id"])["class_names"] == ["cat", "dog"]


@pytest.mark.parametrize(
    "layout,data",
    [
        ("photos/cat", {"name": "image_folder", "root": "photos"}),
        ("photos/cat", {"name": "glob_images", "pattern": "photos/**/*.png"}),
        ("photos/cat/thumbs", {"name": "glob_images", "pattern": "photos/*/thumbs/*.*"}),
        ("photos/train/cat", {"name": "image_folder", "root": "photos"}),
    ],
)
def test_one_class_is_refused_before_training(cli, tmp_path, runs_dir, layout, data):
    make_tree(tmp_path / "tmp", classes=("cat",))
    (tmp_path / layout).parent.mkdir(parents=True)
    (tmp_path / "tmp" / "cat").rename(tmp_path / layout)
    result = cli("train", image_config(tmp_path, data))
    assert result.exit_code == 2, result.output
    assert "holds one class ('cat'" in result.output and "add a sub-folder of images for each other class" in (
        " ".join(result.output.split())
    )
    assert "Traceback" not in result.output and not runs_dir.exists() or not any(runs_dir.iterdir())


def test_images_in_no_class_folder_are_skipped_or_refused(tmp_path, caplog):
    make_tree(tmp_path / "photos")
    Image.new("RGB", (8, 8)).save(tmp_path / "photos" / "stray.png")
    splits = registry.DATASETS.build("image_folder", {"root": str(tmp_path / "photos"), "image_size": 8})
    assert len(splits.train) == 12 and "1 image(s) directly in" in caplog.text
    with pytest.raises(DataError, match="none in a class folder"):
        registry.DATASETS.build("glob_images", {"pattern": str(tmp_path / "photos" / "*.png"), "image_size": 8})


def test_a_fifo_named_like_an_image_does_not_block(tmp_path):
    """In a subprocess with a timeout: a reader that opened the FIFO would wait for a writer forever."""
    import os
    import subprocess
    import sys

    root = make_tree(tmp_path / "photos")
    os.mkfifo(root / "cat" / "pipe.png")
    os.mkfifo(root / "dog" / "pipe.jpg")
    for data in FOLDER_AND_GLOB[:2]:
        config = image_config(tmp_path, data(root))
        done = subprocess.run(
            [sys.executable, "-m", "learnai_cli", "train", str(config), "--json", "--runs-dir", str(tmp_path / "r")],
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert done.returncode == 0 and json.loads(done.stdout)["final"]["samples"] == 4, done.stderr
