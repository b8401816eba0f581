"""Datasets: MNIST through torchvision's real code on generated IDX files, splits, the shipped diabetes CSV."""

from __future__ import annotations

import pytest
import torch

from learnai_cli import registry
from learnai_cli.errors import DataError


def test_mnist_loads_through_torchvision_and_normalises(mnist_root):
    splits = registry.DATASETS.build("mnist", {"root": str(mnist_root), "download": False})
    assert splits.train.inputs.shape == (120, 1, 28, 28) and splits.test.inputs.shape == (40, 1, 28, 28)
    assert splits.train.inputs.dtype == torch.float32 and splits.train.targets.dtype == torch.long
    assert splits.class_names[0] == "0 - zero"
    # ToTensor + Normalize((0.1307,), (0.3081,)): a 0 pixel maps to -0.1307/0.3081.
    assert splits.train.inputs.min().item() == pytest.approx(-0.1307 / 0.3081, abs=1e-5)
    assert splits.train.inputs.max().item() == pytest.approx((1 - 0.1307) / 0.3081, abs=1e-5)


def test_fashion_mnist_loads(mnist_root):
    splits = registry.DATASETS.build("fashion_mnist", {"root": str(mnist_root), "download": False})
    assert len(splits.train) == 120 and splits.class_names[0] == "T-shirt/top"


def test_missing_mnist_says_where_to_put_the_files(tmp_path):
    with pytest.raises(DataError) as caught:
        registry.DATASETS.build("mnist", {"root": str(tmp_path), "download": False})
    message = caught.value.message
    assert (
        str(tmp_path / "MNIST" / "raw") in message and "train-images-idx3-ubyte" in message and "data.root" in message
    )


def test_mnist_config_trains_on_generated_digits(cli, mnist_root):
    from tests.conftest import CONFIGS

    payload = cli.json(
        "train", CONFIGS / "mnist_cnn.yaml", f"data.root={mnist_root}", "data.val_split=20", "train.batch_size=32"
    )
    assert payload["status"] == "completed" and payload["final"]["val_accuracy"] is not None
    report = cli.json("eval", payload["run_id"])
    assert report["samples"] == 40 and report["class_names"][3] == "3 - three"


def test_diabetes_is_shipped_in_the_package():
    splits = registry.DATASETS.build("diabetes", {})
    assert splits.train.inputs.shape == (758, 8)  # the curriculum's file; its README rounds to 759
    assert set(splits.train.targets.view(-1).tolist()) == {0.0, 1.0}


# Pima's first patient (6 pregnancies, glucose 148, ..., age 50; diabetic), scaled to [-1, 1] as in the shipped file.
PIMA_FIRST_PATIENT = "-0.294118,0.487437,0.180328,-0.292929,0,0.00149028,-0.53117,-0.0333333"


def test_diabetes_class_names_say_what_the_labels_mean():
    """Label 1 = diabetes, as in Pima (the curriculum's copy had it inverted; builtin/README.md)."""
    splits = registry.DATASETS.build("diabetes", {})
    names, targets = splits.class_names, splits.train.targets.view(-1).long()
    first = [float(v) for v in PIMA_FIRST_PATIENT.split(",")]
    assert splits.train.inputs[0].tolist() == pytest.approx(first)
    assert names[targets[0]] == "diabetes"  # glucose 148: diabetic in Pima
    counts = {names[i]: n for i, n in enumerate(torch.bincount(targets, minlength=2).tolist())}
    assert counts == {"diabetes": 263, "no diabetes": 495}


def test_diabetes_predict_names_both_classes(cli):
    import json

    from tests.conftest import CONFIGS

    payload = cli.json("train", CONFIGS / "diabetes.yaml", "train.epochs=2")
    result = cli("predict", payload["run_id"], "--json", "--", PIMA_FIRST_PATIENT)
    top = json.loads(result.stdout)["top"]
    assert sorted(t["class"] for t in top) == ["diabetes", "no diabetes"]  # not which one wins: 2 epochs learn little
    assert sum(t["probability"] for t in top) == pytest.approx(1.0, abs=1e-3)
    text = cli("predict", payload["run_id"], "--", PIMA_FIRST_PATIENT).stdout
    assert "no diabetes" in text and text.count("diabetes") == 2


def test_linear_and_polynomial_are_seeded():
    a = registry.DATASETS.build("linear", {"n": 50}, seed=3).train
    b = registry.DATASETS.build("linear", {"n": 50}, seed=3).train
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    poly = registry.DATASETS.build("polynomial", {"n": 20, "coefficients": [1, 2, 3], "noise": 0.0})
    x = poly.train.inputs
    assert x.shape == (20, 2) and torch.allclose(x[:, 1], x[:, 0] ** 2)
    assert torch.allclose(poly.train.targets.view(-1), 1 + 2 * x[:, 0] + 3 * x[:, 0] ** 2, atol=1e-5)
    random_target = registry.DATASETS.build("polynomial", {"n": 20, "coefficients": None, "degree": 4}, seed=5)
    assert random_target.train.inputs.shape == (20, 4) and len(random_target.info["true_coefficients"]) == 5


# --- CSV files that cannot be trained on -------------------------------------------------------------------


@pytest.mark.parametrize(
    "content,expected",
    [
        (b"1,2,0\n3,4,1\n5,,0\n", "row 3, column 2: '' is empty"),
        (b"1,2,0\n3,nan,1\n", "row 2, column 2: 'nan' is not a finite number"),
        (b"1,2,0\n3,1e39,1\n", "row 2, column 2: '1e39' is not a finite number"),  # past float32
        (b"1,2,0\n3,abc,1\n", "row 2, column 2: 'abc' is not a number"),
        (b"1,2,0\n3,4,5,1\n", "row 2 has 4 columns, but row 1 has 3"),
        (b"", "holds no rows"),
        (b"\xff\xfe\x00", "is not UTF-8 text"),
    ],
)
def test_a_csv_that_cannot_be_trained_on_names_its_row_and_column(tmp_path, content, expected):
    from learnai_cli.data.tabular import read_numeric_csv

    path = tmp_path / "table.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        read_numeric_csv(path)
    assert str(path) in caught.value.message and expected in caught.value.message


def test_a_truncated_gzip_csv_is_a_data_error(tmp_path):
    import gzip

    from learnai_cli.data.tabular import read_numeric_csv

    path = tmp_path / "table.csv.gz"
    path.write_bytes(gzip.compress(b"1,2,0\n" * 1000)[:40])
    with pytest.raises(DataError, match="is not a complete gzip file"):
        read_numeric_csv(path)
    path.write_bytes(gzip.compress(b"# comment\n1,2,0\n\n3,4,1\n"))
    assert read_numeric_csv(path).tolist() == [[1, 2, 0], [3, 4, 1]]
