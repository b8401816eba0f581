"""The Optuna side of `learnai tune`: storage, sampler, pruner, and how many trials a study has finished.

Optuna is imported inside these functions only; `require_optuna` turns its absence into one clear message.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from learnai_cli.errors import UsageError, clip, first_line, hide_credentials
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
STORAGE_VARIABLE = "LEARNAI_TUNE_STORAGE"  # --storage's default: keeps a password off command lines
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


def shown_url(url: str) -> str:
    """A storage URL as messages show it: its password masked, clipped."""
    return clip(hide_credentials(url))


def open_storage(url: str, must_exist: bool = False):
    """An Optuna storage for a database URL or journal:PATH; a URL Optuna cannot use is exit 2. A file that is there
    but holds no study (a text file given as a journal) is refused before anything is written to it; with
    must_exist (reading a study back), so is a file that is not there, which would otherwise be made empty."""
    optuna = require_optuna()
    check_storage_file(url, must_exist)
    try:
        if url.startswith(JOURNAL_PREFIX):
            from optuna.storages.journal import JournalFileBackend

            return optuna.storages.JournalStorage(JournalFileBackend(url[len(JOURNAL_PREFIX) :]))
        return optuna.storages.RDBStorage(url, engine_kwargs=_engine_options(url))
    except ImportError as error:  # SQLAlchemy maps postgresql:// to psycopg (3), mysql:// to MySQLdb
        raise UsageError(_missing_driver(url, error)) from None
    except Exception as error:  # a bad URL, an unreachable server, a locked or read-only database
        raise UsageError(
            f"--storage '{shown_url(url)}' cannot be opened: {hide_credentials(first_line(error, 200))}. "
            f"{database_hint(error)}Give a database URL (sqlite:///path.db, postgresql+psycopg2://user@host/db, "
            "mysql+pymysql://...) or journal:PATH"
        ) from None


DRIVERS = {
    "psycopg": "pip install 'psycopg[binary]' (or write postgresql+psycopg2:// and pip install psycopg2-binary)",
    "psycopg2": "pip install psycopg2-binary",
    "MySQLdb": "pip install mysqlclient (or write mysql+pymysql:// and pip install PyMySQL)",
    "pymysql": "pip install PyMySQL",
}


def _missing_driver(url: str, error: ImportError) -> str:
    cause = error.__cause__ or error.__context__
    module = getattr(cause, "name", None) or getattr(error, "name", None)
    if not module:
        return f"--storage '{shown_url(url)}' needs a database driver that is not installed ({first_line(error)})"
    install = DRIVERS.get(module.split(".")[0], f"install the package that provides the module '{module}'")
    return (
        f"--storage '{shown_url(url)}' needs the database driver module '{module}', which is not installed: {install}"
    )


def database_hint(error: BaseException) -> str:
    """What to do about a database error, from its text: locked by another process, read-only."""
    text = str(error).lower()
    if "database is locked" in text:
        return "Another process held the study database locked for 60 s: let it finish and run the same command again. "
    if "readonly" in text or "read-only" in text:
        return "The study database (or its folder) is read-only: make it writable, or copy it to a writable place. "
    return ""


@contextmanager
def database_errors(url: str, error_type: type) -> Iterator[None]:
    """A database error (locked past the wait, read-only, gone) as one line of `error_type` naming what to do."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except SQLAlchemyError as error:
        raise error_type(
            f"the study storage {shown_url(url)} failed: {hide_credentials(first_line(error, 200))}. "
            f"{database_hint(error) or 'Check the database and run the same command again (a study continues). '}"
        ) from None


def retrying_creation(create, attempts: int = 5):
    """Run `create` (make or load a study) again when another process made the same tables or study meanwhile
    ("table studies already exists", a UNIQUE constraint): the second try finds what the first one made."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    for attempt in range(attempts):
        try:
            return create()
        except (IntegrityError, OperationalError) as error:
            if attempt == attempts - 1 or not ("already exists" in str(error) or "UNIQUE" in str(error)):
                raise
            time.sleep(0.1 * (attempt + 1))
    return create()


def check_storage_file(url: str, must_exist: bool) -> None:
    """Refuse a journal or SQLite file that exists but holds no study, or (must_exist) is not there at all."""
    if url.startswith(JOURNAL_PREFIX):
        path, kind = Path(url[len(JOURNAL_PREFIX) :]), "an Optuna study journal"
    elif url.startswith("sqlite:"):
        from sqlalchemy.engine import make_url

        try:
            database = make_url(url).database
        except Exception:
            return  # Optuna says what is wrong with the URL
        if not database:
            return
        path, kind = Path(database), "a SQLite database"
    else:
        return
    if not path.name:
        raise UsageError(f"--storage '{shown_url(url)}' names no file: give journal:PATH or sqlite:///PATH")
    if not os.path.lexists(path):
        if must_exist:
            raise UsageError(
                f"--storage '{shown_url(url)}': there is no file {clip(path)}, so no study to show (learnai does not "
                "make an empty one); give the storage the study was run with"
            )
        return
    problem = _storage_problem(path, kind)
    if problem:
        raise UsageError(
            f"--storage '{shown_url(url)}': {clip(path)} {problem}, so learnai will not write to it; give the file "
            "of an existing study, or a path where no file is yet (to start a new study)"
        )


def _storage_problem(path: Path, kind: str) -> str | None:
    import stat as stat_module

    try:
        if not stat_module.S_ISREG(path.stat().st_mode):
            return "is not a regular file"
        with path.open("rb") as file:
            head = file.read(4096)
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    if not head:
        return None  # an empty file: Optuna makes its study there
    if kind.startswith("a SQLite"):
        return None if head.startswith(b"SQLite format 3\0") else f"is not {kind}"
    import json

    try:
        record = json.loads(head.split(b"\n", 1)[0])
    except ValueError:
        record = None
    return None if isinstance(record, dict) and "op_code" in record else f"is not {kind}"


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
