"""Sequences: hello -> ohlol, surname -> language with packed GRUs, per-batch padding, learnai predict."""

from __future__ import annotations

import json

import pytest
import torch

from learnai_cli import registry
from tests.conftest import CONFIGS


@pytest.mark.parametrize(
    ("cell", "input_mode"), [("rnn_cell", "one_hot"), ("rnn", "one_hot"), ("lstm", "embedding"), ("gru", "embedding")]
)
def test_rnn_hello_learns_ohlol(cli, cell, input_mode):
    payload = cli.json(
        "train", CONFIGS / "rnn_hello.yaml", f"model.cell={cell}", f"model.input_mode={input_mode}", "train.epochs=60"
    )
    assert payload["final"]["val_accuracy"] == 1.0
    shown = cli("eval", payload["run_id"]).stdout
    assert "input: hello  predicted: ohlol  target: ohlol" in shown
    predicted = cli.json("predict", payload["run_id"], "hello")
    assert predicted["predicted_text"] == "ohlol" and len(predicted["positions"]) == 5
    assert all(p[0]["class"] in "ehlo" and 0 <= p[0]["probability"] <= 1 for p in predicted["positions"])
    assert cli("predict", payload["run_id"], "hello").stdout.strip() == "hello -> ohlol"
    assert len(cli.json("predict", payload["run_id"], "lol")["predicted_text"]) == 3  # any length, its characters
    ranked = cli("predict", payload["run_id"], "hello", "--top", "2").stdout.splitlines()  # --top: each position
    assert ranked[0] == "hello -> ohlol" and len(ranked) == 6 and ranked[1].startswith("  1: o ")
    assert all(line.count("%") == 2 for line in ranked[1:]), ranked


@pytest.mark.parametrize(
    "text,problem",
    [
        ("0,1,2,2,3", "has characters it never saw: ',', '0', '1', '2', '3'"),
        ("hellx", "has characters it never saw: 'x'"),
        ("HELLO", "never saw"),
        ("", "is empty"),
    ],
)
def test_predict_on_a_character_model_refuses_other_characters(cli, text, problem):
    run_id = cli.json("train", CONFIGS / "rnn_hello.yaml", "train.epochs=2")["run_id"]
    refused = cli("predict", run_id, "--", text)
    assert refused.exit_code == 2 and problem in refused.stderr, refused.stderr
    assert "reads text made of the characters 'ehlo' (e.g. 'hello'" in refused.stderr
    as_json = cli("predict", run_id, "--json", "--", text)
    assert as_json.exit_code == 2 and json.loads(as_json.stdout)["ok"] is False


def test_names_are_shipped_and_encoded():
    splits = registry.DATASETS.build("names", {})
    assert len(splits.class_names) == 18 and splits.class_names[0] == "Arabic"
    assert splits.train.inputs.shape[0] == 20074 and splits.train.inputs.dtype == torch.long
    from learnai_cli.data.sequences import encode_name

    assert encode_name("Núñez") == encode_name("Nunez") and encode_name("日本") == []


def test_names_gru_classifies_and_predicts(cli, caplog):
    payload = cli.json("train", CONFIGS / "names_gru.yaml", "train.epochs=2", "model.hidden=32")
    assert payload["final"]["val_accuracy"] > 0.6
    report = cli.json("eval", payload["run_id"])
    assert len(report["per_class_accuracy"]) == 18 and "Japanese" in report["per_class_accuracy"]
    assert any(p.endswith("confusion_matrix_test-best.png") for p in report["plots"])
    predicted = cli.json("predict", payload["run_id"], "Nakamura")
    assert len(predicted["top"]) == 3 and predicted["top"][0]["class"] == "Japanese"
    assert sum(p["probability"] for p in predicted["top"]) <= 1.0001
    shown = cli("predict", payload["run_id"], "Nakamura").stdout
    assert shown.startswith("1. Japanese")
    dropped = cli("predict", payload["run_id"], "Naka_mura2")
    assert dropped.exit_code == 0
    assert "predicting for 'Nakamura': the model has no letter for '2', '_'" in caplog.text
    caplog.clear()
    assert cli("predict", payload["run_id"], "Núñez").exit_code == 0
    assert "no letter" not in caplog.text  # accents fold as in training
    for no_name in ("   ", "1,2", "-'.", "日本"):
        refused = cli("predict", payload["run_id"], "--", no_name)
        assert refused.exit_code == 2 and "has no letters this model knows" in refused.stderr, refused.stderr


def test_collate_pads_each_batch_to_its_own_longest(cli):
    from learnai_cli.engine.batches import make_batches

    splits = registry.DATASETS.build("names_variable_length", {})
    batches = make_batches(splits.train, 4, False, torch.device("cpu"), seed=0, collate_fn=splits.collate_fn)
    widths = [inputs.shape[1] for inputs, _ in list(batches.iterate())[:50]]
    assert len(set(widths)) > 1  # two batches, two different padded lengths
    first_inputs, _ = next(iter(batches))
    assert first_inputs.shape[1] == max(len(splits.train[i][0]) for i in range(4))
    payload = cli.json("train", CONFIGS / "bilstm_padding.yaml", "train.epochs=1")
    assert payload["final"]["val_accuracy"] > 0.4


def test_predict_errors(cli):
    payload = cli.json("train", CONFIGS / "diabetes.yaml", "train.epochs=2")
    assert cli("predict", payload["run_id"], "1,2").stderr.startswith("error: this model takes 8")
    import json

    row = json.loads(cli("predict", payload["run_id"], "--json", "--", "-0.3,0.5,0.2,-0.3,0,0.0,-0.5,0.0").stdout)
    assert [t["class"] for t in row["top"]] in (["no diabetes", "diabetes"], ["diabetes", "no diabetes"])
    regression = cli.json("train", CONFIGS / "linear_regression.yaml", "train.epochs=1")["run_id"]
    for runs, text in (
        (payload["run_id"], "nan,0,0,0,0,0,0,0"),
        (regression, "nan"),
        (regression, "inf"),
        (regression, "-inf"),
    ):
        refused = cli("predict", runs, "--", text)
        assert refused.exit_code == 2 and "is not a finite number" in refused.stderr, refused.stderr
    assert cli("predict", regression, "abc").stderr.startswith("error: feature x1: 'abc' is not a number")


def test_predict_an_image_file(cli, mnist_root, tmp_path):
    import numpy as np
    from PIL import Image

    from tests.conftest import CONFIGS as configs

    payload = cli.json("train", configs / "mnist_cnn.yaml", f"data.root={mnist_root}", "data.val_split=20")
    digit = tmp_path / "digit.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40), dtype=np.uint8)).save(digit)
    top = cli.json("predict", payload["run_id"], str(digit))["top"]
    assert len(top) == 3 and top[0]["class"].split(" - ")[0].isdigit()
    assert "is not a file" in cli("predict", payload["run_id"], str(tmp_path / "missing.png")).stderr


def test_predict_on_a_polynomial_fit_takes_x_and_makes_its_powers(cli):
    """The model reads [x, x^2]; the user gives x (a pair could disagree with itself: 2,9 is no x, x^2)."""
    run_id = cli.json("train", CONFIGS / "polynomial_regression.yaml", "train.epochs=30")["run_id"]
    predicted = cli.json("predict", run_id, "0.5")["prediction"][0]
    assert predicted == pytest.approx(1 + 2 * 0.5 + 3 * 0.25, abs=0.3)  # y = 1 + 2x + 3x^2
    refused = cli("predict", run_id, "0.5,0.25")
    assert refused.exit_code == 2 and "this model takes one number (x); got 2" in refused.stderr
