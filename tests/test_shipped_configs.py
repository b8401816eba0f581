"""Every config in configs/ validates and survives a one-epoch smoke run on tiny data, so none can rot."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import CONFIGS

SHIPPED = sorted(CONFIGS.glob("*.yaml"))


@pytest.fixture(scope="module")
def image_root(tmp_path_factory):
    from tests.test_images import make_tree

    return make_tree(tmp_path_factory.mktemp("images"), per_class=12)


def smoke_overrides(path, mnist_root, image_root) -> list[str]:
    dataset = yaml.safe_load(path.read_text())["data"]["name"]
    if dataset in ("mnist", "fashion_mnist"):
        return [f"data.root={mnist_root}", "data.download=false", "data.val_split=20"]
    if dataset == "toy_classes":
        return []
    if dataset == "image_folder":
        return [f"data.root={image_root}"]
    if dataset == "fake_images":
        return ["data.size=48"]
    return ["data.limit=64"]


def test_the_issue_configs_are_shipped():
    names = {p.stem for p in SHIPPED}
    assert {"linear_regression", "polynomial_regression", "toy_classes", "diabetes", "mnist_mlp", "mnist_cnn"} <= names
    curriculum = {
        "poly4_smooth_l1",
        "generalfit",
        "toy_manual_vs_autograd",
        "logistic_regression",
        "mnist_softmax_mlp",
        "mnist_basic_cnn",
        "mnist_deep_cnn",
        "mnist_inception",
        "mnist_resnet",
        "zoo_finetune",
        "image_folder",
    }
    assert curriculum <= names


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_config_validates(cli, path):
    result = cli("config", path)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_one_epoch_smoke_run(cli, path, mnist_root, image_root):
    payload = cli.json("train", path, "train.epochs=1", *smoke_overrides(path, mnist_root, image_root))
    assert payload["status"] == "completed" and payload["epochs"] == 1
    assert payload["final"]["train_loss"] is not None


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_dry_run(cli, path, mnist_root, image_root):
    payload = cli.json("train", path, "--dry-run", *smoke_overrides(path, mnist_root, image_root))
    assert payload["dry_run"] and payload["final"]["step"] == 1
