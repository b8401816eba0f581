"""`learnai train`: build the experiment, open (or resume) a run directory, fit, and record how it ended."""

from __future__ import annotations

import errno
import tempfile
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

from learnai_cli import __version__
from learnai_cli.commands.train.meta import data_facts, now, start_meta
from learnai_cli.commands.train.stopping import interrupting_on_signals, raise_if_interrupted, stop_on_signals
from learnai_cli.config import ExperimentConfig
from learnai_cli.data import fingerprint as data_fingerprint
from learnai_cli.diagnose import diagnose_and_save
from learnai_cli.errors import Interrupted, LearnaiError, RunFailed, UsageError
from learnai_cli.plots import process as plot_process
from learnai_cli.rundir import RunDir, check_writable
from learnai_cli.rundir.next_steps import resume_command

DRY_RUN_SETTINGS = {"epochs": 1, "max_steps": 1, "limit_batches": 1}


def train(
    experiment_config: ExperimentConfig,
    root: Path,
    command: list[str],
    interactive: bool,
    dry_run: bool = False,
    tags: Optional[dict[str, str]] = None,
    init_from: Optional[str] = None,
    callbacks: tuple = (),
) -> dict[str, Any]:
    """Train one config into a new run directory (a throwaway one for --dry-run); returns a summary. `tags` go into
    meta.json. `init_from` (RUN[:best|last] in `root`) gives the model that run's weights before the first step.
    `callbacks` hear the trainer after the run's own recorders (tune's pruning reporter)."""
    from learnai_cli.commands.train.init_from import resolve_init_from

    with interrupting_on_signals():  # from the first line: a signal during start-up exits 130, no traceback
        source = resolve_init_from(root, init_from) if init_from else None
        tags = {**(tags or {}), **({"init_from": source.meta()} if source else {})}
        if dry_run:
            loggers = _dry_run_loggers(experiment_config.train.loggers)
            train_section = experiment_config.train.model_copy(update={**DRY_RUN_SETTINGS, "loggers": loggers})
            experiment_config = experiment_config.model_copy(update={"train": train_section})
            with tempfile.TemporaryDirectory(prefix="learnai-dry-run-") as scratch:
                summary = _train_new(experiment_config, Path(scratch), command, interactive, tags, source, callbacks)
            return {**summary, "dry_run": True, "run_dir": None}
        return _train_new(experiment_config, root, command, interactive, tags, source, callbacks)


def train_file(
    config_path: Optional[Path],
    overrides: list[str],
    plugin_specs: list[str],
    root: Path,
    interactive: bool,
    dry_run: bool = False,
    init_from: Optional[str] = None,
) -> Optional[dict[str, Any]]:
    """`learnai train CONFIG [KEY=VALUE ...]`: load and validate the file, then train it; the command recorded in
    meta.json is the one the user typed."""
    from learnai_cli import config as config_module

    if config_path is None:
        raise UsageError("give a CONFIG file to train (e.g. configs/linear_regression.yaml), or --resume RUN_ID")
    experiment_config = config_module.load(config_path, overrides, plugins=plugin_specs)
    command = ["learnai", "train", str(config_path), *overrides] + (["--dry-run"] if dry_run else [])
    command += [f"--plugin={p}" for p in plugin_specs] + ([f"--init-from={init_from}"] if init_from else [])
    return train(experiment_config, root, command, interactive, dry_run=dry_run, init_from=init_from)


def _dry_run_loggers(loggers: list[str]) -> list[str]:
    """A dry run keeps nothing, so it sends no run to MLflow (it still checks that the logger would work)."""
    if "mlflow" in loggers:
        from learnai_cli.recorders.mlflow_tracking import require_mlflow

        require_mlflow()
    return [name for name in loggers if name != "mlflow"]


def _train_new(
    experiment_config: ExperimentConfig,
    root: Path,
    command: list[str],
    interactive: bool,
    tags: dict[str, Any],
    source=None,
    callbacks: tuple = (),
) -> Optional[dict[str, Any]]:
    from learnai_cli.engine import distributed
    from learnai_cli.engine.device import device_name
    from learnai_cli.experiment import build_experiment
    from learnai_cli.recorders.loggers import require_loggers

    job = distributed.from_environment()
    if job.is_main:
        check_writable(root)  # before anything is built: an unusable runs root costs no start-up time
    require_loggers(experiment_config.train.loggers)
    # bad data or shapes fail here, before a run dir exists
    experiment = build_experiment(experiment_config, job=job, own_pids=plot_process.helper_pids())
    experiment_config = experiment.experiment_config  # as resolved for this machine (e.g. precision auto)
    if source is not None:
        source.load_into(experiment.model)  # another architecture fails here too; optimizer and schedule start fresh
    if not job.is_main:
        return fit_worker(experiment, checkpoint=None)
    # owned by this process from its first moment, config.yaml and meta.json in it before anything can stop it
    run, lock = RunDir.create_locked(root, experiment_config.name, resolved_config=experiment_config.to_dict())
    with lock:
        if job.enabled:
            backend = "nccl" if experiment.device.type == "cuda" else "gloo"
            tags = {**tags, "distributed": {"world_size": job.world_size, "backend": backend}}
        with starting(run):
            run.write_config(experiment_config.to_dict())
            data_section = experiment_config.data
            data_fingerprint.record(run.data_fingerprint_path, data_section.name, data_section.kwargs)
            run.update_meta(
                **start_meta(experiment_config, run, command, device_name(experiment.device)),
                task=experiment.task,
                **data_facts(experiment),
                **tags,
            )
            trainer = make_trainer(experiment, checkpoint=None)
        return fit(run, experiment, command, interactive, trainer, callbacks)


