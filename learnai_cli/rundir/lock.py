"""One process owns a run at a time: an exclusive flock on the run's lock file, which holds pid, host and start.

The kernel drops an flock when its process dies, however it dies, so the lock of a dead process is simply taken
over. The lock file is removed when its holder releases it. rundir.py names the file; this module only locks it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from learnai_cli.atomic import open_in_place
from learnai_cli.errors import UsageError


class RunInUse(UsageError):
    """Another live process holds the run's lock (exit 2)."""


class RunLock:
    """A held lock; release() (or leaving the `with` block) gives it up."""

    def __init__(self, path: Path, handle: int):
        self.path, self.handle = path, handle

    @classmethod
    def acquire(cls, path: Path, run_id: str, wait_s: float = 0.3) -> "RunLock":
        """Take the lock or raise RunInUse naming its holder; waits up to wait_s for a brief holder (a reader)."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                handle = open_in_place(path)  # a symbolic link there is replaced, never written through
            except OSError as error:
                raise UsageError(f"cannot lock run {run_id} ({path}): {error.strerror or error}") from None
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(handle)
                if time.monotonic() < deadline:
                    time.sleep(0.02)
                    continue
                raise RunInUse(_in_use_message(run_id, path)) from None
            if _same_file(handle, path):  # not a file its last holder removed as we opened it
                held = cls(path, handle)
                try:
                    os.ftruncate(handle, 0)
                    os.pwrite(handle, json.dumps(owner()).encode(), 0)
                except OSError as error:  # a full disk: the lock is not taken, and its empty file goes
                    held.release()
                    raise UsageError(
                        f"cannot lock run {run_id}: writing {path} failed ({error.strerror or error}); free some "
                        "space (or fix the folder's permissions) and try again"
                    ) from None
                return held
            os.close(handle)

    def release(self) -> None:
        if self.handle < 0:
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only folder: the file stays, unlocked, and reads as free
        os.close(self.handle)
        self.handle = -1

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def owner() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "since": datetime.now().isoformat(timespec="seconds")}


def lock_holder(path: Path) -> Optional[dict[str, Any]]:
    """The holder's pid, host and start when a live process holds the lock at path; None when nobody does."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block
    except OSError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read(handle)
    except OSError:
        return None
    finally:
        os.close(handle)  # also drops the shared lock taken to test it
    return None


def _read(handle: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(handle, 4096, 0).decode("utf-8") or "{}")
    except (OSError, ValueError):
        data = {}
    return data if isinstance(data, dict) else {}


def _in_use_message(run_id: str, path: Path) -> str:
    holder = lock_holder(path) or {}
    who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} since {holder.get('since', '?')}"
    return f"run {run_id} is in use by another learnai process ({who}; lock {path}); wait for it or stop it first"


def _same_file(handle: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(handle), os.lstat(path))
    except OSError:
        return False
