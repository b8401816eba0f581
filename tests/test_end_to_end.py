"""The whole flow through the real CLI: train -> run directory -> eval -> plot -> runs, with --json."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from learnai_cli.engine.checkpoint import FORMAT_VERSION
from tests.conftest import CONFIGS


def test_linear_regression_learns_weight_and_bias(cli, runs_dir):
    result = cli("train", CONFIGS / "linear_regression.yaml")
    assert result.exit_code == 0, result.output
    run = next(runs_dir.iterdir())
    for name in (
        "config.yaml",
        "meta.json",
        "metrics.jsonl",
        "metrics.csv",
        "train.log",
        "checkpoints/last.pt",
        "checkpoints/best.pt",
        "plots/loss.png",
    ):
        assert (run / name).is_file(), name

    meta = json.loads((run / "meta.json").read_text())
    assert meta["status"] == "completed"
    assert meta["epochs_completed"] == 30
    assert meta["versions"]["torch"] == torch.__version__
    assert meta["seed"] == 0 and meta["command"][:2] == ["learnai", "train"]

    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r["type"] == "epoch"]
    assert [r["epoch"] for r in epochs] == list(range(1, 31))
    assert {"train_loss", "val_loss", "val_mse", "val_mae", "lr", "epoch_time", "samples_per_s"} <= set(epochs[-1])
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"] / 10

    state = torch.load(run / "checkpoints" / "best.pt", weights_only=True)
    assert state["format_version"] == FORMAT_VERSION
    assert state["config"]["name"] == "linear_regression"
    assert state["model"]["linear.weight"].item() == pytest.approx(2.0, abs=0.05)
    assert state["model"]["linear.bias"].item() == pytest.approx(1.0, abs=0.05)

    report = cli.json("eval", "latest")
    assert report["ok"] and report["split"] == "test" and report["samples"] == 1000
    assert report["parameters"]["linear.weight"][0] == pytest.approx(2.0, abs=0.05)
    assert report["metrics"]["mse"] < 0.05
    assert json.loads((run / "eval" / "test-best.json").read_text())["metrics"] == report["metrics"]


def test_toy_classes_eval_plot_and_runs(cli, runs_dir):
    trained = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=200", "optimizer.lr=0.1")
    assert trained["ok"] and trained["status"] == "completed"
    assert trained["epochs"] == 200
    assert set(trained["checkpoints"]) == {"best", "last"}
    run_id = trained["run_id"]

    report = cli.json("eval", run_id[:14] + run_id[14:], "--checkpoint", "last", "--split", "val")
    assert report["split"] == "val" and report["checkpoint_epoch"] == 200
    assert report["metrics"]["accuracy"] >= 0.8
    assert len(report["confusion_matrix"]) == 3 and sum(map(sum, report["confusion_matrix"])) == 6

    plotted = cli.json("plot", run_id)
    assert sorted(p.split("/")[-1] for p in plotted["plots"]) == [
        "confusion_matrix_val-last.png",
        "health.png",
        "loss.png",
    ]
    for path in plotted["plots"]:
        with open(path, "rb") as png:
            assert png.read(8) == b"\x89PNG\r\n\x1a\n"

    listing = cli.json("runs")
    assert [r["id"] for r in listing["runs"]] == [run_id]
    assert listing["runs"][0]["status"] == "completed" and listing["runs"][0]["best_metric"] == "val_accuracy"
    table = cli("runs")
    assert run_id in table.stdout and "completed" in table.stdout


def test_json_output_is_one_object_and_nothing_else(cli):
    result = cli("train", CONFIGS / "toy_classes.yaml", "train.epochs=2", "--json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)  # raises if anything else was printed on stdout
    assert payload["run_id"] and payload["final"]["epoch"] == 2


def test_dry_run_trains_one_step_and_leaves_no_run(cli, runs_dir):
    result = cli.json("train", CONFIGS / "linear_regression.yaml", "--dry-run")
    assert result["dry_run"] and result["final"]["step"] == 1
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_train_via_python_dash_m(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "learnai_cli",
            "train",
            str(CONFIGS / "toy_classes.yaml"),
            "train.epochs=3",
            "--runs-dir",
            str(tmp_path),
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "completed"
    assert "epoch 3/3" in done.stderr  # plain progress lines when not on a terminal


def test_a_command_line_click_refuses_still_prints_one_json_object(tmp_path):
    """--json promises one object on stdout, also when the command line itself is wrong (Click's usage errors)."""
    for argv in (["eval", "--json", "--bogus"], ["train", "--json", "--resume"], ["runs", "--json", "--status"]):
        done = subprocess.run(
            [sys.executable, "-m", "learnai_cli", *argv], capture_output=True, text=True, cwd=tmp_path
        )
        assert done.returncode == 2, done.stderr
        assert json.loads(done.stdout) == {
            "ok": False,
            "exit_code": 2,
            "error": "invalid command line (the message is on stderr)",
        }
        assert "Traceback" not in done.stderr and done.stderr.strip()
