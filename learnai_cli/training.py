"""`learnai train`: build the experiment, open (or resume) a run directory, fit, and record how it ended."""

from __future__ import annotations

import errno
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from learnai_cli.log import logger
from learnai_cli import __version__
from learnai_cli.config import ExperimentConfig
from learnai_cli.errors import Interrupted, LearnaiError, RunFailed, UsageError
from learnai_cli.runs import RunDir

DRY_RUN_SETTINGS = {"epochs": 1, "max_steps": 1, "limit_batches": 1}


def train(
    config: ExperimentConfig, root: Path, command: list[str], interactive: bool, dry_run: bool = False, tags: Optional[dict[str, str]] = None
) -> dict[str, Any]:
    """Train one config into a new run directory (a throwaway one for --dry-run); returns a summary. `tags` go into meta.json."""
    if dry_run:
        config = config.model_copy(update={"train": config.train.model_copy(update=DRY_RUN_SETTINGS)})
        with tempfile.TemporaryDirectory(prefix="learnai-dry-run-") as scratch:
            summary = _train_new(config, Path(scratch), command, interactive, tags or {})
        return {**summary, "dry_run": True, "run_dir": None}
    return _train_new(config, root, command, interactive, tags or {})


def _train_new(config: ExperimentConfig, root: Path, command: list[str], interactive: bool, tags: dict[str, str]) -> Optional[dict[str, Any]]:
    from learnai_cli.engine import distributed
    from learnai_cli.engine.device import device_name
    from learnai_cli.experiment import build_experiment

    job = distributed.from_environment()
    experiment = build_experiment(config, job=job)  # bad data or shapes fail here, before a run directory exists
    if not job.is_main:
        return _fit_worker(config, experiment, checkpoint=None)
    run = RunDir.create(root, config.name)
    if job.enabled:
        tags = {**tags, "distributed": {"world_size": job.world_size, "backend": "nccl" if experiment.device.type == "cuda" else "gloo"}}
    run.write_config(config.to_dict())
    run.update_meta(**_start_meta(config, run, command, device_name(experiment.device)), **tags)
    return _fit(run, config, experiment, command, interactive, checkpoint=None)


def resume(root: Path, run_id: str, command: list[str], interactive: bool) -> dict[str, Any]:
    """Continue a run from its last.pt in the same directory: weights, optimizer, schedule, data order, RNGs."""
    from learnai_cli import config as config_module
    from learnai_cli import runs
    from learnai_cli.engine.checkpoint import load_checkpoint
    from learnai_cli.engine.distributed import from_environment as distributed_job
    from learnai_cli.experiment import build_experiment

    run = runs.resolve(root, run_id)
    meta = run.meta()
    job = distributed_job()
    status = runs.effective_status(meta) if job.is_main else "resumable"  # other ranks follow rank 0, which checks
    if status == "completed":
        raise UsageError(f"run {run.id} already completed ({meta.get('epochs_completed')} epochs); nothing to resume. Start a new run to train more.")
    if status == "running":
        raise UsageError(f"run {run.id} is still running (pid {meta.get('pid')} on {meta.get('host')}); stop it before resuming")
    last = run.checkpoints / "last.pt"
    if not last.is_file():
        raise UsageError(f"run {run.id} has no checkpoints/last.pt to resume from (it stopped before its first checkpoint); train it again")
    config = config_module.validate(run.config(), source=str(run.config_path), base_dir=run.path)
    experiment = build_experiment(config, job=job)
    checkpoint = load_checkpoint(last)
    if not job.is_main:
        return _fit_worker(config, experiment, checkpoint)
    run.keep_metrics_up_to(checkpoint["step"])  # records written after the checkpoint will be produced again
    run.keep_predictions_up_to(checkpoint["epoch"] if checkpoint["train_state"]["batches_done"] == 0 else checkpoint["epoch"] - 1)
    run.update_meta(status="running", message="", pid=os.getpid(), host=socket.gethostname(), resumed=[*meta.get("resumed", []), _now()])
    run.log(f"resumed from last.pt at epoch {checkpoint['epoch']}, step {checkpoint['step']}: {' '.join(command)}")
    return _fit(run, config, experiment, command, interactive, checkpoint)


def _fit(run: RunDir, config: ExperimentConfig, experiment, command: list[str], interactive: bool, checkpoint: Optional[dict]) -> dict[str, Any]:
    from learnai_cli.engine.progress import ProgressReporter
    from learnai_cli.engine.run_recorder import RunRecorder

    if checkpoint is None:
        run.log(f"learnai {__version__}: {' '.join(command)}")
    recorder = RunRecorder(run, config.to_dict(), epoch_records=run.epoch_records())
    reporter = ProgressReporter(interactive, echo=run.log)
    callbacks = [recorder, reporter]
    if "tensorboard" in config.train.loggers:
        from learnai_cli.engine.tensorboard_logger import TensorBoardLogger

        callbacks.append(TensorBoardLogger(run.path / "tensorboard"))
    if config.train.record_predictions:
        from learnai_cli.engine.prediction_recorder import PredictionRecorder

        train = experiment.data.train
        callbacks.append(PredictionRecorder(run, train.inputs, train.targets))
    trainer = _make_trainer(config, experiment, callbacks, checkpoint)
    started = time.time()
    with stop_on_signals(trainer):
        status, message, error = _run_loop(trainer, run, config)
    _record_replicas(run, trainer)

    meta = run.update_meta(
        status=status,
        message=message,
        ended=_now(),
        duration_s=round(run.meta().get("duration_s", 0.0) + time.time() - started, 3),
        epochs_completed=trainer.state.epoch if status == "completed" else run.meta().get("epochs_completed", 0),
        steps=trainer.state.step,
        best=RunRecorder.best(trainer),
    )
    run.log(f"status: {status}{' - ' + message if message else ''}")
    plots = _draw_plots(run)
    if error is not None:
        error.run_id = run.id  # callers such as sweep find the run that failed
        raise error
    return _summary(run, meta, recorder.epoch_records, plots)


