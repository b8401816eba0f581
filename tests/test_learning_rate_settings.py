"""optimizer.lr is the one learning-rate setting: schedulers start from (onecycle: peak at) it, an override moves the
rate, and a scheduler setting that would override or contradict it is refused or warned about (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CONFIGS

LINEAR = CONFIGS / "linear_regression.yaml"
SMALL = ["train.epochs=4", "data.n=400"]


def lrs(payload: dict) -> list[float]:
    lines = (Path(payload["run_dir"]) / "metrics.jsonl").read_text().splitlines()
    return [r["lr"] for r in map(json.loads, lines) if "lr" in r]


def peak(cli, *overrides: str) -> float:
    payload = cli.json("train", LINEAR, *SMALL, "scheduler.name=onecycle", "scheduler.pct_start=0.5", *overrides)
    assert payload["status"] == "completed"
    return max(lrs(payload))


def test_onecycle_peaks_at_the_optimizers_lr_and_an_override_moves_it(cli):
    low, high = peak(cli, "optimizer.lr=0.002"), peak(cli, "optimizer.lr=0.02")
    assert low <= 0.002 * (1 + 1e-6) and high <= 0.02 * (1 + 1e-6)
    assert high == pytest.approx(10 * low, rel=1e-6)


@pytest.mark.parametrize("config", ["mnist_cnn", "fashion_mnist_cnn", "mnist_mlp"])
def test_shipped_onecycle_configs_leave_the_peak_to_optimizer_lr(config):
    text = (CONFIGS / f"{config}.yaml").read_text()
    assert "max_lr" not in text


def test_an_explicit_max_lr_that_differs_from_optimizer_lr_warns_naming_both(cli, caplog):
    with caplog.at_level("WARNING", logger="learnai"):
        explicit = peak(cli, "optimizer.lr=0.002", "scheduler.max_lr=0.03")
    assert explicit == pytest.approx(peak(cli, "optimizer.lr=0.03"), rel=1e-6)  # max_lr set the peak, as warned
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert "scheduler.max_lr" in warned and "optimizer.lr" in warned


def test_a_max_lr_equal_to_optimizer_lr_does_not_warn(cli, caplog):
    with caplog.at_level("WARNING", logger="learnai"):
        peak(cli, "optimizer.lr=0.02", "scheduler.max_lr=0.02")
    assert not [r for r in caplog.records if "max_lr" in r.getMessage()]


@pytest.mark.parametrize("scheduler", [["scheduler.name=step", "scheduler.step_size=2"], ["scheduler.name=cosine"]])
def test_other_schedulers_follow_the_optimizers_lr(cli, scheduler):
    low = lrs(cli.json("train", LINEAR, *SMALL, "optimizer.lr=0.002", *scheduler))
    high = lrs(cli.json("train", LINEAR, *SMALL, "optimizer.lr=0.02", *scheduler))
    assert high == pytest.approx([10 * lr for lr in low], rel=1e-6) and max(low) <= 0.002 * (1 + 1e-6)


@pytest.mark.parametrize("scheduler", ["cosine", "reduce_on_plateau"])
def test_a_min_lr_above_optimizer_lr_is_a_config_error(cli, scheduler):
    result = cli("train", LINEAR, *SMALL, "optimizer.lr=0.01", f"scheduler.name={scheduler}", "scheduler.min_lr=0.1")
    assert result.exit_code == 2
    assert "min_lr" in result.output and "optimizer.lr" in result.output


def test_onecycle_never_switches_momentum_on_for_sgd_without_it(cli):
    payload = cli.json("train", LINEAR, *SMALL, "optimizer.name=sgd", "optimizer.lr=0.01", "scheduler.name=onecycle")
    assert payload["status"] == "completed"
    import torch

    from learnai_cli import registry

    optimizer = registry.OPTIMIZERS.build("sgd", {"lr": 0.01}, params=[torch.nn.Parameter(torch.zeros(2))])
    registry.SCHEDULERS.build("onecycle", {}, optimizer=optimizer, epochs=1, steps_per_epoch=10, mode="min")
    assert optimizer.param_groups[0]["momentum"] == 0


def test_a_test_split_for_a_dataset_with_its_own_test_set_warns_that_it_is_unused(cli, mnist_root, caplog):
    common = [f"data.root={mnist_root}", "train.epochs=1", "train.precision=fp32", "data.val_split=20"]
    with caplog.at_level("WARNING", logger="learnai"):
        cli.json("train", CONFIGS / "mnist_mlp.yaml", *common)
        assert not [r for r in caplog.records if "test_split" in r.getMessage()]
        cli.json("train", CONFIGS / "mnist_mlp.yaml", *common, "data.test_split=0.3")
    warned = [r.getMessage() for r in caplog.records if "data.test_split" in r.getMessage()]
    assert warned and "not used" in warned[0] and "mnist" in warned[0]
