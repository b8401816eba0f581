"""Optimizers and schedulers by name: each trains or changes the rate; the hand-written SGD equals torch's; fused kernels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.conftest import CONFIGS

TOY = CONFIGS / "toy_classes.yaml"
LINEAR = CONFIGS / "linear_regression.yaml"


def epoch_records(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == "epoch"]


@pytest.mark.parametrize(
    "scheduler",
    [
        ["scheduler.name=step", "scheduler.step_size=1", "scheduler.gamma=0.5"],
        ["scheduler.name=cosine"],
        ["scheduler.name=onecycle", "scheduler.max_lr=0.1"],
        ["scheduler.name=reduce_on_plateau", "scheduler.patience=0", "scheduler.threshold=1.0"],
    ],
)
def test_each_scheduler_changes_the_learning_rate(cli, scheduler):
    payload = cli.json("train", LINEAR, "train.epochs=3", "data.n=400", *scheduler)
    assert payload["status"] == "completed"
    records = epoch_records(Path(payload["run_dir"]))
    assert len({r["lr"] for r in records}) > 1


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "manual_sgd"])
def test_each_optimizer_trains(cli, optimizer):
    payload = cli.json("train", TOY, "train.epochs=5", f"optimizer.name={optimizer}", "optimizer.lr=0.1")
    assert payload["status"] == "completed"


def test_manual_sgd_matches_torch_sgd_exactly(cli):
    manual = cli.json("train", TOY, "train.epochs=50", "optimizer.name=manual_sgd", "optimizer.lr=0.1")
    automatic = cli.json("train", TOY, "train.epochs=50", "optimizer.name=sgd", "optimizer.lr=0.1")
    losses = [[r["train_loss"] for r in epoch_records(Path(p["run_dir"]))] for p in (manual, automatic)]
    assert losses[0] == pytest.approx(losses[1], abs=1e-6)


def test_fused_optimizers_are_the_default_where_torch_has_them():
    from learnai_cli import registry

    params = [torch.nn.Parameter(torch.zeros(3))]
    assert registry.OPTIMIZERS.build("adam", {}, params=params).defaults["fused"] is True
    assert not registry.OPTIMIZERS.build("adam", {"fused": False}, params=params).defaults["fused"]


@pytest.mark.parametrize(
    "name,kwargs,argument",
    [
        ("adam", {"lr": -0.1}, "lr"),
        ("adam", {"lr": float("nan")}, "lr"),
        ("adam", {"lr": float("inf")}, "lr"),
        ("adam", {"betas": [0.9, 1.0]}, "betas.1"),
        ("sgd", {"momentum": -0.5}, "momentum"),
        ("adadelta", {"rho": 1.5}, "rho"),
    ],
)
def test_values_torch_rejects_are_refused_by_the_signature(name, kwargs, argument):
    from learnai_cli import registry

    _, problems = registry.OPTIMIZERS.check(name, kwargs)
    assert problems and problems[0][0] == argument


@pytest.mark.parametrize(
    "name,kwargs,argument",
    [("reduce_on_plateau", {"factor": 1.0}, "factor"), ("step", {"step_size": 0}, "step_size")],
)
def test_scheduler_bounds(name, kwargs, argument):
    from learnai_cli import registry

    _, problems = registry.SCHEDULERS.check(name, kwargs)
    assert problems and problems[0][0] == argument


def test_nesterov_without_momentum_blames_nesterov():
    from learnai_cli import registry

    with pytest.raises(registry.BuildFailed) as caught:
        registry.OPTIMIZERS.build("sgd", {"nesterov": True}, params=[torch.nn.Parameter(torch.zeros(1))])
    assert caught.value.argument == "nesterov" and "momentum > 0" in caught.value.message
