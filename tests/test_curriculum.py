"""The curriculum's experiments show what the curriculum says they show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CONFIGS


def train_losses(run_dir: str) -> list[float]:
    lines = (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
    return [r["train_loss"] for r in map(json.loads, lines) if r["type"] == "epoch"]


def test_manual_updates_equal_autograd_optimizer(cli):
    """Version A (log_softmax + NLL, p -= lr * grad by hand) and B (CrossEntropy + optim.SGD): same losses."""
    manual = cli.json("train", CONFIGS / "toy_manual_vs_autograd.yaml", "train.epochs=300")
    automatic = cli.json(
        "train",
        CONFIGS / "toy_manual_vs_autograd.yaml",
        "train.epochs=300",
        "optimizer.name=sgd",
        "loss.name=cross_entropy",
        "model.output_activation=none",
    )
    assert train_losses(manual["run_dir"]) == pytest.approx(train_losses(automatic["run_dir"]), abs=1e-6)


def test_polynomial_regression_recovers_the_coefficients(cli):
    payload = cli.json("train", CONFIGS / "polynomial_regression.yaml", "train.epochs=40")
    report = cli.json("eval", payload["run_id"])
    assert report["parameters"]["linear.weight"] == pytest.approx([2.0, 3.0], abs=0.1)
    assert report["parameters"]["linear.bias"] == pytest.approx([1.0], abs=0.1)
    assert report["true_polynomial"] == "y = 1.000 + 2.000x + 3.000x²"


def test_poly4_stops_when_the_loss_is_small_and_eval_prints_both_polynomials(cli):
    payload = cli.json("train", CONFIGS / "poly4_smooth_l1.yaml")
    assert payload["message"].startswith("stop_when: train_loss") and payload["final"]["step"] < 5000
    shown = cli("eval", payload["run_id"]).stdout
    assert "learned: y = " in shown and "true:    y = " in shown and "x⁴" in shown


def test_logistic_regression_separates_pass_from_fail(cli):
    payload = cli.json("train", CONFIGS / "logistic_regression.yaml")
    assert payload["final"]["val_accuracy"] >= 0.8
    report = cli.json("eval", payload["run_id"])
    assert report["class_names"] == ["failed", "passed"] and report["metrics"]["accuracy"] >= 0.8


def test_stop_when_validation(cli):
    result = cli("config", CONFIGS / "poly4_smooth_l1.yaml", "train.stop_when.metric=val_acc")
    assert result.exit_code == 2 and "train.stop_when.metric: 'val_acc' is not recorded" in result.stderr
    result = cli("config", CONFIGS / "poly4_smooth_l1.yaml", "train.stop_when.above=3")
    assert result.exit_code == 2 and "exactly one of below or above" in result.stderr
