"""`learnai train`: build the experiment, open a run directory, fit, and record how it ended."""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

from learnai_cli import __version__
from learnai_cli.config import ExperimentConfig
from learnai_cli.errors import Interrupted, RunFailed
from learnai_cli.runs import RunDir

DRY_RUN_SETTINGS = {"epochs": 1, "max_steps": 1, "limit_batches": 1}


def train(config: ExperimentConfig, root: Path, command: list[str], interactive: bool, dry_run: bool = False) -> dict[str, Any]:
    """Train one config into a new run directory (a throwaway one for --dry-run); returns a summary."""
    if dry_run:
        config = config.model_copy(update={"train": config.train.model_copy(update=DRY_RUN_SETTINGS)})
        with tempfile.TemporaryDirectory(prefix="learnai-dry-run-") as scratch:
            summary = _train(config, Path(scratch), command, interactive)
        return {**summary, "dry_run": True, "run_dir": None}
    return _train(config, root, command, interactive)


def _train(config: ExperimentConfig, root: Path, command: list[str], interactive: bool) -> dict[str, Any]:
    from learnai_cli.engine.device import device_name
    from learnai_cli.engine.progress import ProgressReporter
    from learnai_cli.engine.run_recorder import RunRecorder
    from learnai_cli.engine.trainer import Diverged, Trainer
    from learnai_cli.experiment import build_experiment

    experiment = build_experiment(config)  # bad data or shapes fail here, before a run directory exists
    run = RunDir.create(root, config.name)
    run.write_config(config.to_dict())
    started = time.time()
    run.update_meta(**_start_meta(config, run, command, device_name(experiment.device)))
    run.log(f"learnai {__version__}: {' '.join(command)}")

    recorder = RunRecorder(run, config.to_dict())
    reporter = ProgressReporter(interactive, echo=run.log)
    trainer = Trainer(
        experiment.model,
        experiment.loss_fn,
        experiment.optimizer,
        experiment.batches("train", shuffle=config.train.shuffle, limit=config.train.limit_batches),
        experiment.batches("val", limit=config.train.limit_batches),
        config.train,
        experiment.task,
        experiment.from_logits,
        scheduler=experiment.scheduler,
        scheduler_interval=experiment.scheduler_interval,
        callbacks=[recorder, reporter],
    )
    status, message, error = "completed", "", None
    try:
        trainer.fit()
        message = trainer.stop_reason
    except Diverged as diverged:
        status, message = "diverged", f"{diverged}; lower optimizer.lr or set train.grad_clip"
        error = RunFailed(f"run {run.id} diverged: {message}")
    except KeyboardInterrupt:
        status, message = "interrupted", f"interrupted during epoch {trainer.state.epoch}"
        error = Interrupted(f"run {run.id} interrupted; checkpoints/last.pt holds the last finished epoch")
    except Exception as failure:  # an error inside the loop fails the run, with the details kept in train.log
        status, message = "failed", f"{type(failure).__name__}: {failure}"
        run.log(traceback.format_exc())
        error = RunFailed(f"run {run.id} failed: {message} (traceback in {run.log_path})")

    ended = time.time()
    meta = run.update_meta(
        status=status,
        message=message,
        ended=datetime.fromtimestamp(ended).isoformat(timespec="seconds"),
        duration_s=round(ended - started, 3),
        epochs_completed=trainer.state.epoch if status == "completed" else run.meta().get("epochs_completed", 0),
        steps=trainer.state.step,
        best=RunRecorder.best(trainer),
    )
    run.log(f"status: {status}{' - ' + message if message else ''}")
    plots = _draw_plots(run)
    if error is not None:
        raise error
    return _summary(run, meta, recorder.epoch_records, plots)


def _start_meta(config: ExperimentConfig, run: RunDir, command: list[str], device: str) -> dict[str, Any]:
    import torch

    return {
        "run_id": run.id,
        "name": config.name,
        "status": "running",
        "started": datetime.now().isoformat(timespec="seconds"),
        "command": command,
        "cwd": str(Path.cwd()),
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "learnai": __version__},
        "device": device,
        "seed": config.seed,
        "git_commit": _git_commit(),
        "epochs_completed": 0,
    }


def _git_commit() -> str | None:
    if shutil.which("git") is None:
        return None
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _draw_plots(run: RunDir) -> list[str]:
    from learnai_cli.plots import plot_run

    try:
        return [str(p) for p in plot_run(run)]
    except Exception as failure:  # a plotting problem must not turn a finished training into a failure
        print(f"warning: could not draw plots for {run.id}: {failure}", file=sys.stderr)
        return []


def _summary(run: RunDir, meta: dict[str, Any], records: list[dict[str, Any]], plots: list[str]) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "run_dir": str(run.path),
        "status": meta["status"],
        "message": meta.get("message", ""),
        "epochs": meta.get("epochs_completed"),
        "best": meta.get("best"),
        "final": records[-1] if records else {},
        "checkpoints": {p.stem: str(p) for p in sorted(run.checkpoints.glob("*.pt"))},
        "plots": plots,
        "duration_s": meta.get("duration_s"),
    }
