"""How a `learnai` process ends: as soon as its exit handlers have run, without CPython's slow shut-down.

Once torch is imported, the interpreter's shut-down costs 0.4-0.6 s on a small machine: full garbage collections
over ~200k objects, then every module torn down and C++ destructors run. Nothing a command leaves behind depends on
it: run files are written with explicit writes and closes (checkpoints and meta fsynced) before a command returns,
and log lines are flushed as they are emitted.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import sys
from typing import Optional

_status: Optional[int] = None  # the console script's exit status, once main() has returned or exited
_registered: set[str] = set()


def skip_collections_at_exit() -> None:
    """Freeze every object once the other exit handlers have run (atexit runs the first registered last), so that a
    process which does go through the shut-down (main() called from a script) skips the full collections; finalizers
    still run as references go, and collecting cycles at exit is not something Python promises."""
    if "freeze" not in _registered:  # main() may run many times in one process (tests): one handler is enough
        atexit.register(gc.freeze)
        _registered.add("freeze")


def end_quickly() -> None:
    """For the console script only (it owns the process): after every other exit handler, flush what is buffered
    and end with the status main() left, skipping the shut-down. A process whose main() neither returned nor
    exited (an uncaught error) ends the usual way, traceback and all."""
    if "end" not in _registered:
        atexit.register(_end_now)  # registered before main() registers anything: it runs last
        _registered.add("end")


def record_status(code: object) -> None:
    """What SystemExit(code) would make the exit status: None is 0, a number itself, anything else (a message,
    already printed) 1."""
    global _status
    _status = 0 if code is None else code if isinstance(code, int) else 1


def _end_now() -> None:
    if _status is None:
        return
    logging.shutdown()  # its own exit handler was registered earlier, so it would run after this one
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # the reader is gone or the stream closed: nothing more can reach it
            pass
    os._exit(_status)
