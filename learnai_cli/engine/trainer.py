"""The training loop: epochs of train + validate, monitored metric, early stopping, divergence."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import torch

from learnai_cli.config import TrainSection
from learnai_cli.engine.callbacks import Callback
from learnai_cli.engine.evaluate import evaluate


class Diverged(Exception):
    """The training loss became NaN or infinite."""

    def __init__(self, epoch: int, step: int, last_finite_loss: Optional[float]):
        self.epoch, self.step, self.last_finite_loss = epoch, step, last_finite_loss
        last = f"{last_finite_loss:.4g}" if last_finite_loss is not None else "none"
        super().__init__(f"loss became NaN/inf at epoch {epoch}, step {step} (last finite loss: {last})")


@dataclass
class TrainState:
    """Everything about progress that a checkpoint must carry."""

    epoch: int = 0
    step: int = 0
    best_value: Optional[float] = None
    best_epoch: Optional[int] = None
    epochs_without_improvement: int = 0
    last_finite_loss: Optional[float] = None


class Trainer:
    def __init__(
        self,
        model: torch.nn.Module,
        loss_fn,
        optimizer: torch.optim.Optimizer,
        train_batches,
        val_batches,
        settings: TrainSection,
        task: str,
        from_logits: bool,
        scheduler=None,
        scheduler_interval: str = "epoch",
        callbacks: Sequence[Callback] = (),
    ):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.train_batches, self.val_batches = train_batches, val_batches
        self.settings, self.task, self.from_logits = settings, task, from_logits
        self.scheduler, self.scheduler_interval = scheduler, scheduler_interval
        self.callbacks = list(callbacks)
        self.state = TrainState()
        self.should_stop = False
        self.stop_reason = ""
        self.improved = False  # whether the last epoch set a new best monitored value

    def fit(self) -> TrainState:
        """Train until the last epoch, max_steps or early stopping; callbacks hear how it ended."""
        status = "failed"
        self._emit("on_fit_start")
        try:
            for epoch in range(self.state.epoch + 1, self.settings.epochs + 1):
                self.state.epoch = epoch
                record = {"type": "epoch", "epoch": epoch, **self.train_one_epoch()}
                if epoch % self.settings.val_every_epochs == 0 or epoch == self.settings.epochs or self.should_stop:
                    record.update({f"val_{k}": v for k, v in self.validate().items()})
                self._end_epoch(record)
                if self.should_stop:
                    break
            status = "completed"
        except Diverged:
            status = "diverged"
            raise
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            self._emit("on_fit_end", status)
        return self.state

    def train_one_epoch(self) -> dict[str, Any]:
        self.model.train()
        started = time.perf_counter()
        epoch_sum, interval_sum, samples, interval_samples = None, None, 0, 0
        accumulate = self.settings.accumulate_steps
        batch_count = len(self.train_batches)
        for index, (inputs, targets) in enumerate(self.train_batches):
            loss = self.loss_fn(self.model(inputs), targets)
            (loss / accumulate if accumulate > 1 else loss).backward()
            weighted = loss.detach() * targets.shape[0]  # stays on the device: no sync per step
            epoch_sum = weighted if epoch_sum is None else epoch_sum + weighted
            interval_sum = weighted if interval_sum is None else interval_sum + weighted
            samples += targets.shape[0]
            interval_samples += targets.shape[0]
            if (index + 1) % accumulate == 0 or index + 1 == batch_count:
                self._optimizer_step()
                if self.state.step % self.settings.log_every_steps == 0:
                    self._log_interval(float(interval_sum) / interval_samples)
                    interval_sum, interval_samples = None, 0
            self._emit("on_batch_end")
            if self._reached_max_steps():
                break
        elapsed = time.perf_counter() - started
        train_loss = self._checked(float(epoch_sum) / samples) if samples else None
        return {
            "step": self.state.step,
            "train_loss": train_loss,
            "lr": self.optimizer.param_groups[0]["lr"],
            "epoch_time": round(elapsed, 4),
            "samples_per_s": round(samples / elapsed, 1) if elapsed > 0 else None,
        }

    def validate(self) -> dict[str, float]:
        if self.val_batches is None or len(self.val_batches) == 0:
            return {}
        return evaluate(self.model, self.val_batches, self.loss_fn, self.task, self.from_logits)

    def _optimizer_step(self) -> None:
        if self.settings.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.state.step += 1
        if self.scheduler is not None and self.scheduler_interval == "step":
            self.scheduler.step()

    def _log_interval(self, loss: float) -> None:
        record = {"type": "step", "epoch": self.state.epoch, "step": self.state.step, "train_loss": self._checked(loss), "lr": self.optimizer.param_groups[0]["lr"]}
        self._emit("on_log", record)

    def _checked(self, loss: float) -> float:
        """Raise Diverged on a NaN/inf loss; otherwise remember it as the last finite one."""
        if not math.isfinite(loss):
            raise Diverged(self.state.epoch, self.state.step, self.state.last_finite_loss)
        self.state.last_finite_loss = loss
        return loss

    def _reached_max_steps(self) -> bool:
        if self.settings.max_steps is not None and self.state.step >= self.settings.max_steps:
            self.should_stop, self.stop_reason = True, f"reached train.max_steps={self.settings.max_steps}"
        return self.should_stop

    def _end_epoch(self, record: dict[str, Any]) -> None:
        self._track_monitor(record.get(self.settings.monitor))
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            self.scheduler.step()
        elif self.scheduler is not None and self.scheduler_interval == "plateau" and record.get(self.settings.monitor) is not None:
            self.scheduler.step(record[self.settings.monitor])
        self._emit("on_epoch_end", record)

    def _track_monitor(self, value: Optional[float]) -> None:
        """Update the best monitored value; stop early when it has not improved for `patience` epochs."""
        self.improved = False
        if value is None or not math.isfinite(value):
            return
        early = self.settings.early_stopping
        min_delta = early.min_delta if early else 0.0
        best = self.state.best_value
        sign = 1 if self.settings.mode == "min" else -1
        if best is None or sign * (best - value) > min_delta:
            self.state.best_value, self.state.best_epoch = value, self.state.epoch
            self.state.epochs_without_improvement = 0
            self.improved = True
        else:
            self.state.epochs_without_improvement += 1
        if early and self.state.epochs_without_improvement >= early.patience:
            self.should_stop = True
            self.stop_reason = f"early stopping: {self.settings.monitor} did not improve for {early.patience} epochs"

    def _emit(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)
