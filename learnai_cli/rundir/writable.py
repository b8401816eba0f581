"""Whether a runs root can hold new runs, checked before anything is built or written (and creating nothing)."""

from __future__ import annotations

import os
from pathlib import Path

from learnai_cli.errors import UsageError

__all__ = ["check_writable", "check_run_writable", "check_files_writable"]


def check_writable(root: Path) -> None:
    """Refuse (exit 2, naming the path and the cause) a runs root that cannot hold new runs, before anything is
    built or written: it is a file, lies under a file, has a name too long, or cannot be written. Creates nothing."""
    existing, missing = root, []
    while not os.path.exists(existing) and existing != existing.parent:  # (Path.exists raises on a long name)
        missing.append(existing.name)
        existing = existing.parent
    problem = None
    if not os.path.isdir(existing):
        problem = "is a file, not a folder" if existing == root else f"lies under {existing}, which is a file"
    elif any(len(name.encode()) > _name_max(existing) for name in missing):
        problem = "has a name too long for the file system"
    else:
        problem = _probe(existing)
    if problem:
        raise UsageError(f"cannot write runs into {root}: it {problem}; choose another --runs-dir")


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _probe(folder: Path) -> str | None:
    """Create and delete a file in folder; None when that works, else the cause."""
    import tempfile

    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".learnai-probe-")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        return f"cannot be written ({error.strerror or error}{' in ' + str(folder) if folder else ''})"
    return None


def check_run_writable(folder: Path, what: str) -> None:
    """Refuse (exit 2) before any work a command whose results go into a run folder that cannot be written (a
    read-only mount, a full disk's last inode)."""
    problem = _probe(folder)
    if problem:
        raise UsageError(
            f"cannot write {what} into {folder}: it {problem}; copy the run somewhere writable and use "
            "--runs-dir there, or make the folder writable"
        )


def check_files_writable(run_id: str, folders: list[Path], replaced: list[Path], appended: list[Path]) -> None:
    """Refuse (exit 2) before a resume rewrites anything a run whose files it cannot write: a folder or FIFO where
    a file goes, a file appended in place that cannot be written (train.log), a folder where temp files cannot be
    made. A symbolic link is no obstacle: the writers replace it with a file (never writing through it)."""
    import stat

    problems = [f"{folder} {problem}" for folder in folders if os.path.isdir(folder) and (problem := _probe(folder))]
    for path in [*replaced, *appended]:
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            continue
        except OSError as error:
            problems.append(f"{path} cannot be examined ({error.strerror or error})")
            continue
        if stat.S_ISLNK(mode):
            continue
        if not stat.S_ISREG(mode):
            problems.append(f"{path} is not a regular file ({_kind_of(mode)} is in its place)")
        elif path in appended and not os.access(path, os.W_OK):
            problems.append(f"{path} cannot be written (its permissions)")
    if problems:
        raise UsageError(
            f"cannot resume run {run_id}: {'; '.join(problems[:3])}, and the resume must write there; nothing was "
            "changed. Remove or rename it (or fix its permissions), then resume again"
        )


def _kind_of(mode: int) -> str:
    import stat

    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"
