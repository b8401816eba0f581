"""`learnai train --test`: a completed run's best.pt evaluated on the test split in the same process, exactly as
`learnai eval RUN` would; the run is kept whatever the evaluation says. Through the real CLI."""

from __future__ import annotations

import json

from learnai_cli.errors import UsageError
from tests.conftest import CONFIGS


def test_train_test_reports_what_eval_reports_and_writes_its_result(cli, runs_dir):
    payload = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=3", "--test")
    tested = payload["test"]
    assert tested["split"] == "test" and tested["checkpoint"].endswith("best.pt")
    assert tested["checkpoint_epoch"] == payload["best"]["epoch"]
    written = json.loads((runs_dir / payload["run_id"] / "eval" / "test-best.json").read_text())
    assert written["metrics"] == tested["metrics"]
    evaluated = cli.json("eval", payload["run_id"])
    assert evaluated["metrics"] == tested["metrics"] and evaluated["per_class"] == tested["per_class"]


def test_train_test_prints_the_eval_table_after_the_summary(cli):
    result = cli("train", CONFIGS / "linear_regression.yaml", "train.epochs=2", "--test")
    assert result.exit_code == 0, result.output
    summary, _, table = result.stdout.partition("test split")
    assert "completed" in summary and "baseline" in summary
    assert "loss" in table and "epoch" in table


def test_a_resumed_run_is_tested_too(cli):
    run_id = cli.json("train", CONFIGS / "linear_regression.yaml", "train.epochs=1")["run_id"]
    payload = cli.json("train", "--resume", run_id, "train.epochs=2", "--test")
    assert payload["run_id"] == run_id and payload["test"]["split"] == "test"


def test_test_with_dry_run_is_refused_before_anything_is_made(cli, runs_dir):
    result = cli("train", CONFIGS / "linear_regression.yaml", "--dry-run", "--test")
    assert result.exit_code == 2 and "a --dry-run keeps no run" in result.output
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_a_failed_evaluation_keeps_the_completed_run_and_says_so(cli, runs_dir, monkeypatch):
    """No shipped data lacks a test split (data.test_split must be at least 1): the evaluation's own refusal stands
    in for what could go wrong after training (a full disk, a split a plugin left empty)."""
    from learnai_cli.commands import evaluate

    def refuse(run, checkpoint, split):
        raise UsageError(f"run {run.id}: its data has no {split} split")

    monkeypatch.setattr(evaluate, "evaluate_run", refuse)
    result = cli("train", CONFIGS / "linear_regression.yaml", "train.epochs=1", "--test", "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert "completed and is kept, but --test could not evaluate it: run" in error["error"]
    assert "has no test split" in error["error"]
    assert error["status"] == "completed"
    assert json.loads((runs_dir / error["run_id"] / "meta.json").read_text())["status"] == "completed"
