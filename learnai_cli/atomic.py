"""Atomic writes and tolerant reads: a reader sees the old file or the new one, never half of it."""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable

from learnai_cli.log import logger


def _file_mode() -> int:
    """What open() would give a new file: 0666 minus the process's umask (read once: umask can only be set)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()

__all__ = [
    "write_atomic",
    "write_new",
    "open_in_place",
    "write_json",
    "append_line",
    "read_json",
    "read_jsonl",
    "read_regular",
    "dumps_jsonl",
    "Damaged",
    "temp_files",
]

TEMP_SUFFIX = ".tmp"


class Damaged(ValueError):
    """A file exists but does not hold what it should (not UTF-8, not JSON, not an object)."""

    def __init__(self, path: Path, problem: str):
        super().__init__(f"{path.name} {problem}")
        self.path, self.problem = path, problem


def open_in_place(path: Path, flags: int = os.O_RDWR) -> int:
    """A descriptor of the regular file at `path`, made when missing, for a file that must be opened where it is (a
    lock, an append-only log). A symbolic link there is never followed (O_NOFOLLOW): it is removed and a file of
    learnai's own made in its place, so whatever it pointed at stays untouched. Anything else that is not a regular
    file (a FIFO, a device, a folder) raises NotRegularFile."""
    for _ in range(3):
        try:
            descriptor = os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
        except OSError as error:
            if error.errno == errno.ENXIO:  # a FIFO nobody reads (O_NONBLOCK: never a wait for a reader)
                raise NotRegularFile(path) from None
            if error.errno != errno.ELOOP or not os.path.islink(path):
                raise
            logger.warning(f"{path} was a symbolic link; learnai never writes through one and made a file in its place")
            os.unlink(path)
            continue
        if stat.S_ISREG(os.fstat(descriptor).st_mode):
            return descriptor
        os.close(descriptor)
        raise NotRegularFile(path)
    raise NotRegularFile(path)


class NotRegularFile(OSError):
    """Something other than a regular file (a FIFO, a device, a folder) is where learnai must write a file."""

    def __init__(self, path: Path):
        super().__init__(errno.EINVAL, "not a regular file (a FIFO, a device or a folder is in its place)", str(path))


def append_line(path: Path, line: str) -> None:
    """Append one line (UTF-8) in a single write with O_APPEND: appenders never interleave within a line, and on a
    run's per-epoch path this costs a third of what a Python file object's open, write and close do. A symbolic
    link at `path` is replaced by a file, never written through (open_in_place)."""
    data = (line.rstrip("\n") + "\n").encode()
    descriptor = open_in_place(path, os.O_WRONLY | os.O_APPEND)
    try:
        while data:  # a regular file takes it all at once unless the disk fills (then write raises)
            data = data[os.write(descriptor, data) :]
    finally:
        os.close(descriptor)


def check_output_file(path: Path, what: str, example: str) -> None:
    """Refuse, before any work, a path given for an output file (-o) that is a folder, lies under a file or has too
    long a name; `what` names the file ("the plot"), `example` a good name ("plot.png"). Folders that do not exist
    yet are made when the file is written."""
    from learnai_cli.errors import UsageError

    try:
        if path.is_dir():
            raise UsageError(f"cannot write {what} to {path}: it is a folder; give a file name such as {example}")
        parent = next((p for p in path.parents if p.exists()), None)
    except OSError as error:  # e.g. a name longer than the file system allows
        raise UsageError(f"cannot write {what} {path}: {error.strerror or error}") from None
    if parent is not None and not parent.is_dir():
        raise UsageError(f"cannot write {what} {path}: {parent} is a file, not a folder")


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write via a temp file in the same folder + fsync + rename. The rename replaces whatever is at `path`: a
    symbolic link there is replaced by the file, never written through."""
    temp = _write_temp(path, data)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_new(path: Path, data: bytes | str) -> None:
    """Write a file that must not exist yet, atomically: the whole file appears or nothing does (a full disk leaves
    no empty file behind). Anything at `path`, a dangling symbolic link included, raises FileExistsError."""
    temp = _write_temp(path, data)
    try:
        os.link(temp, path)  # link() never follows a link at its target and fails if anything is there
    except FileExistsError:
        raise
    except OSError as error:  # a file system without hard links: exclusive create, removed if the write fails
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        _write_exclusive(path, temp.read_bytes())
    finally:
        temp.unlink(missing_ok=True)