@contextmanager
def starting(run: RunDir, new_run: bool = True):
    """Between creating (or reopening) a run and its first step: a signal marks it interrupted (exit 130); a write
    that fails (full disk) fails it (exit 1); a new run that cannot start (data too big for the GPU) is marked
    failed, a resume that is refused leaves the run as it was. The lock is released either way. The error names the
    run for --json (run_id, run_dir, status)."""
    try:
        with _start_errors(run, new_run):
            yield
    except LearnaiError as error:
        status = run.meta(strict=False).get("status")
        error.details = {"run_id": run.id, "run_dir": str(run.path), **({"status": status} if status else {})}
        raise


@contextmanager
def _start_errors(run: RunDir, new_run: bool):
    try:
        yield
    except KeyboardInterrupt:
        _record_quietly(run, status="interrupted", message="interrupted during start-up", ended=now())
        raise Interrupted(f"run {run.id} was interrupted during start-up") from None
    except OSError as error:
        where = error.filename or run.path
        _record_quietly(run, status="failed", message=f"cannot write {where}: {error.strerror}", ended=now())
        raise RunFailed(f"run {run.id} could not start: cannot write {where}: {error.strerror or error}") from None
    except RunFailed as failure:  # e.g. the MLflow tracking store cannot be reached
        _record_quietly(run, status="failed", message=failure.message.partition(": ")[2], ended=now())
        raise
    except LearnaiError as error:  # e.g. data too big for the GPU, found while the batches are made
        if not new_run:
            raise  # a refused resume (a checkpoint that does not fit) changes nothing on disk
        _record_quietly(run, status="failed", message=str(error), ended=now())
        raise type(error)(f"run {run.id} could not start: {error}") from None  # its own exit code


def _record_quietly(run: RunDir, **fields: Any) -> bool:
    """Record how a run ended if the disk allows; False when it does not (the released lock then tells readers)."""
    try:
        run.update_meta(**fields)
        return True
    except OSError:
        return False


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
    if "mlflow" in experiment_config.train.loggers:
        from learnai_cli.recorders.mlflow_tracking import MlflowLogger

        callbacks.append(MlflowLogger(run, experiment_config.to_dict()))
    if experiment_config.train.record_predictions:
        from learnai_cli.recorders.predictions import PredictionRecorder

        train = experiment.data.train
        callbacks.append(PredictionRecorder(run, train.inputs, train.targets))
    return callbacks


def fit(
    run: RunDir, experiment, command: list[str], interactive: bool, trainer, callbacks: tuple = ()
) -> dict[str, Any]:
    """Train with the run's recorders (then `callbacks`) attached, then record how it ended (exit 1 if even that
    cannot be written)."""
    with starting(run):
        if trainer.state.step == 0 and trainer.state.epoch == 0:
            run.log(f"learnai {__version__}: {' '.join(command)}")
        trainer.callbacks = _recorders(run, experiment, interactive) + list(callbacks)
        raise_if_interrupted()  # a signal during start-up whose KeyboardInterrupt got lost still ends it here
    recorder = trainer.callbacks[0]
    started = time.time()
    plotter = plot_process.claim()  # imports matplotlib beside the training, so the final plots do not wait for that
    try:
        with stop_on_signals(trainer):
            status, message, error = _run_loop(trainer, run, experiment.experiment_config)
        _record_replicas(run, trainer)
        meta = _record_end(run, trainer, recorder, status, message, started)
    except BaseException:
        plotter.close()  # the run's end is not recorded: nothing to draw
        raise
    diagnosis = diagnose_and_save(run)  # before the plots: the loss chart marks what it found
    plots = plotter.draw(run.path)
    for callback in trainer.callbacks:  # trackers copy the run's final files and status (MLflow)
        if hasattr(callback, "record_end"):
            callback.record_end(meta, plots)
    if error is not None:
        error.run_id = run.id  # callers such as sweep find the run that failed
        error.details = {"run_id": run.id, "run_dir": str(run.path), "status": status, **diagnosis}  # in --json
        raise error
    return {**_summary(run, meta, recorder.epoch_records, plots), **diagnosis}


