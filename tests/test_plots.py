"""learnai plot: --compare, --landscape, --animate (train.record_predictions)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import CONFIGS

PNG, GIF = b"\x89PNG\r\n\x1a\n", b"GIF8"


def test_record_predictions_and_animate(cli, runs_dir):
    payload = cli.json("train", CONFIGS / "generalfit.yaml", "train.record_predictions=true", "train.epochs=5")
    lines = (Path(payload["run_dir"]) / "predictions.jsonl").read_text().splitlines()
    header, epochs = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    assert header["type"] == "grid" and len(header["x"]) == 200
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4, 5] and len(epochs[0]["y"]) == 200
    written = cli.json("plot", payload["run_id"], "--animate")["plots"]
    names = {Path(p).name: Path(p) for p in written}
    assert names["fit.png"].read_bytes()[:8] == PNG and names["training.gif"].read_bytes()[:4] == GIF


def test_animate_without_predictions_is_a_clear_error(cli):
    payload = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=2")
    result = cli("plot", payload["run_id"], "--animate")
    assert result.exit_code == 2 and "train.record_predictions=true" in result.stderr


def test_record_predictions_needs_1d_regression(cli):
    result = cli("train", CONFIGS / "toy_classes.yaml", "train.record_predictions=true")
    assert result.exit_code == 2 and "needs 1-D regression data" in result.stderr


def test_compare_overlays_runs(cli, runs_dir):
    first = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=3")
    second = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=3", "optimizer.lr=0.5")
    written = cli.json("plot", first["run_id"], second["run_id"], "--compare")["plots"]
    assert written == [str(runs_dir / "comparison.png")] and Path(written[0]).read_bytes()[:8] == PNG


def test_landscape_of_the_curriculum_data_and_of_a_config(cli, tmp_path):
    default = cli.json("plot", "--landscape", "-o", str(tmp_path / "a.png"))["plots"][0]
    from_config = cli.json(
        "plot", "--landscape", str(CONFIGS / "linear_regression.yaml"), "-o", str(tmp_path / "b.png")
    )["plots"][0]
    assert Path(default).read_bytes()[:8] == PNG and Path(from_config).read_bytes()[:8] == PNG
    wrong = cli("plot", "--landscape", str(CONFIGS / "toy_classes.yaml"))
    assert wrong.exit_code == 2 and "needs 1-D regression data" in wrong.stderr