def _write_exclusive(path: Path, payload: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _write_temp(path: Path, data: bytes | str) -> Path:
    """The payload in a new temp file beside `path` (mkstemp: O_EXCL, never a link), flushed to disk."""
    payload = data.encode() if isinstance(data, str) else data
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        os.fchmod(handle, FILE_MODE)  # mkstemp makes 0600; a run's files are as readable as the user's others
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return Path(temp)


def temp_files(folder: Path, names: tuple[str, ...]) -> list[Path]:
    """Temp files that write_atomic left in `folder` for these file names (a process killed mid-write)."""
    found = []
    for name in names:
        found += [p for p in folder.glob(f".{name}.*{TEMP_SUFFIX}") if p.is_file()]
    return found


def read_regular(path: Path) -> bytes:
    """A regular file's bytes; a FIFO, device or folder there raises NotRegularFile instead of waiting for a writer
    that never comes (O_NONBLOCK)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise NotRegularFile(path)
        os.set_blocking(descriptor, True)
        with os.fdopen(os.dup(descriptor), "rb") as file:
            return file.read()
    finally:
        os.close(descriptor)


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_json(path: Path, strict: bool = False) -> dict[str, Any]:
    """The JSON object in a file; {} when it is missing. A file that is not a JSON object is {} too, or, with
    strict, raises Damaged saying what is wrong with it."""
    try:
        text = read_regular(path).decode("utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        return _damaged(path, f"cannot be read ({error.strerror or error})", strict)
    except UnicodeDecodeError:
        return _damaged(path, "is not UTF-8 text", strict)
    try:
        data = json.loads(text)
    except ValueError as error:
        return _damaged(path, f"is not valid JSON ({error})", strict)
    if not isinstance(data, dict):
        return _damaged(path, f"holds {_json_kind(data)}, not a JSON object", strict)
    return data


def _damaged(path: Path, problem: str, strict: bool) -> dict[str, Any]:
    if strict:
        raise Damaged(path, problem)
    return {}


def _json_kind(data: Any) -> str:
    if data is None:
        return "null"
    return {list: "a list", str: "a string", bool: "a boolean"}.get(type(data), "a number")


def read_jsonl(path: Path, check: Callable[[dict[str, Any]], str | None] | None = None) -> list[dict[str, Any]]:
    """Records of an append-only JSONL file. A torn last line (from a kill), a line that is not UTF-8 or not a JSON
    object is skipped with a warning; an unreadable file reads as no records, with a warning. `check` says what is
    wrong with a record that is a JSON object (or None): such a record is skipped with a warning too."""
    try:
        records, skipped = scan_jsonl(path, check)
    except FileNotFoundError:
        return []
    except OSError as error:
        logger.warning(f"{path}: cannot be read ({error.strerror or error}); no records taken from it")
        return []
    for number, why, torn in skipped:
        logger.warning(f"{path}: line {number} {why}{'' if torn else ' (damaged)'} and was skipped")
    return records


def scan_jsonl(
    path: Path, check: Callable[[dict[str, Any]], str | None] | None = None
) -> tuple[list[dict[str, Any]], list[tuple[int, str, bool]]]:
    """(the sound records, (line number, what is wrong, torn) of each line skipped) of a JSONL file; torn: the last
    line cut short by a kill, no damage. Raises OSError where the file cannot be read."""
    lines = read_regular(path).splitlines()
    records, skipped = [], []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            skipped.append((number, "is not UTF-8 text", False))
            continue
        except ValueError:  # only the last line can be torn by a kill; a bad line before it was damaged
            torn = number == len(lines)
            skipped.append((number, "is incomplete (the write was cut short)" if torn else "is not JSON", torn))
            continue
        problem = "is not a JSON object" if not isinstance(record, dict) else check(record) if check else None
        if problem:
            skipped.append((number, problem, False))
        else:
            records.append(record)
    return records, skipped


def dumps_jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)
