"""`learnai train --resume`: whether a run can be continued, the experiment and checkpoint to continue it from, and
raising the epoch budget of a run (`--resume RUN train.epochs=N`).

The run's lock is held while these checks run and until training ends.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Optional

from learnai_cli.commands.train.meta import now
from learnai_cli.errors import UsageError, short_repr
from learnai_cli.log import logger
from learnai_cli.rundir import RunDir

EPOCHS_KEY = "train.epochs"


def check_overrides(overrides: list[str]) -> list[str]:
    """--resume takes no override but train.epochs=N (raising the run's epoch budget)."""
    for override in overrides:
        if override.partition("=")[0].strip() != EPOCHS_KEY:
            raise UsageError(
                "--resume continues a run with its saved config; only train.epochs may be raised (got "
                f"{override}): start a new run, or use --init-from RUN to start from its weights"
            )
    return overrides


def resume(
    root: Path, run_id: str, command: list[str], interactive: bool, overrides: list[str] = ()
) -> Optional[dict[str, Any]]:
    """Continue a run from its last.pt in the same directory: weights, optimizer, schedule, data order, RNGs; with
    `train.epochs=N` up to N epochs (config.yaml then records N and meta.json the extension)."""
    from learnai_cli import rundir
    from learnai_cli.commands.train import run as training
    from learnai_cli.data import fingerprint as data_fingerprint
    from learnai_cli.engine.distributed import from_environment as distributed_job

    overrides = check_overrides(list(overrides))
    with training.interrupting_on_signals():
        run = rundir.resolve(root, run_id)
        job = distributed_job()
        if not job.is_main:  # other ranks follow rank 0, which owns the run and checks it
            experiment, checkpoint = resumable(run, job, overrides=overrides)
            saved = (checkpoint.get("config") or {}).get("train") or {}
            if saved.get("epochs") != experiment.experiment_config.train.epochs:  # extended, as rank 0 checked
                clear_stop(checkpoint)
            return training.fit_worker(experiment, checkpoint)
        with run.lock():  # before anything is read or rewritten: a second resume is refused here
            meta = check_resumable(run, extending=bool(overrides))
            experiment, checkpoint = resumable(run, job, completed_check=not meta, overrides=overrides)
            extension = check_extension(run, experiment.experiment_config, checkpoint)
            if extension is None and overrides:
                check_resumable(run)  # train.epochs as it was: a plain resume, which a completed run refuses
            check_optimizer_state(experiment.optimizer, checkpoint, run)
            check_files_writable(run)
            warn_if_source_changed(run, meta, experiment.experiment_config, extending=bool(extension or overrides))
            data_section = experiment.experiment_config.data
            data_fingerprint.warn_if_changed(run.data_fingerprint_path, data_section.name, data_section.kwargs)
            with training.starting(run, new_run=False):
                if extension:
                    clear_stop(checkpoint)
                trainer = training.make_trainer(experiment, checkpoint, run.last_checkpoint)  # a misfit fails here
                _forget_a_lost_best(run, trainer)
                _reopen(run, meta, checkpoint, experiment.experiment_config, extension)
                at = f"epoch {checkpoint['epoch']}, step {checkpoint['step']}"
                run.log(f"resumed from last.pt at {at}: {' '.join(command)}")
            return training.fit(run, experiment, command, interactive, trainer)


def _forget_a_lost_best(run: RunDir, trainer) -> None:
    """best.pt deleted or damaged since the run stopped: those weights are gone, so the best is tracked afresh and
    the next validated epoch writes best.pt (else it would stay missing unless a later epoch beat the lost one)."""
    from learnai_cli.rundir.status import is_torch_archive

    state, path = trainer.state, run.checkpoint("best")
    if state.best_value is None or (path.is_file() and is_torch_archive(path)):
        return
    logger.warning(
        f"{path} is {'damaged' if path.exists() else 'missing'}: the best epoch so far ({trainer.settings.monitor} "
        f"{state.best_value:.4g} at epoch {state.best_epoch}) is lost; the next epoch's weights start best.pt again"
    )
    state.best_value = state.best_epoch = None
    state.epochs_without_improvement = 0


def _reopen(run: RunDir, meta: dict[str, Any], checkpoint: dict[str, Any], experiment_config, extension) -> None:
    """The run's files set back to its checkpoint, and meta.json (and config.yaml, when extended) rewritten."""
    run.clean_temp_files()
    run.keep_metrics_up_to(checkpoint["step"])  # records after the checkpoint will be produced again
    state = checkpoint["train_state"]
    run.keep_predictions_up_to(checkpoint["epoch"] if state["batches_done"] == 0 else checkpoint["epoch"] - 1)
    fields: dict[str, Any] = {}
    if extension:
        run.write_config(experiment_config.to_dict())
        old, new = extension
        fields["extended"] = [*meta.get("extended", []), {"at": now(), "epochs": [old, new]}]
    run.update_meta(
        status="running",
        message="",
        pid=os.getpid(),
        host=socket.gethostname(),
        locked=True,
        resumed=[*meta.get("resumed", []), now()],
        **fields,
    )


def check_resumable(run: RunDir, extending: bool = False) -> dict[str, Any]:
    """The run's meta when it can be resumed (we hold its lock); refuse running and damaged runs, and completed ones
    unless their epoch budget is being raised."""
    from learnai_cli.rundir import status as runstatus

    meta = run.meta()  # a damaged meta.json raises DamagedRun
    status = runstatus.run_status(run, own_lock=True)[0] if meta else "unknown"
    if status == "completed" and not extending:
        done = meta.get("epochs_completed")
        raise UsageError(
            f"run {run.id} already completed ({done} epochs); nothing to resume. To train it further: learnai "
            f"train --resume {run.id} train.epochs=N (N > {done}), or start a new run from its weights with "
            f"--init-from {run.id}"
        )
    if status == "running":
        raise UsageError(
            f"run {run.id} is still running (pid {meta.get('pid')} on {meta.get('host')}); stop it before resuming"
        )
    if not run.last_checkpoint.is_file():
        raise UsageError(_no_last_checkpoint(run, meta))
    return meta


def _no_last_checkpoint(run: RunDir, meta: dict[str, Any]) -> str:
    """Why there is nothing to resume from: never written (stopped early) or lost since; and what can be done."""
    missing = f"run {run.id} has no checkpoints/last.pt to resume from"
    if not meta.get("epochs_completed"):
        return f"{missing} (it stopped before its first checkpoint); train it again: learnai train <config>"
    lost = f"{missing}: it was deleted or moved (the run completed {meta['epochs_completed']} epoch(s))"
    if run.checkpoint("best").is_file():
        return f"{lost}. Its best.pt remains: start a new run from those weights with --init-from {run.id}"
    return f"{lost}, and it has no best.pt either: restore last.pt to resume, or train it again"


def resumable(run: RunDir, job, completed_check: bool = False, overrides: list[str] = ()):
    """The experiment rebuilt from the run's config (with `overrides`) and its last.pt; refuses a checkpoint that is
    not resumable."""
    from learnai_cli import config as config_module
    from learnai_cli.experiment import build_experiment
    from learnai_cli.plots import process as plot_process
    from learnai_cli.recorders.loggers import require_loggers

    experiment_config = config_module.validate(
        run.read_config(), source=str(run.config_path), overrides=list(overrides), base_dir=run.path
    )
    require_loggers(experiment_config.train.loggers)
    threads = run.meta(strict=False).get("threads")
    experiment = build_experiment(experiment_config, job=job, threads=threads, own_pids=plot_process.helper_pids())
    return experiment, resumable_checkpoint(run, experiment_config, completed_check)


def resumable_checkpoint(run: RunDir, experiment_config, completed_check: bool = False) -> dict[str, Any]:
    """The run's last.pt, refused when it lacks what a resume restores (or, for a run without meta.json, says the
    run completed)."""
    from learnai_cli.engine.checkpoint import load_checkpoint

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
    return checkpoint


def check_before_launch(run: RunDir, overrides: list[str]):
    """--nproc-per-node: the refusals rank 0 would make after torchrun started every worker, made once here (under
    the run's lock, which rank 0 takes again): a run that cannot be resumed, an epoch budget that cannot be raised,
    a checkpoint that cannot resume, a file the resume cannot write. The run's validated config."""
    from learnai_cli import config as config_module

    overrides = check_overrides(list(overrides))
    with run.lock():
        meta = check_resumable(run, extending=bool(overrides))
        experiment_config = config_module.validate(
            run.read_config(), source=str(run.config_path), overrides=overrides, base_dir=run.path
        )
        checkpoint = resumable_checkpoint(run, experiment_config, completed_check=not meta)
        if check_extension(run, experiment_config, checkpoint) is None and overrides:
            check_resumable(run)  # train.epochs as it was: a plain resume, which a completed run refuses
        check_files_writable(run)
    return experiment_config


def check_files_writable(run: RunDir) -> None:
    """Every file a resume rewrites (or appends to) can be written, checked before any of them is: a resume that
    fails on its log must not have rewritten the run as failed."""
    from learnai_cli.rundir.writable import check_files_writable as check

    replaced = [run.meta_path, run.config_path, run.metrics_path, run.metrics_csv_path, run.predictions_path]
    replaced += [run.last_checkpoint, run.best_checkpoint]
    check(run.id, [run.path, run.checkpoints], replaced, appended=[run.log_path])


def check_extension(run: RunDir, experiment_config, checkpoint: dict[str, Any]) -> Optional[tuple[int, int]]:
    """(old, new) epoch budget when train.epochs is being raised; None when it is unchanged. Refuses a budget that
    is not above the epochs already done, a lower one, a scheduler built from the epoch count, and a run that
    train.max_steps ended (only train.epochs may change, so it would stop again at once)."""
    train = experiment_config.train
    old, new = (run.read_config().get("train") or {}).get("epochs"), train.epochs
    done = checkpoint["epoch"] if checkpoint["train_state"].get("batches_done", 0) == 0 else checkpoint["epoch"] - 1
    if new == old:
        return None
    if new <= done:
        raise UsageError(f"run {run.id} has completed {done} epochs: train.epochs={new} must be more than that")
    if isinstance(old, int) and new < old:
        raise UsageError(f"run {run.id} trains for {old} epochs: --resume can only raise train.epochs, not lower it")
    from learnai_cli.experiment.build import schedule_built_from_epochs

    scheduler = experiment_config.scheduler
    if scheduler is not None and schedule_built_from_epochs(scheduler.name):
        raise UsageError(
            f"run {run.id} uses scheduler '{scheduler.name}', whose schedule is built from train.epochs: it cannot "
            f"be stretched to {new} epochs. Start a new run from its weights instead: learnai train CONFIG "
            f"--init-from {run.id}"
        )
    if train.max_steps is not None and checkpoint["step"] >= train.max_steps:
        raise UsageError(
            f"run {run.id} ended at train.max_steps={train.max_steps}, which --resume cannot change: start a new "
            f"run from its weights with --init-from {run.id}"
        )
    return old, new


def warn_if_source_changed(run: RunDir, meta: dict[str, Any], experiment_config, extending: bool) -> None:
    """--resume trains with the run's own config.yaml: say so, and when the config file the run was started from
    (meta.json's command) now gives other values, name the keys that differ, which this resume does not use."""
    from learnai_cli import config as config_module
    from learnai_cli.errors import LearnaiError

    source, overrides, plugins = _source_of(meta)
    note = f"resuming with the run's own {run.config_path.name} (--resume never rereads a config file)"
    if source is None or not source.is_file():
        logger.info(note)
        return
    try:
        now = config_module.load(source, overrides, plugins=plugins).to_dict()
    except LearnaiError as error:
        logger.info(f"{note}; {source} no longer validates ({error.message.splitlines()[0]})")
        return
    except Exception:  # only a courtesy: whatever the file does now, the resume goes on with config.yaml
        logger.info(note)
        return
    differ = [
        (key, old, new)
        for key, old, new in _differences(experiment_config.to_dict(), now)
        if not (key == EPOCHS_KEY and (extending or meta.get("extended")))  # raised by --resume, not in the file
        and new != "auto"  # decided when the run started (train.precision auto: fp32) and recorded so
    ]
    if not differ:
        logger.info(note)
        return
    shown = "; ".join(f"{key}: {short_repr(old)} here, {short_repr(new)} in the file" for key, old, new in differ[:6])
    more = f"; and {len(differ) - 6} more" if len(differ) > 6 else ""
    epochs = (
        f" (train.epochs can be raised: learnai train --resume {run.id} train.epochs=N)"
        if any(key == EPOCHS_KEY for key, _, _ in differ)
        else ""
    )
    logger.warning(
        f"{source} changed since run {run.id} started: {shown}{more}. {note.capitalize()}, so those changes are NOT "
        f"used{epochs}. To train with them, start a new run: learnai train {source} (add --init-from {run.id} to "
        "start from its weights)"
    )


def _source_of(meta: dict[str, Any]) -> tuple[Optional[Path], list[str], list[str]]:
    """The config file, overrides and plugins of the `learnai train CONFIG ...` that started a run (meta.json)."""
    command, cwd = meta.get("command"), meta.get("cwd")
    if not isinstance(command, list) or len(command) < 3 or command[:2] != ["learnai", "train"]:
        return None, [], []
    if not all(isinstance(part, str) for part in command) or command[2].startswith("-"):
        return None, [], []
    path = Path(command[2])
    path = path if path.is_absolute() or not isinstance(cwd, str) else Path(cwd) / path
    rest = command[3:]
    plugins = [part.partition("=")[2] for part in rest if part.startswith("--plugin=")]
    return path, [part for part in rest if not part.startswith("-")], plugins


def _differences(ran: dict[str, Any], now: dict[str, Any], prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(key.path, value in the run, value in the file) for every leaf that differs."""
    found = []
    for key in sorted(set(ran) | set(now), key=str):
        old, new = ran.get(key), now.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            found += _differences(old, new, f"{prefix}{key}.")
        elif old != new:
            found.append((f"{prefix}{key}", old, new))
    return found


def check_optimizer_state(optimizer, checkpoint: dict[str, Any], run: RunDir) -> None:
    """Refuse, before any file is rewritten, a last.pt whose optimizer state this run's optimizer cannot step with
    (written by another optimizer: torch's load_state_dict takes it and the first step fails). A copy of the
    optimizer over one-number parameters takes the checkpoint's settings and steps once; its state must have the
    checkpoint's keys."""
    import torch

    source, saved = run.last_checkpoint, checkpoint.get("optimizer")
    if not isinstance(saved, dict) or not isinstance(saved.get("param_groups"), list):
        raise UsageError(f"checkpoint {source} holds no optimizer state: it cannot be resumed")
    groups, state = saved["param_groups"], saved.get("state") or {}
    if len(groups) != len(optimizer.param_groups) or not all(isinstance(group, dict) for group in groups):
        return  # the optimizer's own load_state_dict names this misfit
    device = next((p.device for group in optimizer.param_groups for p in group["params"]), torch.device("cpu"))
    tiny = [torch.zeros(1, device=device, requires_grad=True) for _ in groups]
    try:
        probe = type(optimizer)([{**group, "params": [p]} for group, p in zip(optimizer.param_groups, tiny)])
    except Exception:  # an optimizer that cannot be copied this way (a plugin's): torch's own checks remain
        return
    probe.param_groups = [
        {**{k: v for k, v in saved_group.items() if k != "params"}, "params": [p]}
        for saved_group, p in zip(groups, tiny)
    ]
    for p in tiny:
        p.grad = torch.zeros_like(p)
    problem = None
    try:
        probe.step()
    except KeyError as error:  # a setting this optimizer needs is not in the checkpoint's
        problem = f"its settings lack {error}"
    except Exception:  # e.g. an optimizer whose step needs a closure: not judged here, torch's checks remain
        return
    expected = {key for values in probe.state.values() for key in values}
    found = {key for values in state.values() if isinstance(values, dict) for key in values}
    if problem is None and state and expected and found != expected:
        problem = (
            f"it holds {', '.join(sorted(map(str, found)))} where this optimizer keeps {', '.join(sorted(expected))}"
        )
    if problem:
        name = type(optimizer).__name__
        raise UsageError(
            f"checkpoint {source}: its optimizer state was written by another optimizer than this run's {name} "
            f"({problem}); nothing was changed. Put back the run's own last.pt, or start a new run from these "
            f"weights: learnai train CONFIG --init-from {run.id}"
        )


def clear_stop(checkpoint: dict[str, Any]) -> None:
    """A run given more epochs trains on: an early stop (or stop_when) recorded in its checkpoint is cleared, and
    early stopping starts a fresh patience. A run that did not stop is left exactly as it was."""
    if checkpoint.get("should_stop"):
        checkpoint["should_stop"], checkpoint["stop_reason"] = False, ""
        checkpoint["train_state"] = {**checkpoint["train_state"], "epochs_without_improvement": 0}
