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

from learnai_cli.errors import EXIT_BROKEN_PIPE, EXIT_RUN_FAILED

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
    status = _flushed_status(_status)
    try:
        sys.stderr.flush()
    except (OSError, ValueError):  # nothing more can reach the terminal
        pass
    os._exit(status)


def _flushed_status(status: int) -> int:
    """Write out what stdout still buffers (a pipe or file is block-buffered: a --json object may be all of it). If
    that fails, a command that had succeeded does not say so: 141 when the reader went away (`| head`), else 1 with
    the reason on stderr (a full disk); a command that had already failed keeps its own status."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return status or EXIT_BROKEN_PIPE
    except ValueError:  # stdout was closed on purpose: nothing was left to write
        return status
    except OSError as error:
        print(f"error: cannot write the output: {error.strerror or error}", file=sys.stderr)
        return status or EXIT_RUN_FAILED
    return status
