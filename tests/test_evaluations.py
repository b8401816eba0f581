"""One evaluation result per split and checkpoint: evaluating another never replaces one; runs and show report them."""

from __future__ import annotations

import json

from tests.conftest import CONFIGS


def test_each_split_and_checkpoint_keeps_its_own_result_and_confusion_matrix(cli, runs_dir):
    trained = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=30", "optimizer.lr=0.1")
    run = runs_dir / trained["run_id"]
    test = cli.json("eval", "latest")
    train = cli.json("eval", "latest", "--split", "train")
    val_last = cli.json("eval", "latest", "--split", "val", "--checkpoint", "last")
    results = {p.name: json.loads(p.read_text()) for p in (run / "eval").glob("*.json")}
    assert set(results) == {"test-best.json", "train-best.json", "val-last.json"}
    assert results["test-best.json"]["metrics"] == test["metrics"]  # not replaced by the later evaluations
    assert results["train-best.json"]["metrics"] == train["metrics"]
    assert results["val-last.json"]["metrics"] == val_last["metrics"]
    plots = {p.name for p in (run / "plots").glob("confusion_matrix*.png")}
    assert plots == {
        "confusion_matrix_test-best.png",
        "confusion_matrix_train-best.png",
        "confusion_matrix_val-last.png",
    }

    (row,) = cli.json("runs")["runs"]
    assert row["test"] == test["metrics"]  # the test result of the best checkpoint, once it exists
    shown = cli.json("show", "latest")
    assert {(e["split"], e["checkpoint"].rsplit("/", 1)[-1]) for e in shown["evaluations"]} == {
        ("test", "best.pt"),
        ("train", "best.pt"),
        ("val", "last.pt"),
    }
    assert "accuracy" in cli("runs").stdout.split("test", 1)[1]  # the table's test column


def test_a_run_never_evaluated_has_no_test_result(cli):
    cli.json("train", CONFIGS / "linear_regression.yaml", "train.epochs=2")
    assert cli.json("runs")["runs"][0]["test"] is None
