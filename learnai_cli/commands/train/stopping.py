"""How a training command stops on SIGINT/SIGTERM: at once during start-up, after the current step once training.

`interrupting_on_signals` covers the whole command from its first line, so a signal while the experiment is still
being built ends it with exit 130 and one line, never a traceback (or a bare SIGTERM death, exit 143);
`stop_on_signals` covers the training loop, where the first signal asks the trainer to checkpoint and stop.
"""

from __future__ import annotations

import _thread
import os
import signal
import sys
import threading
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)
received: list[str] = []  # the signals that interrupted this process (click turns some into "Aborted!", exit 1)
pending: list[str] = []  # start-up signals not yet acted on: their KeyboardInterrupt can be swallowed (a finalizer)
_deferred: set[int] = set()  # signals held back until the import they landed in has finished
RETRY_SECONDS = 0.05


def _raise_interrupt(signum, frame):
    if signum not in _deferred:
        received.append(signal.Signals(signum).name)
        pending.append(received[-1])
    if _inside_import(frame):
        _retry_after_import(signum)
        return
    _deferred.discard(signum)
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _inside_import(frame) -> bool:
    """Whether Python is executing a module's import. A KeyboardInterrupt there can leave a C extension (numpy,
    torch) half-initialised, and every later import of it then fails ("cannot load module more than once")."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib."):
            return True
        frame = frame.f_back
    return False


def _retry_after_import(signum: int) -> None:
    """Deliver the signal again shortly (to whichever handler is installed then), until it lands outside an import."""
    _deferred.add(signum)
    timer = threading.Timer(RETRY_SECONDS, _thread.interrupt_main, (signum,))
    timer.daemon = True
    timer.start()


def raise_if_interrupted() -> None:
    """Before training starts: a start-up signal whose KeyboardInterrupt was lost (raised inside a __del__ or a
    library's bare except) still interrupts the command."""
    if pending:
        raise KeyboardInterrupt(pending[-1])


@contextmanager
def _handlers(handler):
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return
    previous = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def interrupting_on_signals():
    """SIGINT and SIGTERM raise KeyboardInterrupt (exit 130 through the CLI's error reporting)."""
    try:
        with _handlers(_raise_interrupt):
            yield
    finally:
        pending.clear()  # acted on (or the command is over): an in-process caller's next command starts clean
        _deferred.clear()


def install_interrupt_handlers() -> None:
    """For the whole process, from its first line (`python -m learnai_cli`, the `learnai` script): SIGTERM
    interrupts like Ctrl-C instead of killing the process before it can say anything."""
    if threading.current_thread() is threading.main_thread():
        for sig in SIGNALS:
            signal.signal(sig, _raise_interrupt)


@contextmanager
def stop_on_signals(trainer):
    """First SIGINT/SIGTERM: finish the current step, write last.pt, stop (exit 130). A second SIGINT: stop at once."""

    def request_stop(signum, frame):
        if signum in _deferred:  # a start-up signal held back during an import: it asks for the stop it asked for then
            _deferred.discard(signum)
        else:
            received.append(signal.Signals(signum).name)
        if trainer.stop_signal:
            raise KeyboardInterrupt
        trainer.stop_signal = signal.Signals(signum).name
        _say(
            f"\n{trainer.stop_signal}: finishing the current step and writing last.pt (press Ctrl-C again to "
            "stop at once)\n"
        )

    with _handlers(request_stop):
        yield


def _say(text: str) -> None:
    """From a signal handler: straight to file descriptor 2. The handler can run while the loop is inside a write to
    sys.stderr (an epoch line), and writing through that same buffered stream again raises RuntimeError
    ("reentrant call"), which would fail the run instead of stopping it."""
    try:
        os.write(sys.stderr.fileno(), text.encode(errors="replace"))
    except (OSError, ValueError, AttributeError):  # stderr gone or not a file: the stop must still be recorded
        pass


@contextmanager
def holding_signals():
    """SIGINT/SIGTERM wait until the block is done (a few writes that must land together), then interrupt."""
    held: list[int] = []

    def hold(signum, frame):
        received.append(signal.Signals(signum).name)
        held.append(signum)

    with _handlers(hold):
        yield
    if held:
        raise KeyboardInterrupt(signal.Signals(held[0]).name)
