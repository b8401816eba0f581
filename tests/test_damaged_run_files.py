"""Every reader of run files tolerates run files of the wrong shape (valid JSON, wrong types): plot, show, runs and
diff skip or show what is readable, name the damaged file, and never print a traceback (issue 26, family 13)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, Cli

EVAL = "eval/test-best.json"
DAMAGED = {
    EVAL: [
        '{"confusion_matrix": 5, "class_names": ["a", "b", "c"]}',
        '{"confusion_matrix": [[1, 2], [3]], "class_names": 3}',
        '{"confusion_matrix": [["a", "b"], [1, 2]], "class_names": ["a", "b"]}',
        '{"confusion_matrix": [[1, 2], [3, 4]], "class_names": ["a"]}',
        '{"confusion_matrix": {"a": 1}, "metrics": [1]}',
        '{"metrics": 5, "split": 3, "checkpoint": 4}',
        '{"metrics": {"accuracy": "high"}, "checkpoint": null, "split": [], "confusion_matrix": [[1]], '
        '"class_names": [null]}',
        "[]",
    ],
    "metrics.jsonl": [
        '{"type": "epoch", "epoch": 1, "train_loss": "x"}\n',
        '{"type": "epoch", "epoch": "one", "val_loss": [1], "step": "s"}\n',
        '{"type": 5}\n[1]\n',
        '{"type": "epoch", "epoch": 1, "train_loss": 1, "val_accuracy": null, "lr": "x", "seconds": []}\n',
    ],
    "meta.json": [
        '{"status": 5}',
        '{"final": {"val_loss": "x"}, "best_metric": "x", "best": {"epoch": "x"}}',
        '{"task": 5, "threads": "x", "tags": 3, "standardization": 4}',
    ],
}
CASES = [(name, text) for name, texts in DAMAGED.items() for text in texts]


@pytest.fixture(scope="module")
def healthy(tmp_path_factory) -> Path:
    """A runs root with one classifier run (trained, evaluated: a confusion matrix) and a regression run that
    recorded its predictions (for --animate)."""
    root = tmp_path_factory.mktemp("healthy")
    cli = Cli(root)
    run_id = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=2")["run_id"]
    assert cli("eval", run_id).exit_code == 0
    fit = cli.json("train", CONFIGS / "generalfit.yaml", "train.record_predictions=true", "train.epochs=3")
    assert fit["status"] == "completed"
    return root


def runs(healthy: Path, runs_dir: Path) -> tuple[str, str]:
    shutil.copytree(healthy, runs_dir)
    classifier = next(p.name for p in runs_dir.iterdir() if p.name.endswith("toy_classes"))
    regression = next(p.name for p in runs_dir.iterdir() if p.name.endswith("generalfit"))
    return classifier, regression


def assert_tolerated(result, damaged: str | None = None) -> None:
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2 and damaged:
        assert damaged in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name,text", CASES, ids=[f"{n}-{i}" for n, t in DAMAGED.items() for i in range(len(t))])
def test_readers_tolerate_a_run_file_of_the_wrong_shape(cli, healthy, runs_dir, name, text):
    run, other = runs(healthy, runs_dir)
    (runs_dir / run / name).write_text(text)
    for command in (
        ["plot", run],
        ["show", run],
        ["show", run, "--json"],
        ["runs"],
        ["runs", "--json"],
        ["diff", run, other],
        ["plot", run, other, "--compare"],
        ["plot", run, other, "--compare", "--metric", "val_loss"],
    ):
        assert_tolerated(cli(*command), Path(name).name)


def test_a_damaged_confusion_matrix_is_named_and_the_other_plots_are_drawn(cli, healthy, runs_dir, caplog):
    run, _ = runs(healthy, runs_dir)
    (runs_dir / run / EVAL).write_text('{"confusion_matrix": [[1, 2], [3]], "class_names": ["a", "b"]}')
    result = cli("plot", run)
    assert result.exit_code == 0, result.output
    assert "test-best.json is damaged (confusion_matrix is not square" in result.stderr + caplog.text
    assert "loss.png" in result.stdout and "confusion_matrix" not in result.stdout


PREDICTIONS = [
    '{"type": "grid", "x": 5}\n{"type": "epoch", "epoch": 1, "y": "q"}\n',
    '{"type": "grid", "x": [1, 2], "data_x": [1], "data_y": [1, 2]}\n',
    '{"type": "grid", "x": [1, 2], "data_x": [1], "data_y": [1]}\n{"type": "epoch", "epoch": "a", "y": [1, 2]}\n',
    '{"type": "grid", "x": [1, 2], "data_x": [1], "data_y": [1]}\n{"type": "epoch", "epoch": 1, "y": [1, 2, 3]}\n',
    "[1]\n",
]


@pytest.mark.parametrize("text", PREDICTIONS)
def test_animate_tolerates_damaged_predictions(cli, healthy, runs_dir, text):
    _, regression = runs(healthy, runs_dir)
    (runs_dir / regression / "predictions.jsonl").write_text(text)
    result = cli("plot", regression, "--animate")
    assert_tolerated(result)
    assert "loss.png" in result.stdout and "training.gif" not in result.stdout


def test_animate_leaves_out_only_the_damaged_epochs(cli, healthy, runs_dir, caplog):
    _, regression = runs(healthy, runs_dir)
    path = runs_dir / regression / "predictions.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:-1], '{"type": "epoch", "epoch": 9, "y": "damaged"}', lines[-1]]) + "\n")
    result = cli("plot", regression, "--animate")
    assert result.exit_code == 0 and "training.gif" in result.stdout
    assert "1 epoch record(s) are damaged" in result.stderr + caplog.text
