"""What meta.json records when a run starts: who, where, with which versions and code, from which command."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

from learnai_cli import __version__
from learnai_cli.config import ExperimentConfig
from learnai_cli.rundir import RunDir


def now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def start_meta(experiment_config: ExperimentConfig, run: RunDir, command: list[str], device: str) -> dict[str, Any]:
    import torch

    return {
        "run_id": run.id,
        "name": experiment_config.name,
        "status": "running",
        "started": now(),
        "heartbeat": now(),
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "cwd": str(Path.cwd()),
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "learnai": __version__},
        "device": device,
        "threads": torch.get_num_threads(),  # a resume keeps it (train.threads auto looks at how busy the CPUs are)
        "seed": experiment_config.seed,
        "git_commit": _git_commit(),
        "epochs_completed": 0,
        "locked": True,  # this process holds the run's lock while it runs: without a holder it reads as crashed
    }


def _git_commit() -> str | None:
    if shutil.which("git") is None:
        return None
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None
