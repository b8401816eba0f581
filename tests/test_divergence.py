"""Every message a diverged run produces reads true and agrees with the others (issue 12): the last finite loss is
the one seen (never 'none' after a finite first loss), and no command suggests a checkpoint that does not exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import CONFIGS

GENERALFIT = CONFIGS / "generalfit.yaml"


@pytest.fixture
def diverged(cli) -> tuple[object, Path]:
    """generalfit at lr 10 explodes inside its first epoch, before any checkpoint or metrics line."""
    result = cli("train", GENERALFIT, "optimizer.lr=10", "train.epochs=2")
    assert result.exit_code == 1
    return result, next(cli.runs_dir.iterdir())


def first_loss(message: str) -> str:
    return re.search(r"its first value (\S+),", message).group(1)


def test_train_and_meta_name_the_finite_first_loss_as_the_last_finite_one(diverged):
    result, run_dir = diverged
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "diverged" and meta["message"] in result.stderr
    for message in (result.stderr, meta["message"]):
        assert "last finite loss: none" not in message and "no finite loss" not in message
        assert f"last finite loss: {first_loss(message)})" in message
    assert "No checkpoint was written before it" in result.stderr
    assert not list((run_dir / "checkpoints").glob("*.pt"))


def test_show_and_runs_carry_the_same_message(cli, diverged):
    _, run_dir = diverged
    message = json.loads((run_dir / "meta.json").read_text())["message"]
    assert message in " ".join(cli("show", run_dir.name).stdout.split())
    assert [r["status"] for r in cli.json("runs")["runs"]] == ["diverged"]


@pytest.mark.parametrize("command", [["eval"], ["eval", "--checkpoint", "last"], ["predict", "--", "0.5"]])
def test_eval_and_predict_suggest_no_checkpoint_that_does_not_exist(cli, diverged, command):
    _, run_dir = diverged
    verb, *rest = command
    result = cli(verb, run_dir.name, *rest)
    assert result.exit_code == 2
    assert "--checkpoint" not in result.stderr  # no checkpoint exists to suggest
    assert "no best.pt" in result.stderr and "no last.pt" in result.stderr and "diverged" in result.stderr


def test_eval_suggests_the_checkpoint_that_exists(cli, diverged):
    _, run_dir = diverged
    (run_dir / "checkpoints" / "last.pt").write_bytes(b"")  # as if a checkpoint had been written before diverging
    result = cli("eval", run_dir.name, "--checkpoint", "best")
    assert result.exit_code == 2 and "no best.pt" in result.stderr and "try --checkpoint last" in result.stderr


def test_plot_says_the_run_recorded_no_metrics_rather_than_not_yet(cli, diverged):
    _, run_dir = diverged
    result = cli("plot", run_dir.name)
    assert result.exit_code == 2
    assert "yet" not in result.stderr and "recorded no metrics" in result.stderr and "diverged" in result.stderr


def test_a_run_that_diverges_after_logging_names_that_loss_and_the_checkpoint_left(cli):
    result = cli(
        "train",
        GENERALFIT,
        "optimizer.lr=10",
        "train.epochs=3",
        "train.log_every_steps=1",
        "train.divergence_factor=1e12",
    )
    run_dir = next(cli.runs_dir.iterdir())
    meta = json.loads((run_dir / "meta.json").read_text())
    if meta["status"] != "diverged":
        pytest.skip("did not diverge under this factor")
    assert result.exit_code == 1 and "last finite loss: none" not in result.stderr
    steps = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    logged = [r["train_loss"] for r in steps if r.get("train_loss") is not None]
    assert logged and f"last finite loss: {logged[-1]:.3g})" in meta["message"]


def test_an_explicit_max_lr_is_the_setting_the_divergence_hint_names(cli):
    result = cli(
        "train",
        GENERALFIT,
        "train.epochs=2",
        "scheduler.name=onecycle",
        "scheduler.max_lr=100",
        "scheduler.pct_start=0.1",
        "scheduler.div_factor=1",
    )
    assert result.exit_code == 1 and "lower scheduler.max_lr" in result.stderr


# One step over all 800 training points at a huge rate: the loss before the step is finite, the weights after it are
# not, so only validation sees the explosion (as in the last step of a run).
LAST_STEP_EXPLODES = ["optimizer.name=sgd", "optimizer.lr=1e36", "train.batch_size=1000"]


@pytest.mark.parametrize(
    "extra",
    [
        ["train.epochs=1"],
        ["train.epochs=3", "train.monitor=val_mae"],
        ["train.epochs=1", "data.n=50", "train.loggers=[csv]"],
        ["train.epochs=1", "optimizer.lr=1e30", "model.activation=tanh"],
    ],
)
def test_a_non_finite_validation_ends_the_run_as_diverged_even_in_the_last_epoch(cli, runs_dir, extra):
    result = cli("train", GENERALFIT, *LAST_STEP_EXPLODES, *extra, "--json")
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    assert "diverged" in payload["error"] and "the validation loss became" in payload["error"]
    assert "lower optimizer.lr" in payload["error"]
    run_dir = next(runs_dir.iterdir())
    assert payload["run_id"] == run_dir.name and payload["run_dir"] == str(run_dir), payload
    assert payload["status"] == "diverged" and payload["ok"] is False and payload["exit_code"] == 1
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "diverged" and meta["message"] in payload["error"]
    assert not (run_dir / "checkpoints" / "best.pt").exists()
    assert [r["status"] for r in cli.json("runs")["runs"]] == ["diverged"]


def test_a_trial_whose_validation_explodes_is_a_diverged_trial(cli):
    arguments = [*LAST_STEP_EXPLODES, "train.epochs=1", "optimizer.momentum=choice(0.0, 0.5)", "--trials", "2"]
    result = cli.json("tune", GENERALFIT, *arguments, "--study", "explodes")
    assert [t["status"] for t in result["trials"]] == ["diverged", "diverged"], result
    assert "never measured" not in json.dumps(result)


@pytest.mark.parametrize(
    "extra",
    [
        ["train.epochs=2", "train.val_every_epochs=2"],  # the epoch's end has no validation to see the weights
        ["train.epochs=1", "train.checkpoint_every_steps=1", "data.n=2000"],  # a checkpoint in the middle of an epoch
    ],
)
def test_weights_that_became_nan_are_never_checkpointed_as_the_last_finite_ones(cli, runs_dir, extra):
    # at a rate past float32's range the first step's update is inf: the weights are NaN/inf, the loss before it not
    result = cli("train", GENERALFIT, "optimizer.name=sgd", "optimizer.lr=1e300", "train.batch_size=1000", *extra)
    assert result.exit_code == 1, result.output
    message = " ".join(result.stderr.split())
    assert "the weights became NaN/inf in the last steps at epoch 1, step 1" in message
    assert "No checkpoint was written before it" in message and "last finite weights" not in message
    run_dir = next(runs_dir.iterdir())
    assert not list((run_dir / "checkpoints").glob("*.pt"))
    assert json.loads((run_dir / "meta.json").read_text())["status"] == "diverged"
