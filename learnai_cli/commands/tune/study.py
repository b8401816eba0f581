"""The Optuna side of `learnai tune`: storage, sampler, pruner, and how many trials a study has finished.

Optuna is imported inside these functions only; `require_optuna` turns its absence into one clear message.
"""

from __future__ import annotations

import fcntl
import os
import socket
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from learnai_cli.errors import UsageError, clip, first_line
from learnai_cli.rundir import STUDY_ASK_LOCK, STUDY_DB

__all__ = [
    "SAMPLERS",
    "PRUNERS",
    "INSTALL",
    "require_optuna",
    "storage_url",
    "open_storage",
    "open_study",
    "load_study",
    "make_sampler",
    "make_pruner",
    "counted",
    "fail_abandoned",
    "finished",
    "content_hash",
    "check_same_experiment",
    "ask_lock",
    "owner_attrs",
]

SAMPLERS = ("tpe", "random", "grid", "cmaes")
PRUNERS = ("median", "hyperband", "none")
INSTALL = "pip install 'learnai[tune]'"
JOURNAL_PREFIX = "journal:"  # --storage journal:PATH: Optuna's journal file storage (a shared filesystem)


def require_optuna():
    """The optuna module, or exit 2 saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise UsageError(f"learnai tune needs Optuna, which is not installed: {INSTALL}") from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # learnai prints its own line per trial
    return optuna


def storage_url(option: str | None, folder: Path) -> str:
    """--storage as given, else the study folder's SQLite file; an in-memory database is refused (gone at exit)."""
    if option is not None and (option.rstrip("/") in ("sqlite:", "sqlite:/") or ":memory:" in option):
        raise UsageError(
            f"--storage '{clip(option)}' is an in-memory database: the study would be gone when the command ends. "
            "Give a file (sqlite:///path/study.db), a database server URL or journal:PATH, or leave --storage out"
        )
    return option or f"sqlite:///{(folder / STUDY_DB).resolve()}"


def open_storage(url: str):
    """An Optuna storage for a database URL or journal:PATH; a URL Optuna cannot use is exit 2."""
    optuna = require_optuna()
    try:
        if url.startswith(JOURNAL_PREFIX):
            from optuna.storages.journal import JournalFileBackend

            return optuna.storages.JournalStorage(JournalFileBackend(url[len(JOURNAL_PREFIX) :]))
        return optuna.storages.RDBStorage(url, engine_kwargs=_engine_options(url))
    except Exception as error:  # a bad URL, a missing database driver, an unreachable server
        raise UsageError(
            f"--storage '{clip(url)}' cannot be opened: {first_line(error, 200)}. Give a database URL "
            "(sqlite:///path.db, postgresql://user@host/db, mysql://...) or journal:PATH"
        ) from None


def _engine_options(url: str) -> dict[str, Any]:
    """SQLite shared by several worker processes: wait for a busy database instead of failing at once."""
    return {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}


def open_study(name: str, url: str, direction: str, sampler, pruner):
    """Create the study, or continue it when it exists (a continued study keeps its recorded direction)."""
    optuna = require_optuna()
    storage = open_storage(url)
    study = optuna.create_study(
        study_name=name, storage=storage, sampler=sampler, pruner=pruner, direction=direction, load_if_exists=True
    )
    if study.direction.name.lower() != direction:
        raise UsageError(
            f"study '{name}' in {clip(url)} was created to {study.direction.name.lower()} its objective, but this "
            f"config's train.mode asks to {direction}; use another --study name"
        )
    return study


def load_study(name: str, url: str):
    """An existing study, read back (no sampler needed); exit 2 naming the studies the storage holds."""
    optuna = require_optuna()
    storage = open_storage(url)
    names = [summary.study_name for summary in optuna.get_all_study_summaries(storage)]
    if name not in names:
        from learnai_cli.errors import did_you_mean

        held = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "") or "none"
        raise UsageError(f"no study '{name}' in {clip(url)}.{did_you_mean(name, names)} Studies there: {held}")
    return optuna.load_study(study_name=name, storage=storage)


def make_sampler(kind: str, seed: int, grid: dict[str, list[Any]] | None = None, trials: int = 30):
    """TPE draws its first max(3, min(10, trials // 3)) points at random (Optuna's 10 would leave a 9-trial study
    purely random)."""
    optuna = require_optuna()
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "grid":

        class GridSampler(optuna.samplers.GridSampler):
            def after_trial(self, study, trial, state, values) -> None:
                """learnai counts trials itself; Optuna's own stop works only inside study.optimize (not ask/tell)."""

        return GridSampler(grid or {}, seed=seed)
    if kind == "cmaes":  # continuous keys; choices are sampled at random beside it
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(3, min(10, trials // 3)))


def make_pruner(kind: str, epochs: int):
    """median: stop a trial whose monitored value is worse than the median of earlier trials at the same epoch (after
    3 finished trials, never in the first tenth of training); hyperband: successive halving over 1..epochs."""
    optuna = require_optuna()
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=epochs // 10)
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, epochs))
    return optuna.pruners.NopPruner()


