"""Benchmark 4: how long commands take to start: --help, list, and runs over 500 run directories; the fixed cost
of the commands that import torch (train, eval, predict, config, export of a small run) over `import torch` itself;
bench/vision_startup.py does the same for a vision run."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import user_environment


def make_runs(root: Path, count: int) -> None:
    """Run directories as training leaves them (meta.json, metrics.jsonl), without training."""
    for index in range(count):
        run = root / f"2026-01-01_00-{index // 60 % 60:02d}-{index % 60:02d}_run{index}"
        (run / "checkpoints").mkdir(parents=True)
        meta = {
            "name": f"run{index}",
            "status": "completed",
            "epochs_completed": 3,
            "duration_s": 1.5,
            "started": "2026-01-01T00:00:00",
            "best": {"metric": "val_loss", "value": 0.1},
        }
        (run / "meta.json").write_text(json.dumps(meta))
        (run / "metrics.jsonl").write_text(
            "".join(json.dumps({"type": "epoch", "epoch": e, "train_loss": 1.0 / e}) + "\n" for e in (1, 2, 3))
        )


def timed(arguments: list[str], repeats: int, warm_up: bool = True) -> float:
    """Median wall-clock seconds of `python -m learnai_cli ARGS` (a fresh interpreter each time, as a shell runs it),
    after one untimed run unless `warm_up` is false (the tiny size: its figures only show that the command runs)."""
    command, environment = [sys.executable, "-m", "learnai_cli", *arguments], user_environment()
    if warm_up:
        subprocess.run(command, check=True, capture_output=True, env=environment)  # bytecode caches written
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=environment)
        seconds.append(time.perf_counter() - started)
    return round(statistics.median(seconds), 3)


REPO = Path(__file__).resolve().parents[1]
SMALL_CONFIG = "configs/linear_regression.yaml"


def run(size: str, real_mnist: Path | None = None) -> dict[str, Any]:
    repeats, count, full = (5, 500, True) if size == "full" else (1, 20, False)
    with tempfile.TemporaryDirectory() as root:
        make_runs(Path(root), count)
        return {
            "repeats": repeats,
            "median_seconds": {
                "learnai --help": timed(["--help"], repeats, warm_up=full),
                "learnai list": timed(["list"], repeats, warm_up=full),
                f"learnai runs ({count} runs)": timed(["runs", "--runs-dir", root], repeats, warm_up=full),
                "python -c 'import torch' (for scale)": import_torch_seconds(repeats),
            },
            "fixed_cost": fixed_costs(repeats, full=full),
            "load_average": [round(load, 2) for load in os.getloadavg()],
        }


def fixed_costs(repeats: int, full: bool) -> dict[str, Any]:
    """Wall seconds of the torch commands on a small run (linear regression), and the training time inside train."""
    config = str(REPO / SMALL_CONFIG)
    with tempfile.TemporaryDirectory() as root:
        runs = ["--runs-dir", root]
        train = ["train", config, *runs, "--no-progress"]
        seconds = {f"learnai train {SMALL_CONFIG}": timed(train, repeats, warm_up=full)}
        meta = json.loads(next(Path(root).glob("20*/meta.json")).read_text())  # any of them: the same training
        commands = {"eval": ["eval", "latest", *runs], "predict": ["predict", "latest", "1.5", *runs]}
        if full:
            commands["config"] = ["config", config]
            commands["export"] = ["export", "latest", "--format", "state_dict", *runs]
        seconds.update({f"learnai {name}": timed(each, repeats, warm_up=full) for name, each in commands.items()})
    return {
        "import_torch": import_torch_seconds(repeats),
        "training_seconds": meta["duration_s"],
        "median_seconds": seconds,
    }


def import_torch_seconds(repeats: int) -> float:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True, env=user_environment())
        seconds.append(time.perf_counter() - started)
    return round(statistics.median(seconds), 3)
