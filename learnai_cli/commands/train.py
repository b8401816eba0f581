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

from learnai_cli import __version__
from learnai_cli.config import ExperimentConfig
from learnai_cli.data import fingerprint as data_fingerprint
from learnai_cli.errors import Interrupted, LearnaiError, RunFailed, UsageError
from learnai_cli.log import logger
from learnai_cli.rundir import RunDir

DRY_RUN_SETTINGS = {"epochs": 1, "max_steps": 1, "limit_batches": 1}


def train(
    experiment_config: ExperimentConfig,
    root: Path,
    command: list[str],
    interactive: bool,
    dry_run: bool = False,
    tags: Optional[dict[str, str]] = None,
) -> dict[str, Any]:
    """Train one config into a new run directory (a throwaway one for --dry-run); returns a summary. `tags` go into
    meta.json."""
    if dry_run:
        train_section = experiment_config.train.model_copy(update=DRY_RUN_SETTINGS)
        experiment_config = experiment_config.model_copy(update={"train": train_section})
        with tempfile.TemporaryDirectory(prefix="learnai-dry-run-") as scratch:
            summary = _train_new(experiment_config, Path(scratch), command, interactive, tags or {})
        return {**summary, "dry_run": True, "run_dir": None}
    return _train_new(experiment_config, root, command, interactive, tags or {})


def _train_new(
    experiment_config: ExperimentConfig, root: Path, command: list[str], interactive: bool, tags: dict[str, str]
) -> Optional[dict[str, Any]]:
    from learnai_cli.commands.experiment import build_experiment
    from learnai_cli.engine import distributed
    from learnai_cli.engine.device import device_name

    job = distributed.from_environment()
    experiment = build_experiment(experiment_config, job=job)  # bad data or shapes fail here, before a run dir exists
    if not job.is_main:
        return _fit_worker(experiment, checkpoint=None)
    run = RunDir.create(root, experiment_config.name)
    if job.enabled:
        backend = "nccl" if experiment.device.type == "cuda" else "gloo"
        tags = {**tags, "distributed": {"world_size": job.world_size, "backend": backend}}
    run.write_config(experiment_config.to_dict())
    data_fingerprint.record(run.data_fingerprint_path, experiment_config.data.name, experiment_config.data.kwargs)
    run.update_meta(**_start_meta(experiment_config, run, command, device_name(experiment.device)), **tags)
    return _fit(run, experiment, command, interactive, checkpoint=None)


def resume(root: Path, run_id: str, command: list[str], interactive: bool) -> dict[str, Any]:
    """Continue a run from its last.pt in the same directory: weights, optimizer, schedule, data order, RNGs."""
    from learnai_cli import config as config_module
    from learnai_cli import rundir
    from learnai_cli.commands.experiment import build_experiment
    from learnai_cli.engine.checkpoint import load_checkpoint
    from learnai_cli.engine.distributed import from_environment as distributed_job

    run = rundir.resolve(root, run_id)
    meta = run.meta()
    job = distributed_job()
    status = rundir.effective_status(meta) if job.is_main else "resumable"  # other ranks follow rank 0, which checks
    if status == "completed":
        raise UsageError(
            f"run {run.id} already completed ({meta.get('epochs_completed')} epochs); nothing to resume. Start a "
            "new run to train more."
        )
    if status == "running":
        raise UsageError(
            f"run {run.id} is still running (pid {meta.get('pid')} on {meta.get('host')}); stop it before resuming"
        )
    last = run.last_checkpoint
    if not last.is_file():
        raise UsageError(
            f"run {run.id} has no checkpoints/last.pt to resume from (it stopped before its first checkpoint); "
            "train it again"
        )
    experiment_config = config_module.validate(run.read_config(), source=str(run.config_path), base_dir=run.path)
    if job.is_main:
        data_fingerprint.warn_if_changed(
            run.data_fingerprint_path, experiment_config.data.name, experiment_config.data.kwargs
        )
    experiment = build_experiment(experiment_config, job=job)
    checkpoint = load_checkpoint(last)
    if not job.is_main:
        return _fit_worker(experiment, checkpoint)
    run.keep_metrics_up_to(checkpoint["step"])  # records written after the checkpoint will be produced again
    run.keep_predictions_up_to(
        checkpoint["epoch"] if checkpoint["train_state"]["batches_done"] == 0 else checkpoint["epoch"] - 1
    )
    run.update_meta(
        status="running",
        message="",
        pid=os.getpid(),
        host=socket.gethostname(),
        resumed=[*meta.get("resumed", []), _now()],
    )
    run.log(f"resumed from last.pt at epoch {checkpoint['epoch']}, step {checkpoint['step']}: {' '.join(command)}")
    return _fit(run, experiment, command, interactive, checkpoint)


