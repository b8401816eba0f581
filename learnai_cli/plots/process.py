"""Draw a run's final plots in a helper process that imports matplotlib while the run trains.

Importing matplotlib costs about half a second; on a small run that is a large part of the command's wall time. The
`train` command starts the helper before its own start-up (reading the config imports torch, over a second), so the
import overlaps with that and with training on another core; the helper draws when asked. Runs started otherwise
(sweep, tune) start one when training starts.
Where matplotlib is already imported here (a process that drew before) the plots are drawn in-process.
The helper reads one run directory per line on stdin and prints a JSON reply per line.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

from learnai_cli.log import logger

# The helper imports this very learnai_cli (not one that happens to be in the working directory, which -m puts first)
HELPER_CODE = (
    f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r}); "
    "from learnai_cli.plots.process import main; main()"
)
# drawing takes about a second: a helper that has not answered in this long is stuck, and the plots are drawn here
DRAW_TIMEOUT_S = 60


_finishing: list[subprocess.Popen] = []  # helpers that answered and are exiting on their own
_early: Optional["PlotProcess"] = None  # started by start_early(), taken by the run's fit through claim()


def start_early() -> None:
    """Start the helper now, before the command's slow start-up; ranks other than 0 of a distributed job (RANK,
    set by torchrun) draw nothing and start none. One never claimed is stopped as the process exits."""
    global _early
    if _early is not None or os.environ.get("RANK", "0") != "0":
        return
    _early = PlotProcess()
    _early.start()
    atexit.register(_close_unclaimed)


def claim() -> "PlotProcess":
    """The helper start_early() started (if it is still alive), else a new one, started."""
    global _early
    plotter, _early = _early, None
    if plotter is None or plotter.process is None or plotter.process.poll() is not None:
        plotter = PlotProcess()
        plotter.start()
    return plotter


def helper_pids() -> tuple[int, ...]:
    """The early helper's process id while it runs: its start-up CPU is this command's, not another process's."""
    process = _early.process if _early is not None else None
    return (process.pid,) if process is not None and process.poll() is None else ()


def _close_unclaimed() -> None:
    if _early is not None:  # the command ended before training (a bad config): nothing to draw
        _early.close()


class PlotProcess:
    """Parent side: start() at the start of training, draw(run) at its end; draw() falls back to drawing here."""

    def __init__(self) -> None:
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        if "learnai_cli.plots.figures" in sys.modules:  # already paid for in this process
            return
        try:  # its own session: a terminal's Ctrl-C is for the training, which then asks for the plots
            self.process = subprocess.Popen(
                [sys.executable, "-c", HELPER_CODE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                start_new_session=True,
            )
        except OSError:
            self.process = None  # drawn in-process at the end

    def draw(self, run_path: Path) -> list[str]:
        """The paths of the plots written for the run (none, with a warning, if drawing failed)."""
        reply = self._ask(run_path) if self.process is not None else None
        if reply is None:
            return draw_plots(run_path)
        if "error" in reply:
            logger.warning(f"could not draw plots for {run_path.name}: {reply['error']}")
        return reply.get("plots", [])

    def _ask(self, run_path: Path) -> Optional[dict]:
        """Its reply, read as soon as it is written: the helper then exits on its own (its stdin is closed), and
        this process does not wait for that interpreter's shut-down."""
        try:
            self.process.stdin.write(f"{run_path}\n")
            self.process.stdin.close()
            reply = json.loads(_read_line(self.process.stdout, DRAW_TIMEOUT_S))
        except (OSError, ValueError, subprocess.TimeoutExpired):  # it died or hung: draw here instead
            self.close()
            return None
        self.process.stdout.close()
        _finishing[:] = [helper for helper in _finishing if helper.poll() is None]  # reaps those that exited
        _finishing.append(self.process)  # kept, so that letting go of it is not a "still running" warning
        self.process = None
        return reply

    def close(self) -> None:
        """Ends the helper without drawing (a run that stops before recording its end)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


def _read_line(stream, timeout: float) -> str:
    """One line from a pipe, or TimeoutExpired after `timeout` seconds of nothing to read."""
    import select

    if not select.select([stream], [], [], timeout)[0]:
        raise subprocess.TimeoutExpired("plot helper", timeout)
    return stream.readline()


def draw_plots(run_path: Path) -> list[str]:
    """Draw in this process; a plotting problem must not turn a finished training into a failure."""
    reply = _drawn(run_path)
    if "error" in reply:
        logger.warning(f"could not draw plots for {run_path.name}: {reply['error']}")
    return reply.get("plots", [])


def _drawn(run_path: Path) -> dict:
    from learnai_cli.plots.figures import plot_run
    from learnai_cli.rundir import RunDir

    try:
        return {"plots": [str(path) for path in plot_run(RunDir(run_path))]}
    except Exception as failure:
        return {"error": str(failure)}


def main() -> None:
    from learnai_cli.plots.figures import warm_up

    warm_up()  # the reason this process exists: import and first-draw costs paid while the run trains
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(_drawn(Path(line.strip()))), flush=True)