def _record_end(run: RunDir, trainer, recorder, status: str, message: str, started: float) -> dict[str, Any]:
    try:
        return _write_end(run, trainer, recorder, status, message, started)
    except OSError as failure:  # a full disk: the lock, released on the way out, lets readers tell it crashed
        raise RunFailed(
            f"run {run.id} ended ({status}) but could not record it in {run.meta_path}: {failure.strerror or failure}"
        ) from None


def _write_end(run: RunDir, trainer, recorder, status: str, message: str, started: float) -> dict[str, Any]:
    previous = run.meta(strict=False)
    meta = run.update_meta(
        status=status,
        message=message,
        ended=now(),
        duration_s=round(float(previous.get("duration_s") or 0.0) + time.time() - started, 3),
        epochs_completed=trainer.state.epoch
        if status in ("completed", "pruned")
        else previous.get("epochs_completed", 0),
        steps=trainer.state.step,
        best=recorder.best(trainer),
    )
    run.log(f"status: {status}{' - ' + message if message else ''}")
    return meta


def make_trainer(experiment, checkpoint: Optional[dict], source: object = "the checkpoint"):
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
        job=experiment.job,
        device=experiment.device,
    )
    if checkpoint is not None:
        trainer.restore(checkpoint, source=str(source))
    return trainer


def fit_worker(experiment, checkpoint: Optional[dict]) -> None:
    """Ranks other than 0 train in step with it but write nothing; rank 0 reports for the job."""
    from learnai_cli.engine import distributed
    from learnai_cli.engine.trainer import Diverged, StopRequested

    trainer = make_trainer(experiment, checkpoint)
    with stop_on_signals(trainer):
        try:
            trainer.fit()
        except (Diverged, StopRequested):
            pass  # rank 0 meets the same condition at the same step (losses are reduced) and reports it
        # Anything else ends this process with an error, and torchrun then stops the whole job rather than let
        # rank 0 wait.
    distributed.gather(experiment.job, distributed.weights_checksum(trainer.model))
    trainer.leave_data_parallel()
    distributed.teardown(experiment.job)
    return None


def _record_replicas(run: RunDir, trainer) -> None:
    """Distributed: every rank's weight checksum in meta.json, to show the replicas stayed identical."""
    from learnai_cli.engine import distributed

    if trainer.job.enabled:
        checksums = distributed.gather(trainer.job, distributed.weights_checksum(trainer.model))
        run.update_meta(
            distributed={
                **run.meta(strict=False).get("distributed", {}),
                "weights_checksums": checksums,
                "replicas_identical": len(set(checksums)) == 1,
            }
        )
        trainer.leave_data_parallel()
        distributed.teardown(trainer.job)


def _rate_key(experiment_config: ExperimentConfig) -> str:
    """The setting that holds the (peak) learning rate: a scheduler's explicit max_lr, else optimizer.lr."""
    scheduler = experiment_config.scheduler
    return "scheduler.max_lr" if scheduler and scheduler.kwargs.get("max_lr") is not None else "optimizer.lr"


def _run_loop(trainer, run: RunDir, experiment_config: ExperimentConfig) -> tuple[str, str, Optional[Exception]]:
    """Fit, and turn each way a run can end into (status, message, error to raise)."""
    import torch

    from learnai_cli.commands.train.processes import worker_launcher_options
    from learnai_cli.engine.device import out_of_memory_advice
    from learnai_cli.engine.trainer import Diverged, Pruned, StopRequested

    resume_hint = f"continue with: {resume_command(run, worker_launcher_options())}"
    try:
        trainer.fit()
        return "completed", trainer.stop_reason, None
    except Pruned as pruned:  # not a failure: the search decided this run is not worth finishing
        return "pruned", str(pruned), None
    except Diverged as diverged:
        rate = _rate_key(experiment_config)
        message = f"{diverged}; the learning rate is likely too high: lower {rate} or set train.grad_clip"
        kept = (
            "Checkpoints/last.pt holds the last finite weights"
            if run.last_checkpoint.exists()
            else "No checkpoint was written before it"
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
        message = out_of_memory_advice(experiment_config.train.batch_size, experiment_config.train.accumulate_steps)
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
    from learnai_cli.registry.plugins import describe_exception

    message = describe_exception(failure)  # with the line of the user's own code (a plugin) that raised it
    run.log(traceback.format_exc())
    return "failed", message, RunFailed(f"run {run.id} failed: {message} (traceback in {run.log_path})")


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
        **({"mlflow": meta["mlflow"]} if meta.get("mlflow") else {}),
    }
