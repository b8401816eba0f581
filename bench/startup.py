"""Benchmark 4: how long commands take to start: --help, list, and runs over 500 run directories; the fixed cost
of the commands that import torch (train, eval, predict, config, export of a small run) over `import torch` itself;
and the same for a vision run (configs/mnist_cnn.yaml, 1 epoch on the 8,000 real digits where $LEARNAI_MNIST_T10K
names them, generated digits otherwise), with where its start-up goes phase by phase (bench/startup_phases.py)."""

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
from bench.real_digits import default_source, make_real_digits
from bench.startup_phases import phases


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


def timed(arguments: list[str], repeats: int) -> float:
    """Median wall-clock seconds of `python -m learnai_cli ARGS` (a fresh interpreter each time, as a shell runs it)."""
    command, environment = [sys.executable, "-m", "learnai_cli", *arguments], user_environment()
    subprocess.run(command, check=True, capture_output=True, env=environment)  # warm-up: bytecode caches written
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=environment)
        seconds.append(time.perf_counter() - started)
    return round(statistics.median(seconds), 3)


REPO = Path(__file__).resolve().parents[1]
SMALL_CONFIG = "configs/linear_regression.yaml"


def run(size: str, real_mnist: Path | None = None) -> dict[str, Any]:
    repeats, count = (5, 500) if size == "full" else (1, 20)
    with tempfile.TemporaryDirectory() as root:
        make_runs(Path(root), count)
        return {
            "repeats": repeats,
            "median_seconds": {
                "learnai --help": timed(["--help"], repeats),
                "learnai list": timed(["list"], repeats),
                f"learnai runs ({count} runs)": timed(["runs", "--runs-dir", root], repeats),
                "python -c 'import torch' (for scale)": _import_torch(repeats),
            },
            "fixed_cost": fixed_costs(repeats, full=size == "full"),
            "vision": vision_costs(repeats, size),
            "load_average": [round(load, 2) for load in os.getloadavg()],
        }


def fixed_costs(repeats: int, full: bool) -> dict[str, Any]:
    """Wall seconds of the torch commands on a small run (linear regression), and the training time inside train."""
    config = str(REPO / SMALL_CONFIG)
    with tempfile.TemporaryDirectory() as root:
        runs = ["--runs-dir", root]
        seconds = {f"learnai train {SMALL_CONFIG}": timed(["train", config, *runs, "--no-progress"], repeats)}
        meta = json.loads(next(Path(root).glob("20*/meta.json")).read_text())  # any of them: the same training
        commands = {"eval": ["eval", "latest", *runs], "predict": ["predict", "latest", "1.5", *runs]}
        if full:
            commands["config"] = ["config", config]
            commands["export"] = ["export", "latest", "--format", "state_dict", *runs]
        seconds.update({f"learnai {name}": timed(arguments, repeats) for name, arguments in commands.items()})
    return {"import_torch": _import_torch(repeats), "training_seconds": meta["duration_s"], "median_seconds": seconds}


def vision_costs(repeats: int, size: str) -> dict[str, Any]:
    """Wall seconds of train (1 epoch), eval, predict (one image) and export of an MNIST CNN run, the training time
    inside train, `import torch` beside them, and the train command's phases."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as work:
        root, data = _digits(Path(work), size)
        runs, image = ["--runs-dir", str(Path(work) / "runs")], Path(work) / "digit.png"
        Image.new("L", (28, 28), 0).save(image)
        train = ["train", str(REPO / "configs" / "mnist_cnn.yaml"), f"data.root={root}", "data.download=false"]
        train += ["data.val_split=1000" if size == "full" else "data.val_split=64", "train.epochs=1", "--no-progress"]
        seconds = {"learnai train configs/mnist_cnn.yaml train.epochs=1": timed([*train, *runs], repeats)}
        meta = json.loads(next((Path(work) / "runs").glob("20*/meta.json")).read_text())
        commands = {
            "eval": ["eval", "latest"],
            "predict": ["predict", "latest", str(image)],
            "export": ["export", "latest"],
        }
        seconds.update({f"learnai {name}": timed([*arguments, *runs], repeats) for name, arguments in commands.items()})
        steps = phases(root, repeats, ["data.val_split=64"] if size == "tiny" else [])
    return {
        "data": data,
        "import_torch": _import_torch(repeats),
        "training_seconds": meta["duration_s"],
        "median_seconds": seconds,
        "phases": steps,
    }


def _digits(work: Path, size: str) -> tuple[Path, str]:
    source = default_source()
    if source is not None and size == "full":
        return make_real_digits(work / "real", source), "the real MNIST t10k digits: first 8,000 train"
    import numpy as np

    from learnai_cli.data.idx import write_mnist_folder

    count = 8000 if size == "full" else 512
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (count + 2000, 28, 28), dtype=np.uint8), rng.integers(0, 10, count + 2000)
    write_mnist_folder(work / "random", images[:count], labels[:count], images[count:], labels[count:])
    return work / "random", f"{count:,} generated digits ($LEARNAI_MNIST_T10K unset)"


def _import_torch(repeats: int) -> float:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True, env=user_environment())
        seconds.append(time.perf_counter() - started)
    return round(statistics.median(seconds), 3)
