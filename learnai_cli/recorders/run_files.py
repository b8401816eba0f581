"""Writes what the trainer reports into the run directory: metrics, checkpoints, meta and a heartbeat."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from learnai_cli.engine.callbacks import Callback
from learnai_cli.engine.checkpoint import save_checkpoint
from learnai_cli.rundir import RunDir

HEARTBEAT_SECONDS = 30.0


class RunRecorder(Callback):
    """metrics.jsonl per log interval and epoch, last.pt at every resumable point, best.pt on improvement."""

    def __init__(self, run: RunDir, resolved_config: dict[str, Any], epoch_records: list[dict[str, Any]] | None = None):
        self.run = run
        self.resolved_config = resolved_config  # saved in every checkpoint
        self.epoch_records = list(epoch_records or [])
        self.last_heartbeat = 0.0

    def on_log(self, trainer, record: dict[str, Any]) -> None:
        self.run.append_metrics(record)
        if time.monotonic() - self.last_heartbeat > HEARTBEAT_SECONDS:
            self.beat(trainer)

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None:
        self.run.append_metrics(record)  # before last.pt: a resume drops records newer than its checkpoint
        self.epoch_records.append(record)

    def on_checkpoint(self, trainer) -> None:
        payload = trainer.checkpoint(self.resolved_config)
        save_checkpoint(self.run.last_checkpoint, payload)
        at_epoch_end = trainer.state.batches_done == 0
        if at_epoch_end and trainer.improved:
            save_checkpoint(self.run.best_checkpoint, payload)
        self.beat(trainer, epochs_completed=trainer.state.epoch if at_epoch_end else trainer.state.epoch - 1)

    def on_fit_end(self, trainer, status: str) -> None:
        # Once at the end: rewriting the CSV every epoch costs O(epochs^2); metrics.jsonl is the live record.
        if self.epoch_records:
            self.run.write_metrics_csv(self.epoch_records)

    def beat(self, trainer, **fields: Any) -> None:
        """Progress and a heartbeat in meta.json, so `learnai runs` can tell a live run from a crashed one."""
        self.last_heartbeat = time.monotonic()
        heartbeat = datetime.now().isoformat(timespec="seconds")
        self.run.update_meta(heartbeat=heartbeat, steps=trainer.state.step, best=self.best(trainer), **fields)

    @staticmethod
    def best(trainer) -> dict[str, Any]:
        return {
            "metric": trainer.settings.monitor,
            "value": trainer.state.best_value,
            "epoch": trainer.state.best_epoch,
        }
