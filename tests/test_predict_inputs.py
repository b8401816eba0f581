"""`learnai predict` prepares an input as training did, and says when an input looks nothing like the training
inputs (issue 26, family 5)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from learnai_cli.data.sequences import encode_name, normalise_name
from tests.conftest import CONFIGS


def write_names(folder: Path) -> Path:
    """Two tiny languages; some lines end in spaces, as in the shipped files."""
    folder.mkdir(parents=True)
    (folder / "Japanese.txt").write_text("Nakamura \nTanaka\nSato  \nSuzuki\nWatanabe\nIto\nYamamoto\nKobayashi\n")
    (folder / "Russian.txt").write_text("Ivanov\nSmirnov \nKuznetsov\nPopov\nVasiliev\nPetrov\nSokolov\nMikhailov\n")
    return folder


@pytest.mark.parametrize("text", ["Nakamura", "Nakamura ", " Nakamura", "Nakamura\t", "  Nakamura  \n", "Nakamurá"])
def test_one_normalisation_for_training_and_predict(text):
    assert normalise_name(text) == "Nakamura" and encode_name(text) == encode_name("Nakamura")
    assert normalise_name("Van  der\u00a0Berg ") == "Van der Berg"


def test_predict_reads_a_name_as_the_training_names_were_read(cli, tmp_path):
    folder = write_names(tmp_path / "names")
    run_id = cli.json(
        "train",
        CONFIGS / "names_gru.yaml",
        f"data.folder={folder}",
        "model.num_classes=2",
        "model.hidden=8",
        "data.val_split=2",
        "data.test_split=2",
        "train.epochs=2",
        "train.batch_size=4",
    )["run_id"]
    plain = cli.json("predict", run_id, "Nakamura")["top"]
    for variant in ("Nakamura ", " Nakamura", "Nakamura\t", "Nakamura   "):
        result = cli.json("predict", run_id, variant)
        assert result["top"] == plain and result["warnings"] == [], variant


def test_a_csv_row_far_outside_the_training_values_is_warned_about(cli, caplog):
    run_id = cli.json("train", CONFIGS / "diabetes.yaml", "train.epochs=1")["run_id"]
    usual = cli("predict", run_id, "--json", "--", "0,0.2,0,0,0,0,-0.5,0")
    assert usual.exit_code == 0 and '"warnings": []' in usual.stdout
    raw = json.loads(cli("predict", run_id, "--json", "--", "6,148,72,35,0,33.6,0.627,50").stdout)  # unscaled
    (warning,) = raw["warnings"]
    assert "far outside the values the model was trained on" in warning and "glucose = 148" in warning
    assert "check the units and scaling" in warning and raw["top"]  # still predicted
    caplog.clear()
    one = cli("predict", run_id, "--", "0,0,0,0,0,0,0,-40")
    assert one.exit_code == 0 and "age = -40" in caplog.text and "glucose =" not in caplog.text


def test_a_standardised_csv_row_is_judged_and_shown_in_its_own_units(cli, tmp_path):
    rows = "\n".join(f"{i % 7 * 10 + 100},{(i * 3) % 5},{i % 2}" for i in range(60))
    (tmp_path / "t.csv").write_text("weight,size,label\n" + rows + "\n")
    config = tmp_path / "t.yaml"
    config.write_text(
        f"name: t\ndata: {{name: csv, path: {tmp_path / 't.csv'}, target: label, standardize: true}}\n"
        "model: {name: mlp, in_features: 2, out_features: 2}\nloss: {name: cross_entropy}\n"
        "optimizer: {name: sgd}\ntrain: {epochs: 1, batch_size: 8}\n"
    )
    run_id = cli.json("train", config)["run_id"]
    assert cli.json("predict", run_id, "130,2")["warnings"] == []
    (warning,) = cli.json("predict", run_id, "130,2000")["warnings"]
    assert "size = 2000 (trained on 0 to 4)" in warning and "weight =" not in warning


def write_digits(root: Path, count: int = 10, inverted: bool = False) -> None:
    """Light strokes on a black background, like MNIST (or dark on white, inverted)."""
    rng = np.random.default_rng(0)
    for label, name in enumerate(("ones", "sevens")):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            pixels = np.zeros((16, 16), dtype=np.uint8)
            column = rng.integers(4, 12)
            pixels[2:14, column : column + 2] = 255
            if label:
                pixels[2:4, 3:13] = 255
            pixels = 255 - pixels if inverted else pixels
            Image.fromarray(pixels).save(root / name / f"{i}.png")


def test_an_image_unlike_the_training_images_is_warned_about(cli, tmp_path, caplog):
    write_digits(tmp_path / "digits")
    write_digits(tmp_path / "inverted", count=1, inverted=True)
    config = tmp_path / "digits.yaml"
    config.write_text(
        f"name: digits\ndata: {{name: image_folder, root: {tmp_path / 'digits'}, image_size: 16, grayscale: true, "
        "val_split: 2, test_split: 2}\nmodel: {name: basic_cnn, in_channels: 1, num_classes: 2, image_size: 16}\n"
        "loss: {name: cross_entropy}\noptimizer: {name: sgd}\ntrain: {epochs: 1, batch_size: 4}\n"
    )
    run_id = cli.json("train", config)["run_id"]
    like = cli.json("predict", run_id, tmp_path / "digits" / "sevens" / "3.png")
    assert like["warnings"] == [] and like["top"]
    unlike = cli.json("predict", run_id, tmp_path / "inverted" / "sevens" / "0.png")
    (warning,) = unlike["warnings"]
    assert "much brighter than every training image" in warning and "inverted colours" in warning
    gray = tmp_path / "gray.png"
    Image.fromarray(np.full((16, 16), 128, dtype=np.uint8)).save(gray)
    shown = cli("predict", run_id, gray)
    assert shown.exit_code == 0 and "much flatter than every training image" in caplog.text  # stderr, out of process


def test_an_inverted_digit_is_warned_about_for_an_mnist_run(cli, tmp_path, caplog):
    """The issue's example: MNIST-like digits (light strokes on black); a black-on-white digit gets a warning."""
    from learnai_cli.data.idx import write_mnist_folder

    rng = np.random.default_rng(1)
    images = np.zeros((80, 28, 28), dtype=np.uint8)
    for image in images:
        column = rng.integers(8, 20)
        image[4:24, column : column + 3] = rng.integers(180, 256)
    write_mnist_folder(tmp_path / "mnist", images, np.arange(80) % 10, images[:20], np.arange(20) % 10)
    run_id = cli.json(
        "train",
        CONFIGS / "mnist_basic_cnn.yaml",
        f"data.root={tmp_path / 'mnist'}",
        "data.download=false",
        "data.val_split=10",
        "train.epochs=1",
        "train.batch_size=16",
    )["run_id"]
    digit, inverted = tmp_path / "digit.png", tmp_path / "inverted.png"
    Image.fromarray(images[3]).save(digit)
    Image.fromarray(255 - images[3]).save(inverted)
    assert cli.json("predict", run_id, digit)["warnings"] == []
    (warning,) = cli.json("predict", run_id, inverted)["warnings"]
    assert "much brighter than every training image" in warning and "dark strokes on a light background" in warning
