"""Progress: a Rich bar with a running loss, rate and ETA on a terminal; one plain line per epoch everywhere."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

from learnai_cli.engine.callbacks import Callback

REFRESH_SECONDS = 0.25  # the running loss costs a device sync: at most 4 a second, never one per step
EPOCH_LINE_SKIPS = ("type", "epoch", "step", "samples", "lr", "epoch_time", "samples_per_s")


def format_epoch(record: dict[str, Any], epochs: int) -> str:
    """'epoch 3/10  train_loss 0.1234  val_loss 0.1456  val_accuracy 0.9712  lr 1.0e-03  2.3s  25,000 samples/s'."""
    parts = [f"epoch {record['epoch']}/{epochs}"]
    for key, value in record.items():
        if key in EPOCH_LINE_SKIPS or value is None:
            continue
        parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    parts.append(f"lr {record['lr']:.2e}")
    parts.append(f"{record['epoch_time']:.1f}s")
    if record.get("samples_per_s"):
        parts.append(f"{record['samples_per_s']:,.0f} samples/s")
    return "  ".join(parts)


def running_loss(trainer) -> str:
    """The epoch's mean training loss so far (one device sync), or '' before the first step."""
    state = trainer.state
    if state.epoch_loss is None or not state.epoch_samples:
        return ""
    return f"loss {float(state.epoch_loss) / state.epoch_samples:.4g}"


class ProgressReporter(Callback):
    """Shows progress; `echo` receives every plain line too (the run's train.log)."""

    def __init__(self, interactive: bool, echo: Callable[[str], None] = lambda line: None, stream=None):
        self.interactive = interactive
        self.echo = echo
        self.stream = stream or sys.stderr  # None when the process started with stderr closed (`2>&-`)
        self.progress = None
        self.task = None
        self.refreshed = 0.0
        self.epoch_started = 0.0
        self.stream_gone = self.stream is None  # print(file=None) would write to stdout, into --json output

    def on_fit_start(self, trainer) -> None:
        state = trainer.state
        if state.step:  # resumed: say from where, before anything else moves
            where = f"in epoch {state.epoch}" if state.batches_done else f"after epoch {state.epoch}"
            self._print(f"resumed {where}, step {state.step}")
        if not self.interactive:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[loss]}"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=Console(file=self.stream),
            transient=True,  # the epoch's summary line replaces the bar: one line per epoch stays
        )
        self.progress.start()

    def _start_bar(self, trainer) -> None:
        batches = len(trainer.train_batches)
        epoch = trainer.state.epoch if trainer.state.batches_done else trainer.state.epoch + 1
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task(
            "train",
            total=batches,
            completed=trainer.state.batches_done,
            epoch=epoch,
            epochs=trainer.settings.epochs,
            loss="",
            rate="",
        )
        self.epoch_started, self.samples_at_start = time.monotonic(), trainer.state.epoch_samples

    def on_batch_end(self, trainer) -> None:
        if self.progress is None:
            return
        if self.task is None:
            self._start_bar(trainer)
        now = time.monotonic()
        fields = {}
        if now - self.refreshed >= REFRESH_SECONDS or trainer.state.epoch_samples == self.samples_at_start:
            self.refreshed = now
            elapsed = max(now - self.epoch_started, 1e-9)
            rate = (trainer.state.epoch_samples - self.samples_at_start) / elapsed
            fields = {"loss": running_loss(trainer), "rate": f"{rate:,.0f} samples/s" if rate else ""}
        self.progress.update(self.task, completed=trainer.state.batches_done, epoch=trainer.state.epoch, **fields)

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None:
        line = format_epoch(record, trainer.settings.epochs)
        self.echo(line)
        if self.progress is not None:
            if self.task is not None:
                self.progress.remove_task(self.task)
                self.task = None
            self.progress.console.print(line, highlight=False, soft_wrap=True)
        else:
            self._show(line)

    def on_fit_end(self, trainer, status: str) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def _print(self, line: str) -> None:
        self.echo(line)
        self._show(line)

    def _show(self, line: str) -> None:
        """A line on the stream, while it can take one: a reader gone (`2>&1 | head -1`) or a full disk behind it
        silences the progress lines, never the run (train.log still gets every line)."""
        if self.stream_gone:
            return
        try:
            print(line, file=self.stream, flush=True)
        except (OSError, ValueError):  # ValueError: the stream was closed
            self.stream_gone = True
