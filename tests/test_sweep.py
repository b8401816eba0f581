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


def test_an_interrupted_sweep_says_what_it_kept_and_how_to_train_the_rest(cli, runs_dir, monkeypatch):
    import shlex

    from learnai_cli.engine import trainer

    original, calls = trainer.Trainer.validate, {"fits": 0}
    fit = trainer.Trainer.fit

    def count_fits(self):
        calls["fits"] += 1
        return fit(self)

    def stop_in_the_second_point(self):
        if calls["fits"] == 2 and self.state.epoch == 2:
            self.stop_signal = "SIGINT"
        return original(self)

    monkeypatch.setattr(trainer.Trainer, "fit", count_fits)
    monkeypatch.setattr(trainer.Trainer, "validate", stop_in_the_second_point)
    axes = ["optimizer.lr=0.01,0.02,0.03,0.04", "train.epochs=5"]
    result = cli("sweep", CONFIGS / "toy_classes.yaml", *axes)
    assert result.exit_code == 130, result.stderr
    said = result.stderr
    assert "interrupted at point 2 of 4 (optimizer.lr=0.02 train.epochs=5)" in said, said
    continue_line = next(line for line in said.splitlines() if "continue that point with: " in line)
    resume = shlex.split(continue_line.split("continue that point with: ")[1])
    assert resume[:3] == ["learnai", "train", "--resume"]
    assert "2 point(s) not trained" in said and "optimizer.lr=0.04 train.epochs=5" in said
    (sweep,) = [p for p in runs_dir.iterdir() if p.name.startswith("sweep_")]
    with open(sweep / "summary.csv") as handle:
        assert [row["status"] for row in csv.DictReader(handle)] == ["completed", "interrupted"]
