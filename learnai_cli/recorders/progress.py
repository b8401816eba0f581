"""Progress: a Rich bar with live loss on a terminal, one plain line per epoch elsewhere (CI logs)."""

from __future__ import annotations

import sys
from typing import Any, Callable

from learnai_cli.engine.callbacks import Callback


def format_epoch(record: dict[str, Any], epochs: int) -> str:
    """'epoch 3/10  train_loss 0.1234  val_loss 0.1456  val_accuracy 0.9712  lr 1.0e-03  2.3s  25,000 samples/s'."""
    parts = [f"epoch {record['epoch']}/{epochs}"]
    for key, value in record.items():
        if key in ("type", "epoch", "step", "samples", "lr", "epoch_time", "samples_per_s") or value is None:
            continue
        parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    parts.append(f"lr {record['lr']:.2e}")
    parts.append(f"{record['epoch_time']:.1f}s")
    if record.get("samples_per_s"):
        parts.append(f"{record['samples_per_s']:,.0f} samples/s")
    return "  ".join(parts)


class ProgressReporter(Callback):
    """Shows progress; `echo` receives every plain line too (the run's train.log)."""

    def __init__(self, interactive: bool, echo: Callable[[str], None] = lambda line: None, stream=None):
        self.interactive = interactive
        self.echo = echo
        self.stream = stream or sys.stderr
        self.progress = None

    def on_fit_start(self, trainer) -> None:
        if not self.interactive:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[loss]}"),
            console=Console(file=self.stream),
            transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task(
            "train", total=len(trainer.train_batches), epoch=1, epochs=trainer.settings.epochs, loss=""
        )

    def on_batch_end(self, trainer) -> None:
        if self.progress is not None:
            self.progress.update(self.task, advance=1, epoch=trainer.state.epoch)

    def on_log(self, trainer, record: dict[str, Any]) -> None:
        if self.progress is not None:
            self.progress.update(self.task, loss=f"loss {record['train_loss']:.4g}")

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None:
        line = format_epoch(record, trainer.settings.epochs)
        self.echo(line)
        if self.progress is not None:
            self.progress.console.print(line, highlight=False)
            if record["epoch"] < trainer.settings.epochs:
                self.progress.reset(self.task, total=len(trainer.train_batches))
                self.progress.update(
                    self.task, epoch=record["epoch"] + 1, epochs=trainer.settings.epochs, loss=""
                )  # reset drops fields
        else:
            print(line, file=self.stream, flush=True)

    def on_fit_end(self, trainer, status: str) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