def _make_trainer(config: ExperimentConfig, experiment, callbacks: list, checkpoint: Optional[dict]):
    from learnai_cli.engine.trainer import Trainer

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
        callbacks=callbacks,
        job=experiment.job,
    )
    if checkpoint is not None:
        trainer.restore(checkpoint, experiment.device)
    return trainer


def _fit_worker(config: ExperimentConfig, experiment, checkpoint: Optional[dict]) -> None:
    """Ranks other than 0 train in step with it but write nothing; rank 0 reports for the job."""
    from learnai_cli.engine import distributed
    from learnai_cli.engine.trainer import Diverged, StopRequested

    trainer = _make_trainer(config, experiment, [], checkpoint)
    with stop_on_signals(trainer):
        try:
            trainer.fit()
        except (Diverged, StopRequested):
            pass  # rank 0 meets the same condition at the same step (losses are reduced) and reports it
        # Anything else ends this process with an error, and torchrun then stops the whole job rather than let rank 0 wait.
    distributed.gather(experiment.job, distributed.weights_checksum(trainer.model))
    distributed.teardown(experiment.job)
    return None


def _record_replicas(run: RunDir, trainer) -> None:
    """Distributed: every rank's weight checksum in meta.json, to show the replicas stayed identical."""
    from learnai_cli.engine import distributed

    if trainer.job.enabled:
        checksums = distributed.gather(trainer.job, distributed.weights_checksum(trainer.model))
        run.update_meta(distributed={**run.meta().get("distributed", {}), "weights_checksums": checksums, "replicas_identical": len(set(checksums)) == 1})
        distributed.teardown(trainer.job)


def _run_loop(trainer, run: RunDir, config: ExperimentConfig) -> tuple[str, str, Optional[Exception]]:
    """Fit, and turn each way a run can end into (status, message, error to raise)."""
    import torch

    from learnai_cli.engine.trainer import Diverged, StopRequested

    resume_hint = f"continue with: learnai train --resume {run.id}"
    try:
        trainer.fit()
        return "completed", trainer.stop_reason, None
    except Diverged as diverged:
        message = f"{diverged}; the learning rate is likely too high: lower optimizer.lr or set train.grad_clip"
        kept = "checkpoints/last.pt holds the last finite weights" if (run.checkpoints / "last.pt").exists() else "no checkpoint was written before it"
        return "diverged", message, RunFailed(f"run {run.id} diverged: {message}. {kept}")
    except StopRequested as stop:
        message = f"stopped by {stop} at epoch {trainer.state.epoch}, step {trainer.state.step}"
        return "interrupted", message, Interrupted(f"run {run.id} {message}; last.pt written. {resume_hint}")
    except KeyboardInterrupt:
        message = f"interrupted at epoch {trainer.state.epoch}, step {trainer.state.step}"
        return "interrupted", message, Interrupted(f"run {run.id} {message}; last.pt holds the last checkpoint. {resume_hint}")
    except torch.cuda.OutOfMemoryError:
        smaller = max(1, config.train.batch_size // 2)
        message = f"out of GPU memory at train.batch_size={config.train.batch_size}; try train.batch_size={smaller}"
        return "failed", message, RunFailed(f"run {run.id} failed: {message}")
    except LearnaiError as failure:  # e.g. an image that passed the check at build time but cannot be decoded
        message = str(failure).strip().splitlines()[-1]  # a DataLoader worker wraps it in its traceback
        return "failed", message, RunFailed(f"run {run.id} failed: {message}")
    except OSError as failure:
        if failure.errno != errno.ENOSPC:
            return _failed(run, failure)
        message = f"the disk is full ({failure.filename or run.path}); earlier checkpoints are intact. Free space, then: {resume_hint}"
        return "failed", message, RunFailed(f"run {run.id} failed: {message}")
    except Exception as failure:  # an error inside the loop fails the run, with the details kept in train.log
        return _failed(run, failure)


def _failed(run: RunDir, failure: Exception) -> tuple[str, str, Exception]:
    message = f"{type(failure).__name__}: {failure}"
    run.log(traceback.format_exc())
    return "failed", message, RunFailed(f"run {run.id} failed: {message} (traceback in {run.log_path})")


@contextmanager
def stop_on_signals(trainer):
    """First SIGINT/SIGTERM: finish the current step, write last.pt, stop (exit 130). A second SIGINT: stop at once."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return

    def request_stop(signum, frame):
        if trainer.stop_signal:
            raise KeyboardInterrupt
        trainer.stop_signal = signal.Signals(signum).name
        print(f"\n{trainer.stop_signal}: finishing the current step and writing last.pt (press Ctrl-C again to stop at once)", file=sys.stderr)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def _start_meta(config: ExperimentConfig, run: RunDir, command: list[str], device: str) -> dict[str, Any]:
    import torch

    return {
        "run_id": run.id,
        "name": config.name,
        "status": "running",
        "started": _now(),
        "heartbeat": _now(),
        "pid": os.getpid(),
        "host": socket.gethostname(),
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
        logger.warning(f"could not draw plots for {run.id}: {failure}")
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
