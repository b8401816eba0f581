"""Writes what the trainer reports into the run directory: metrics, checkpoints, meta."""

from __future__ import annotations

from typing import Any

from learnai_cli.engine.callbacks import Callback
from learnai_cli.engine.checkpoint import save_checkpoint
from learnai_cli.runs import RunDir


class RunRecorder(Callback):
    """metrics.jsonl per log interval and epoch, last.pt every epoch, best.pt on improvement, metrics.csv at the end."""

    def __init__(self, run: RunDir, config: dict[str, Any]):
        self.run = run
        self.config = config
        self.epoch_records: list[dict[str, Any]] = []

    def on_log(self, trainer, record: dict[str, Any]) -> None:
        self.run.append_metrics(record)

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None:
        self.run.append_metrics(record)
        self.epoch_records.append(record)
        payload = self.checkpoint_payload(trainer)
        save_checkpoint(self.run.checkpoints / "last.pt", payload)
        if trainer.improved:
            save_checkpoint(self.run.checkpoints / "best.pt", payload)
        self.run.update_meta(epochs_completed=record["epoch"], steps=trainer.state.step, best=self.best(trainer))

    def on_fit_end(self, trainer, status: str) -> None:
        # Once at the end: rewriting the CSV every epoch costs O(epochs^2); metrics.jsonl is the live record.
        if self.epoch_records:
            self.run.write_metrics_csv(self.epoch_records)

    def checkpoint_payload(self, trainer) -> dict[str, Any]:
        state = trainer.state
        return {
            "model": trainer.model.state_dict(),
            "optimizer": trainer.optimizer.state_dict(),
            "scheduler": trainer.scheduler.state_dict() if trainer.scheduler is not None else None,
            "epoch": state.epoch,
            "step": state.step,
            "best_metric": state.best_value,
            "best_epoch": state.best_epoch,
            "monitor": trainer.settings.monitor,
            "config": self.config,
        }

    @staticmethod
    def best(trainer) -> dict[str, Any]:
        return {"metric": trainer.settings.monitor, "value": trainer.state.best_value, "epoch": trainer.state.best_epoch}
