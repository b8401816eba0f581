"""How a training command stops on SIGINT/SIGTERM: at once during start-up, after the current step once training.

`interrupting_on_signals` covers the whole command from its first line, so a signal while the experiment is still
being built ends it with exit 130 and one line, never a traceback (or a bare SIGTERM death, exit 143);
`stop_on_signals` covers the training loop, where the first signal asks the trainer to checkpoint and stop.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)
received: list[str] = []  # the signals that interrupted this process (click turns some into "Aborted!", exit 1)


def _raise_interrupt(signum, frame):
    received.append(signal.Signals(signum).name)
    raise KeyboardInterrupt(received[-1])


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
    with _handlers(_raise_interrupt):
        yield


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
        received.append(signal.Signals(signum).name)
        if trainer.stop_signal:
            raise KeyboardInterrupt
        trainer.stop_signal = signal.Signals(signum).name
        try:
            print(
                f"\n{trainer.stop_signal}: finishing the current step and writing last.pt (press Ctrl-C again to "
                "stop at once)",
                file=sys.stderr,
            )
        except OSError:  # stderr gone (a closed pipe, a killed terminal): the stop must still be recorded
            pass

    with _handlers(request_stop):
        yield
