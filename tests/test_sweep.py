"""learnai sweep: a grid of normal runs, a ranked summary, diverged points marked."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from learnai_cli.commands.sweep import parse_axis, points
from tests.conftest import CONFIGS


def test_axes_and_points():
    assert parse_axis("optimizer.lr=0.01,0.1") == ("optimizer.lr", ["0.01", "0.1"])
    assert parse_axis("model.hidden=[8,8],[16]") == ("model.hidden", ["[8,8]", "[16]"])
    assert points([("a", ["1", "2"]), ("b", ["x"])]) == [["a=1", "b=x"], ["a=2", "b=x"]]


def test_learning_rate_sweep(cli, runs_dir):
    result = cli.json("sweep", CONFIGS / "generalfit.yaml", "optimizer.lr=0.01,1,10", "train.epochs=15")
    rows = result["rows"]
    assert [r["optimizer.lr"] for r in rows] == ["0.01", "1", "10"]  # ranked by best val_loss, diverged last
    assert [r["status"] for r in rows] == ["completed", "completed", "diverged"]
    sweep_dir = Path(result["sweep_dir"])
    with open(sweep_dir / "summary.csv") as file:
        assert [row["status"] for row in csv.DictReader(file)] == ["completed", "completed", "diverged"]
    assert (sweep_dir / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    metas = [json.loads((runs_dir / r["run_id"] / "meta.json").read_text()) for r in rows]
    assert {m["sweep"] for m in metas} == {sweep_dir.name} and metas[2]["label"] == "optimizer.lr=10 train.epochs=15"
    assert len(cli.json("runs")["runs"]) == 3  # the sweep folder is not a run


def test_sweep_checks_every_point_before_training(cli, runs_dir):
    result = cli("sweep", CONFIGS / "generalfit.yaml", "optimizer.lr=0.01,abc")
    assert result.exit_code == 2 and "optimizer.lr" in result.stderr and not runs_dir.exists()
    assert "must look like" in cli("sweep", CONFIGS / "generalfit.yaml", "optimizer.lr").stderr


def test_a_key_given_twice_is_refused_before_any_run(cli, runs_dir):
    for twice in (["optimizer.lr=0.01,0.1", "optimizer.lr=0.5"], ["train.epochs=1", "train.epochs=2,3"]):
        result = cli("sweep", CONFIGS / "generalfit.yaml", *twice)
        assert result.exit_code == 2 and "is given twice" in result.stderr, result.stderr
        assert twice[0].split("=")[0] in result.stderr and not runs_dir.exists()
