"""What meta.json records when a run starts: who, where, with which versions and code, from which command, and what
its data and model were (class names, preprocessing, the trivial baseline, the data checks)."""

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
        **_schedule_facts(experiment_config),
    }


def _schedule_facts(experiment_config: ExperimentConfig) -> dict[str, Any]:
    """Whether --resume could stretch the run's schedule to more epochs, for `learnai diagnose`'s advice."""
    from learnai_cli.experiment.build import schedule_built_from_epochs

    scheduler = experiment_config.scheduler
    return {} if scheduler is None else {"schedule_built_from_epochs": schedule_built_from_epochs(scheduler.name)}


def _git_commit() -> str | None:
    if shutil.which("git") is None:
        return None
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def data_facts(experiment) -> dict[str, Any]:
    """What the run's data and model were, for predict, export and `learnai diagnose`: the class names, how the
    inputs were prepared (a CSV's standardisation: predict scales with it, whatever has become of the file since;
    an image dataset's normalisation: an export puts both inside its graph), which splits data.val_split and
    data.test_split held out (the others are the dataset's own), the trivial baseline, the data checks,
    the number of outputs and how they are read."""
    from learnai_cli.experiment.data_checks import data_checks

    info = experiment.data.info
    return {
        "class_names": experiment.data.class_names,
        **{key: info[key] for key in ("standardization", "input_normalization", "held_out") if key in info},
        "baseline": experiment.baseline,
        "data_checks": data_checks(experiment.data, experiment.task),
        "model_outputs": experiment.output_shape[0] if experiment.output_shape else 1,
        "output_kind": experiment.output_kind,
    }
