"""Where a `learnai tune` study is kept: --storage checked (a file that holds no study is never written to; a missing
one is never made for --show), opened, and its database errors told in one line with the password masked."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from learnai_cli.errors import UsageError, clip, first_line, hide_credentials
from learnai_cli.rundir import STUDY_DB

__all__ = [
    "INSTALL",
    "require_optuna",
    "STORAGE_VARIABLE",
    "storage_url",
    "shown_url",
    "open_storage",
    "database_errors",
    "retrying_creation",
    "creation_race",
    "creation_lock",
    "WAIT_VARIABLE",
    "lock_wait_s",
]

STORAGE_VARIABLE = "LEARNAI_TUNE_STORAGE"  # --storage's default: keeps a password off command lines
JOURNAL_PREFIX = "journal:"  # --storage journal:PATH: Optuna's journal file storage (a shared filesystem)
INSTALL = "pip install 'learnai[tune]'"
WAIT_VARIABLE = "LEARNAI_TUNE_DB_WAIT"  # seconds a SQLite study database locked by another process is waited for
DEFAULT_WAIT_S = 60.0


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
    options = _engine_options(url)
    try:
        with creation_lock(url):  # the first opening of a new database makes its tables: once, on this machine
            return retrying_creation(lambda: _storage(optuna, url, options))
    except ImportError as error:  # SQLAlchemy maps postgresql:// to psycopg (3), mysql:// to MySQLdb
        raise UsageError(_missing_driver(url, error)) from None
    except Exception as error:  # a bad URL, an unreachable server, a locked or read-only database
        what_to_do = database_hint(error) or (
            "Give a database URL (sqlite:///path.db, postgresql+psycopg2://user@host/db, mysql+pymysql://...) or "
            "journal:PATH"
        )
        raise UsageError(
            f"--storage '{shown_url(url)}' cannot be opened: {hide_credentials(first_line(error, 200))}. {what_to_do}"
        ) from None


def _storage(optuna, url: str, options: dict[str, Any]):
    if url.startswith(JOURNAL_PREFIX):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(url[len(JOURNAL_PREFIX) :]))
    return optuna.storages.RDBStorage(url, engine_kwargs=options)


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


def lock_wait_s() -> float:
    """How long a SQLite study database locked by another process is waited for: $LEARNAI_TUNE_DB_WAIT seconds,
    else 60; a value that is no wait (not a number, 0 or less, over a day) is exit 2."""
    text = os.environ.get(WAIT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_WAIT_S
    try:
        wait = float(text)
    except ValueError:
        wait = float("nan")
    if not 0 < wait <= 86_400:
        raise UsageError(
            f"${WAIT_VARIABLE}={clip(text)} is not a wait in seconds: give a number above 0 and at most 86400, or "
            f"unset it for the default ({DEFAULT_WAIT_S:g} s)"
        )
    return wait


def database_hint(error: BaseException) -> str:
    """What to do about a database error, from its text: locked by another process, read-only."""
    text = str(error).lower()
    if "database is locked" in text:
        try:
            wait = lock_wait_s()
        except UsageError:
            wait = DEFAULT_WAIT_S
        return (
            f"Another process held the study database locked for {wait:g} s (${WAIT_VARIABLE} sets the wait): let "
            "it finish and run the same command again"
        )
    if "readonly" in text or "read-only" in text:
        return "The study database (or its folder) is read-only: make it writable, or copy it to a writable place"
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
            f"{database_hint(error) or 'Check the database and run the same command again (a study continues)'}"
        ) from None


CREATION_ATTEMPTS = 8  # a database server's concurrent creations: tries before the error is told


def retrying_creation(create, attempts: int = CREATION_ATTEMPTS):
    """Run `create` (open a storage, make or load a study) again when another process made the same tables, version
    row, study or study attribute meanwhile (an integrity error or "already exists" from the database): the next try
    finds what the other one made. At most `attempts` tries, 0.1 s to about 1 s apart (with jitter, so colliding
    processes part); any other error, or the last try's, is raised as it is."""
    import random

    for attempt in range(attempts - 1):
        try:
            return create()
        except Exception as error:
            if not creation_race(error):
                raise
            time.sleep(0.1 * (attempt + 1) * (0.5 + random.random()))  # noqa: S311 (jitter, not a secret)
    return create()


RACE_WORDS = ("already exists", "unique constraint", "duplicate key", "duplicate entry", "duplicate column")


def creation_race(error: BaseException) -> bool:
    """Whether a database error says another process created the same thing first (SQLite: UNIQUE constraint failed,
    table ... already exists; PostgreSQL: duplicate key value violates unique constraint, relation ... already
    exists; MySQL: Duplicate entry, Table ... already exists)."""
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    if not isinstance(error, (IntegrityError, OperationalError, ProgrammingError)):
        return False
    text = str(error).lower()
    return any(words in text for words in RACE_WORDS)


_HELD: set[str] = set()  # the folders whose creation lock this process holds (the lock is taken once per process)


@contextmanager
def creation_lock(url: str) -> Iterator[None]:
    """For a SQLite or journal file, an exclusive flock on the folder that holds it while a study or its tables are
    created: processes of this machine starting the same new study (from different runs roots too) create it one
    after the other. A folder that cannot be locked (a network file system without flock) goes without: the
    retries of retrying_creation remain. A database server has no such folder: only the retries."""
    import fcntl

    folder = _storage_folder(url)
    if folder is None or folder in _HELD:
        yield
        return
    try:
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        yield  # no such folder: the storage itself says so
        return
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError:
            yield
            return
        _HELD.add(folder)
        try:
            yield
        finally:
            _HELD.discard(folder)
    finally:
        os.close(handle)  # closing drops the flock


def _storage_folder(url: str) -> str | None:
    if url.startswith(JOURNAL_PREFIX):
        path = url[len(JOURNAL_PREFIX) :]
    elif url.startswith("sqlite:"):
        from sqlalchemy.engine import make_url

        try:
            path = make_url(url).database or ""
        except Exception:
            return None
    else:
        return None
    return os.path.abspath(os.path.dirname(os.path.abspath(path))) if path else None


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
    """SQLite shared by several worker processes: wait for a busy database (lock_wait_s) instead of failing at once."""
    return {"connect_args": {"timeout": lock_wait_s()}} if url.startswith("sqlite") else {}