def _recorders(run: RunDir, experiment, interactive: bool) -> list:
    """The callbacks that write the run's files, show progress and feed optional loggers."""
    from learnai_cli.recorders.progress import ProgressReporter
    from learnai_cli.recorders.run_files import RunRecorder

    experiment_config = experiment.experiment_config
    callbacks = [RunRecorder(run, experiment_config.to_dict(), epoch_records=run.epoch_records())]
    callbacks.append(ProgressReporter(interactive, echo=run.log))
    if "tensorboard" in experiment_config.train.loggers:
        from learnai_cli.recorders.tensorboard import TensorBoardLogger

        callbacks.append(TensorBoardLogger(run.tensorboard_dir))
    if experiment_config.train.record_predictions:
        from learnai_cli.recorders.predictions import PredictionRecorder

        train = experiment.data.train
        callbacks.append(PredictionRecorder(run, train.inputs, train.targets))
    return callbacks


def _fit(run: RunDir, experiment, command: list[str], interactive: bool, checkpoint: Optional[dict]) -> dict[str, Any]:
    if checkpoint is None:
        run.log(f"learnai {__version__}: {' '.join(command)}")
    callbacks = _recorders(run, experiment, interactive)
    recorder = callbacks[0]
    trainer = _make_trainer(experiment, callbacks, checkpoint)
    started = time.time()
    with stop_on_signals(trainer):
        status, message, error = _run_loop(trainer, run, experiment.experiment_config)
    _record_replicas(run, trainer)

    meta = run.update_meta(
        status=status,
        message=message,
        ended=_now(),
        duration_s=round(run.meta().get("duration_s", 0.0) + time.time() - started, 3),
        epochs_completed=trainer.state.epoch if status == "completed" else run.meta().get("epochs_completed", 0),
        steps=trainer.state.step,
        best=recorder.best(trainer),
    )
    run.log(f"status: {status}{' - ' + message if message else ''}")
    plots = _draw_plots(run)
    if error is not None:
        error.run_id = run.id  # callers such as sweep find the run that failed
        raise error
    return _summary(run, meta, recorder.epoch_records, plots)


def _make_trainer(experiment, callbacks: list, checkpoint: Optional[dict]):
    from learnai_cli.engine.trainer import Trainer

    train_section = experiment.experiment_config.train
    trainer = Trainer(
        experiment.model,
        experiment.loss_fn,
        experiment.optimizer,
        experiment.batches("train", shuffle=train_section.shuffle, limit=train_section.limit_batches),
        experiment.batches("val", limit=train_section.limit_batches),
        train_section,
        experiment.task,
        experiment.from_logits,
        scheduler=experiment.scheduler,
        scheduler_interval=experiment.scheduler_interval,
        callbacks=callbacks,
        job=experiment.job,
        device=experiment.device,
    )
    if checkpoint is not None:
        trainer.restore(checkpoint)
    return trainer


def _fit_worker(experiment, checkpoint: Optional[dict]) -> None:
    """Ranks other than 0 train in step with it but write nothing; rank 0 reports for the job."""
    from learnai_cli.engine import distributed
    from learnai_cli.engine.trainer import Diverged, StopRequested

    trainer = _make_trainer(experiment, [], checkpoint)
    with stop_on_signals(trainer):
        try:
            trainer.fit()
        except (Diverged, StopRequested):
            pass  # rank 0 meets the same condition at the same step (losses are reduced) and reports it
        # Anything else ends this process with an error, and torchrun then stops the whole job rather than let
        # rank 0 wait.
    distributed.gather(experiment.job, distributed.weights_checksum(trainer.model))
    distributed.teardown(experiment.job)
    return None


