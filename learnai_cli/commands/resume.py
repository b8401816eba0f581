"""`learnai train --resume`: whether a run can be continued, and the experiment and checkpoint to continue it from.

The caller (commands/train.py) holds the run's lock while these checks run and until training ends.
"""

from __future__ import annotations

from typing import Any

from learnai_cli.errors import UsageError
from learnai_cli.rundir import RunDir


def check_resumable(run: RunDir) -> dict[str, Any]:
    """The run's meta when it can be resumed (we hold its lock); refuse completed, running and damaged runs."""
    from learnai_cli import runstatus

    meta = run.meta()  # a damaged meta.json raises DamagedRun
    status = runstatus.run_status(run, own_lock=True)[0] if meta else "unknown"
    if status == "completed":
        raise UsageError(
            f"run {run.id} already completed ({meta.get('epochs_completed')} epochs); nothing to resume. Start a "
            "new run to train more."
        )
    if status == "running":
        raise UsageError(
            f"run {run.id} is still running (pid {meta.get('pid')} on {meta.get('host')}); stop it before resuming"
        )
    if not run.last_checkpoint.is_file():
        raise UsageError(
            f"run {run.id} has no checkpoints/last.pt to resume from (it stopped before its first checkpoint); "
            "train it again"
        )
    return meta


def resumable(run: RunDir, job, completed_check: bool = False):
    """The experiment rebuilt from the run's config and its last.pt; refuses a checkpoint that is not resumable."""
    from learnai_cli import config as config_module
    from learnai_cli.commands.experiment import build_experiment
    from learnai_cli.engine.checkpoint import load_checkpoint

    experiment_config = config_module.validate(run.read_config(), source=str(run.config_path), base_dir=run.path)
    experiment = build_experiment(experiment_config, job=job)
    last = run.last_checkpoint
    checkpoint = load_checkpoint(last)
    missing = [k for k in ("model", "epoch", "step", "train_state", "rng", "data_rng") if k not in checkpoint]
    if missing or not isinstance(checkpoint.get("train_state"), dict):
        raise UsageError(f"checkpoint {last} lacks {', '.join(missing) or 'train_state'}: it cannot be resumed")
    ended = checkpoint.get("should_stop") or checkpoint["epoch"] >= experiment_config.train.epochs
    if completed_check and ended and checkpoint["train_state"].get("batches_done", 0) == 0:
        raise UsageError(
            f"run {run.id} has no meta.json (damaged), and its last.pt says it completed (epoch "
            f"{checkpoint['epoch']} of {experiment_config.train.epochs}); nothing to resume"
        )
    return experiment, checkpoint
