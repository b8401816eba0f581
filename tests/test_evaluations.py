"""One evaluation result per split and checkpoint: evaluating another never replaces one; runs and show report them."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import CONFIGS, REPO

EVAL_THEN_CHECK_IMPORTS = (
    "import sys\nfrom learnai_cli.cli import main\nsys.argv = ['learnai', *sys.argv[1:]]\n"
    "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code, done.code\n"
    "print('matplotlib imported:', 'matplotlib' in sys.modules, file=sys.stderr)\n"
)


def test_each_split_and_checkpoint_keeps_its_own_result_and_confusion_matrix(cli, runs_dir):
    trained = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=30", "optimizer.lr=0.1")
    run = runs_dir / trained["run_id"]
    loss_plot = (run / "plots" / "loss.png").stat().st_mtime_ns
    test = cli.json("eval", "latest")
    assert test["plots"] == [  # only what this eval drew
        str(run / "plots" / "confusion_matrix_test-best.png"),
        str(run / "plots" / "highest_loss_test-best.png"),
    ]
    assert (run / "plots" / "loss.png").stat().st_mtime_ns == loss_plot
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


def test_evaluating_a_regression_draws_nothing_and_imports_no_matplotlib(cli, runs_dir):
    assert cli("train", CONFIGS / "linear_regression.yaml", "train.epochs=2").exit_code == 0
    arguments = ["eval", "latest", "--runs-dir", str(runs_dir), "--json"]
    done = subprocess.run(
        [sys.executable, "-c", EVAL_THEN_CHECK_IMPORTS, *arguments], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["plots"] == []
    assert done.stderr.strip().splitlines()[-1] == "matplotlib imported: False"