def _record_replicas(run: RunDir, trainer) -> None:
    """Distributed: every rank's weight checksum in meta.json, to show the replicas stayed identical."""
    from learnai_cli.engine import distributed

    if trainer.job.enabled:
        checksums = distributed.gather(trainer.job, distributed.weights_checksum(trainer.model))
        run.update_meta(
            distributed={
                **run.meta().get("distributed", {}),
                "weights_checksums": checksums,
                "replicas_identical": len(set(checksums)) == 1,
            }
        )
        distributed.teardown(trainer.job)


def _run_loop(trainer, run: RunDir, experiment_config: ExperimentConfig) -> tuple[str, str, Optional[Exception]]:
    """Fit, and turn each way a run can end into (status, message, error to raise)."""
    import torch

    from learnai_cli.engine.trainer import Diverged, StopRequested

    resume_hint = f"continue with: learnai train --resume {run.id}"
    try:
        trainer.fit()
        return "completed", trainer.stop_reason, None
    except Diverged as diverged:
        message = f"{diverged}; the learning rate is likely too high: lower optimizer.lr or set train.grad_clip"
        kept = (
            "checkpoints/last.pt holds the last finite weights"
            if run.last_checkpoint.exists()
            else "no checkpoint was written before it"
        )
        return "diverged", message, RunFailed(f"run {run.id} diverged: {message}. {kept}")
    except StopRequested as stop:
        message = f"stopped by {stop} at epoch {trainer.state.epoch}, step {trainer.state.step}"
        return "interrupted", message, Interrupted(f"run {run.id} {message}; last.pt written.\n{resume_hint}")
    except KeyboardInterrupt:
        message = f"interrupted at epoch {trainer.state.epoch}, step {trainer.state.step}"
        return (
            "interrupted",
            message,
            Interrupted(f"run {run.id} {message}; last.pt holds the last checkpoint.\n{resume_hint}"),
        )
    except torch.cuda.OutOfMemoryError:
        batch_size = experiment_config.train.batch_size
        message = f"out of GPU memory at train.batch_size={batch_size}; try train.batch_size={max(1, batch_size // 2)}"
        return "failed", message, RunFailed(f"run {run.id} failed: {message}")
    except LearnaiError as failure:  # e.g. an image that passed the check at build time but cannot be decoded
        message = str(failure).strip().splitlines()[-1]  # a DataLoader worker wraps it in its traceback
        return "failed", message, RunFailed(f"run {run.id} failed: {message}")
    except OSError as failure:
        if failure.errno != errno.ENOSPC:
            return _failed(run, failure)
        where = failure.filename or run.path
        message = f"the disk is full ({where}); earlier checkpoints are intact. Free space, then: {resume_hint}"
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
        print(
            f"\n{trainer.stop_signal}: finishing the current step and writing last.pt (press Ctrl-C again to stop "
            "at once)",
            file=sys.stderr,
        )

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def _start_meta(experiment_config: ExperimentConfig, run: RunDir, command: list[str], device: str) -> dict[str, Any]:
    import torch

    return {
        "run_id": run.id,
        "name": experiment_config.name,
        "status": "running",
        "started": _now(),
        "heartbeat": _now(),
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "cwd": str(Path.cwd()),
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "learnai": __version__},
        "device": device,
        "seed": experiment_config.seed,
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


def launch(
    arguments: list[str], nproc_per_node: int, nnodes: int, node_rank: int, master_addr: str, master_port: int
) -> int:
    """`learnai train --nproc-per-node N`: run `learnai ARGUMENTS` under torch.distributed.run; its exit code."""
    command = [
        sys.executable, "-m", "torch.distributed.run",
        f"--nproc-per-node={nproc_per_node}", f"--nnodes={nnodes}", f"--node-rank={node_rank}",
        f"--master-addr={master_addr}", f"--master-port={master_port}",
        "-m", "learnai_cli", *arguments,
    ]  # fmt: skip
    return subprocess.call(command)
