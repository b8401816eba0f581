"""Shared pieces of the benchmarks: machine facts, result files, MNIST-shaped data, running learnai."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from learnai_cli.data.idx import write_mnist_folder

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = {"tiny": {"train": 256, "test": 64}, "full": {"train": 60_000, "test": 10_000}}  # tiny: checks it runs


# Set by sandboxes and CI, not by a user's shell: no bytecode cache means every run recompiles learnai_cli's sources
# (a tenth of a second or more per process), and unbuffered output costs a write per line.
NOT_A_USERS_SHELL = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")


def user_environment(**extra: str) -> dict[str, str]:
    """The environment for a timed child process: this one's, as a user's shell would have it, plus `extra`."""
    kept = {name: value for name, value in os.environ.items() if name not in NOT_A_USERS_SHELL}
    return {**kept, **extra}


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import torch

    from learnai_cli import __version__

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        **(_cuda_versions() if torch.cuda.is_available() else {}),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "learnai": __version__,
    }


def _cuda_versions() -> dict[str, Any]:
    """The CUDA runtime torch was built with and the driver nvidia-smi reports (when it is on the PATH)."""
    import subprocess

    import torch

    try:
        query = ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]
        driver = subprocess.run(query, capture_output=True, text=True, timeout=30).stdout.split("\n")[0].strip()
    except (OSError, subprocess.SubprocessError):
        driver = None
    return {"cuda": torch.version.cuda, "driver": driver or None}


def alternate_pairs(pairs: int, ours, theirs) -> list[tuple[Any, Any]]:
    """Run two commands alternately (ours first in even pairs), so a machine's drift weighs on both alike;
    each pair as (ours, theirs)."""
    runs = []
    for index in range(pairs):
        if index % 2 == 0:
            mine = ours()
            runs.append((mine, theirs()))
        else:
            other = theirs()
            runs.append((ours(), other))
    return runs


def save(results_dir: Path, name: str, data: dict[str, Any]) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine(), **data}, indent=2) + "\n")
    return path


def mnist_shaped_folder(size: str, real_root: Path | None = None, extra_train: int = 0) -> tuple[Path, str]:
    """The real MNIST files when `real_root` holds them, else random digits of MNIST's shape and size."""
    if real_root is not None and (real_root / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
        return real_root, f"real MNIST files in {real_root}"
    counts = SIZES[size]
    root = Path(tempfile.mkdtemp(prefix="learnai-bench-mnist-"))
    rng = np.random.default_rng(0)
    train = counts["train"] + extra_train
    write_mnist_folder(
        root,
        rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, train, dtype=np.uint8),
        rng.integers(0, 256, (counts["test"], 28, 28), dtype=np.uint8),
        rng.integers(0, 10, counts["test"], dtype=np.uint8),
    )
    return (
        root,
        f"random MNIST-shaped data ({train:,} train / {counts['test']:,} test, 1x28x28 uint8): the real files "
        "were absent",
    )


def learnai_train(config: dict[str, Any], runs_dir: Path) -> dict[str, Any]:
    """Train a config dict through learnai's own path (validation, builders, trainer), no progress bar."""
    from learnai_cli import config as config_module
    from learnai_cli.commands.train.run import train

    validated = config_module.validate(config, source="benchmark")
    return train(validated, runs_dir, ["bench"], interactive=False)


def epoch_throughput(summary: dict[str, Any], skip_first: bool = False) -> dict[str, float]:
    """Training samples per second over the epochs (validation and start-up excluded; optionally the warm-up epoch)."""
    from learnai_cli.rundir import RunDir

    records = RunDir(Path(summary["run_dir"])).epoch_records()[1 if skip_first else 0 :]
    seconds = sum(r["epoch_time"] for r in records)
    samples = sum(r["samples"] for r in records)
    return {
        "samples_per_s": round(samples / seconds, 1),
        "train_seconds": round(seconds, 3),
        "train_samples": round(samples),
    }
