"""Writes what the trainer reports into the run directory: metrics, checkpoints, meta and a heartbeat."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Optional

from learnai_cli.engine.callbacks import Callback
from learnai_cli.engine.checkpoint import save_checkpoint, snapshot
from learnai_cli.rundir import RunDir

HEARTBEAT_SECONDS = 30.0
# While epochs take less than this, last.pt is written at most this often (and always at the end, on a stop
# request and at every mid-epoch checkpoint): a fsynced checkpoint per sub-second epoch is most of a tiny run.
CHECKPOINT_SECONDS = 5.0


class RunRecorder(Callback):
    """metrics.jsonl per log interval and epoch; last.pt at resumable points (by time for fast epochs); best.pt."""

    def __init__(
        self,
        run: RunDir,
        resolved_config: dict[str, Any],
        epoch_records: list[dict[str, Any]] | None = None,
        checkpoint_seconds: Optional[float] = None,
    ):
        self.run = run
        self.resolved_config = resolved_config  # saved in every checkpoint
        self.epoch_records = list(epoch_records or [])
        self.checkpoint_seconds = CHECKPOINT_SECONDS if checkpoint_seconds is None else checkpoint_seconds
        self.last_heartbeat = 0.0
        self.last_saved = time.monotonic()
        self.saved_once = run.last_checkpoint.exists()  # the first resumable point is always written
        self.unsaved_best: Optional[dict[str, Any]] = None  # a best epoch whose best.pt is not on disk yet

    def on_log(self, trainer, record: dict[str, Any]) -> None:
        self.run.append_metrics(record)
        if time.monotonic() - self.last_heartbeat > HEARTBEAT_SECONDS:
            self.beat(trainer)

    def on_health(self, trainer, record: dict[str, Any]) -> None:
        self.run.append_metrics(record)

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None:
        self.run.append_metrics(record)  # before last.pt: a resume drops records newer than its checkpoint
        self.epoch_records.append(record)

    def on_checkpoint(self, trainer) -> None:
        at_epoch_end = trainer.state.batches_done == 0
        if at_epoch_end and trainer.improved:
            self.unsaved_best = None  # superseded: this epoch's weights are the best now
        if at_epoch_end and not self._due(trainer):  # mid-epoch checkpoints (asked for, or a stop) always write
            if trainer.improved:  # keep a copy: the live weights move on with the next step
                self.unsaved_best = snapshot(trainer.checkpoint(self.resolved_config))
            return
        payload = trainer.checkpoint(self.resolved_config)
        save_checkpoint(self.run.last_checkpoint, payload)
        if at_epoch_end and trainer.improved:
            save_checkpoint(self.run.best_checkpoint, payload)
        self._save_unsaved_best()
        self.last_saved, self.saved_once = time.monotonic(), True
        self.beat(trainer, epochs_completed=trainer.state.epoch if at_epoch_end else trainer.state.epoch - 1)

    def _due(self, trainer) -> bool:
        """Write last.pt now: enough time passed, or the loop is about to end or stop."""
        last_epoch = trainer.state.epoch >= trainer.settings.epochs
        ending = last_epoch or trainer.should_stop or bool(trainer.stop_signal)
        return ending or not self.saved_once or time.monotonic() - self.last_saved >= self.checkpoint_seconds

    def _save_unsaved_best(self) -> None:
        if self.unsaved_best is not None:
            save_checkpoint(self.run.best_checkpoint, self.unsaved_best)
            self.unsaved_best = None

    def on_fit_end(self, trainer, status: str) -> None:
        self._save_unsaved_best()  # a run that diverged or was stopped still keeps its best weights
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