def counted(trial) -> bool:
    """Whether a trial counts toward --trials: finished (completed, pruned, failed, diverged) or running now. An
    interrupted one does not: a continued study trains it again."""
    state = trial.state.name
    if state == "FAIL":  # a trial learnai failed on purpose says why; an interrupted or abandoned one does not count
        return trial.user_attrs.get("status") in ("failed", "diverged")
    return state in ("COMPLETE", "PRUNED", "RUNNING")


def owner_attrs() -> dict[str, Any]:
    """Who runs a trial: an abandoned trial (its process killed) is recognised by these."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": datetime.now().isoformat(timespec="seconds")}


def fail_abandoned(study, url: str, root: Path) -> int:
    """Trials of this machine left RUNNING by a process that is gone (kill -9, a crash) are marked crashed, with
    the run they trained, so they stop counting and a continued study trains others in their place."""
    from learnai_cli.commands.tune.trials import trial_run
    from learnai_cli.rundir.status import effective_status

    abandoned, storage = 0, None
    for trial in study.get_trials(deepcopy=False):
        if trial.state.name != "RUNNING" or trial.user_attrs.get("host") != socket.gethostname():
            continue  # another machine's trial may run for hours: only its own machine can tell it is gone
        attrs = trial.user_attrs
        owner = {
            "status": "running",
            "host": attrs.get("host"),
            "pid": attrs.get("pid"),
            "heartbeat": attrs.get("started"),
        }
        if effective_status(owner) == "crashed":
            found = trial_run(root, study.study_name, trial.number)
            record = {"status": "crashed", "message": "its process was killed or crashed"}
            # the trial is another process's: its attrs are set through the storage (opened only for this rare case)
            storage = storage or open_storage(url)
            study_id = storage.get_study_id_from_name(study.study_name)
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            for key, value in {**record, **({"run_id": found[0]} if found else {})}.items():
                storage.set_trial_user_attr(trial_id, key, value)
            study.tell(trial.number, state=_state("FAIL"), skip_if_finished=True)
            abandoned += 1
    return abandoned


def finished(study, number: int) -> bool:
    """Whether trial `number` has been told (it is no longer RUNNING)."""
    return any(t.number == number and t.state.name != "RUNNING" for t in study.get_trials(deepcopy=False))


def _state(name: str):
    return getattr(require_optuna().trial.TrialState, name)


@contextmanager
def ask_lock(folder: Path) -> Iterator[None]:
    """Held while a worker counts the study's trials and asks for the next one, so workers on this machine never
    start more than --trials between them."""
    from learnai_cli.atomic import open_in_place

    try:
        handle = open_in_place(folder / STUDY_ASK_LOCK)  # a symbolic link there is replaced, never written through
    except OSError as error:
        raise UsageError(f"cannot lock study folder {folder}: {error.strerror or error} ({STUDY_ASK_LOCK})") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing drops the flock


def content_hash(path: Path) -> str:
    """The config's content but its search: section, not its path: machines sharing a study keep their copies in
    different places."""
    import hashlib
    import json

    from learnai_cli import config as config_module

    raw = {k: v for k, v in config_module.read_yaml(Path(path)).items() if k != "search"}
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()


def check_same_experiment(study, config_path: Path, overrides: list[str], params: list) -> None:
    """A continued study trains the experiment it was started with: another config or other plain overrides would
    rank trials of different experiments against each other. (The search space may change where Optuna allows.)"""
    attrs = study.user_attrs
    differs = []
    if attrs.get("config_sha256", content_hash(config_path)) != content_hash(config_path):
        differs.append(f"another config, {attrs['config']} as it was then (this command: {config_path})")
    if list(attrs.get("overrides", [])) != overrides:
        given = " ".join(overrides) or "none"
        differs.append(f"overrides {' '.join(attrs.get('overrides', [])) or 'none'} (this command: {given})")
    differs += _changed_kinds(attrs.get("search", []), params)
    if differs:
        raise UsageError(
            f"study {study.study_name} was started with {'; '.join(differs)}. Continue it with the same config and "
            "overrides (a range's bounds may change, and keys may be added), or give another --study name"
        )


def _changed_kinds(recorded: list[str], params: list) -> list[str]:
    """Optuna keeps each key's kind of search (and a choice's values) for the whole study."""
    from learnai_cli.commands.tune.search_space import parse

    now = {param.key: param for param in params}
    changed = []
    for spec in recorded:
        old = parse(spec)
        new = now.get(old.key)
        if new is not None and (old.kind != new.kind or (old.kind == "choice" and old.choices != new.choices)):
            changed.append(f"{old.key}={old.text} (this command: {new.key}={new.text})")
    return changed
