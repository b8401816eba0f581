"""The Optuna side of `learnai tune`: storage, sampler, pruner, and how many trials a study has finished.

Optuna is imported inside these functions only; `require_optuna` turns its absence into one clear message.
"""

from __future__ import annotations

import fcntl
import os
import socket
import zlib
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from learnai_cli.commands.tune.storage import INSTALL, open_storage, require_optuna, shown_url
from learnai_cli.errors import UsageError
from learnai_cli.rundir import STUDY_ASK_LOCK

__all__ = [
    "SAMPLERS",
    "PRUNERS",
    "INSTALL",
    "require_optuna",
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


def open_study(name: str, url: str, direction: str, sampler, pruner):
    """Create the study, or continue it when it exists (a continued study keeps its recorded direction)."""
    optuna = require_optuna()
    storage = open_storage(url)
    study = optuna.create_study(
        study_name=name, storage=storage, sampler=sampler, pruner=pruner, direction=direction, load_if_exists=True
    )
    if study.direction.name.lower() != direction:
        raise UsageError(
            f"study '{name}' in {shown_url(url)} was created to {study.direction.name.lower()} its objective, but this "
            f"config's train.mode asks to {direction}; use another --study name"
        )
    return study


def load_study(name: str, url: str):
    """An existing study, read back (no sampler needed); exit 2 naming the studies the storage holds."""
    optuna = require_optuna()
    storage = open_storage(url, must_exist=True)
    names = [summary.study_name for summary in optuna.get_all_study_summaries(storage)]
    if name not in names:
        from learnai_cli.errors import did_you_mean

        held = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "") or "none"
        raise UsageError(f"no study '{name}' in {shown_url(url)}.{did_you_mean(name, names)} Studies there: {held}")
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


def reseed_for_trial(sampler, seed: int, number: int) -> None:
    """Draw trial `number`'s values from a seed of its own (the config's seed and the number): Optuna numbers trials
    across every process and machine of a study, so processes started together never draw the same points, while a
    study run again by one process draws the same ones. (A grid point is chosen at ask time: see before_ask.)"""
    random_state = _lazy_random_state()
    if random_state is None or _is_grid(sampler):
        return
    trial_seed = (seed * 1_000_003 + number) % 2**32
    for owner in (sampler, getattr(sampler, "_random_sampler", None), getattr(sampler, "_independent_sampler", None)):
        if owner is not None and hasattr(owner, "_rng"):
            owner._rng = random_state(trial_seed)


def before_ask(sampler, seed: int, trials_so_far: int) -> None:
    """The grid sampler picks an unvisited point at random when a trial is asked for: seeded by this host and
    process too, so machines started together on one study do not pick the same point (the grid is the same)."""
    random_state = _lazy_random_state()
    if random_state is not None and _is_grid(sampler):
        salt = zlib.crc32(f"{socket.gethostname()}:{os.getpid()}".encode())
        sampler._rng = random_state((seed * 1_000_003 + trials_so_far + salt) % 2**32)


def _is_grid(sampler) -> bool:
    return isinstance(sampler, require_optuna().samplers.GridSampler)


def _lazy_random_state():
    try:
        from optuna.samplers._lazy_random_state import LazyRandomState
    except ImportError:  # another Optuna: its own seeding stays
        return None
    return LazyRandomState


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


OWNER_KEYS = {"host", "pid", "started"}


def owner_attrs() -> dict[str, Any]:
    """Who runs a trial: an abandoned trial (its process killed) is recognised by these."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": datetime.now().isoformat(timespec="seconds")}


def fail_abandoned(study, url: str, root: Path) -> int:
    """Trials of this machine left RUNNING by a process that is gone (kill -9, a crash; a zombie not yet reaped, or
    a pid since reused, counts as gone) are told as their run on disk ended (a run that completed keeps its value),
    else as crashed, with the run they trained, so a continued study trains others in their place. A trial whose run
    is locked by a live process is never touched."""
    from learnai_cli.commands.tune.trials import trial_run

    abandoned, storage = 0, None
    for trial in study.get_trials(deepcopy=False):
        if trial.state.name != "RUNNING" or trial.user_attrs.get("host") != socket.gethostname():
            continue  # another machine's trial may run for hours: only its own machine can tell it is gone
        if not OWNER_KEYS <= trial.user_attrs.keys():
            continue  # its process is still writing who it is (one attr at a time; without a shared lock, seen midway)
        if _trial_alive(trial.user_attrs):
            continue
        found = trial_run(root, study.study_name, trial.number)
        if found and _run_locked(root / found[0]):
            continue
        state, value, record = _abandoned_ending(found)
        # the trial is another process's: its attrs are set through the storage (opened only for this rare case)
        storage = storage or open_storage(url)
        study_id = storage.get_study_id_from_name(study.study_name)
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        for key, attr in {**record, **({"run_id": found[0]} if found else {})}.items():
            storage.set_trial_user_attr(trial_id, key, attr)
        study.tell(trial.number, value, state=_state(state), skip_if_finished=True)
        abandoned += 1
    return abandoned


def _trial_alive(attrs: dict[str, Any]) -> bool:
    from learnai_cli.rundir.status import process_alive

    try:
        started = datetime.fromisoformat(str(attrs.get("started"))).timestamp()
    except ValueError:
        started = None
    return process_alive(attrs.get("pid"), started)


def _run_locked(path: Path) -> bool:
    from learnai_cli.rundir import RunDir
    from learnai_cli.rundir.lock import lock_holder

    return lock_holder(RunDir(path).lock_path) is not None


def _abandoned_ending(found) -> tuple[str, float | None, dict[str, Any]]:
    """(Optuna state, value, attrs) of an abandoned trial, from its run when it has one."""
    from learnai_cli.commands.tune.trials import ending

    status, value = ending(found[1]) if found else ("crashed", None)
    if status == "completed" and value is not None:
        return "COMPLETE", value, {"status": "completed"}
    if status in ("pruned", "diverged"):
        return "PRUNED", None, {"status": status}
    if status == "failed":
        return "FAIL", None, {"status": "failed", "message": str(found[1].get("message") or "")[:500]}
    return "FAIL", None, {"status": "crashed", "message": "its process was killed or crashed"}


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
