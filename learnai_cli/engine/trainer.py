"""The training loop: epochs of train + validate, monitored metric, early stopping, divergence, resumable state."""

from __future__ import annotations

import math
import time
from typing import Any, Optional, Sequence

import torch

from learnai_cli.config import TrainSection
from learnai_cli.engine.callbacks import Callback
from learnai_cli.engine.checkpoint import load_model_state
from learnai_cli.engine.device import autocast, grad_scaler, restore_rng_states, rng_states, weighted_loss
from learnai_cli.engine.distributed import NOT_DISTRIBUTED, Distributed, sum_across
from learnai_cli.engine.divergence import Diverged, nonfinite_validation, nonfinite_weights
from learnai_cli.engine.evaluate import evaluate
from learnai_cli.engine.health import HealthMonitor
from learnai_cli.engine.lazy_dynamo import clear_gradients, step_without_dynamo
from learnai_cli.engine.train_state import TrainState
from learnai_cli.errors import UsageError


def compiled(model: torch.nn.Module, mode) -> torch.nn.Module:
    """torch.compile when asked for (true or a mode name); the model itself otherwise."""
    if mode is False:
        return model
    return torch.compile(model, mode=None if mode in (True, "default") else mode)


def data_parallel(model: torch.nn.Module, job: Distributed, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel under torchrun (gradients averaged across ranks); the model itself otherwise."""
    if not job.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)


class StopRequested(Exception):
    """A signal asked the run to stop; the current step finished and last.pt was written."""


class Pruned(Exception):
    """A callback judged the run not worth finishing (a hyperparameter search pruned it); raised from on_checkpoint
    at an epoch's end, after the run's files for that epoch are written."""


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
        job: Distributed = NOT_DISTRIBUTED,
        device: Optional[torch.device] = None,
    ):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.train_batches, self.val_batches = train_batches, val_batches
        self.settings, self.task, self.from_logits = settings, task, from_logits
        self.scheduler, self.scheduler_interval = scheduler, scheduler_interval
        self.callbacks = list(callbacks)
        self.state = TrainState()
        self.should_stop = False
        self.stop_reason = ""
        self.stop_signal: Optional[str] = None  # set by a signal handler: finish the step, checkpoint, stop
        self.agreed_stop: Optional[str] = None  # the stop every process of a distributed job acts on
        self.improved = False  # whether the last epoch set a new best monitored value
        self.grads_finite: Optional[torch.Tensor] = None  # with grad_clip: all gradient norms so far were finite
        self.device = device or next(model.parameters()).device  # the experiment's device, where the model already is
        self.scaler = grad_scaler(self.device, settings.precision)
        self.job = job
        self.forward_model = compiled(
            data_parallel(model, job, self.device), settings.compile
        )  # the raw model keeps state_dict keys plain
        # gradient and activation readings at the log interval (train.health); hooks would break a compiled graph
        self.health = (
            HealthMonitor(model, settings.log_every_steps) if settings.health and not settings.compile else None
        )

    def leave_data_parallel(self) -> None:
        """Drop the DDP wrapper before the process group is destroyed: it holds the group and its last collectives,
        which would otherwise outlive destroy_process_group and abort the process (gloo) as the interpreter exits."""
        import gc

        self.forward_model = self.model
        gc.collect()

    def fit(self) -> TrainState:
        """Train until the last epoch, max_steps or early stopping; callbacks hear how it ended."""
        status = "failed"
        self._emit("on_fit_start")
        try:
            first = self.state.epoch if self.state.batches_done else self.state.epoch + 1
            for epoch in range(first, self.settings.epochs + 1):
                if self.should_stop:
                    break  # resumed after early stopping or max_steps had already ended the run
                if self.state.batches_done == 0:
                    self.state.start_epoch(epoch)
                record = {"type": "epoch", "epoch": epoch, **self.train_one_epoch()}
                validating = epoch % self.settings.val_every_epochs == 0 or epoch == self.settings.epochs
                validated = nonfinite_validation(self.validate(), self.state) if validating or self.should_stop else {}
                if not validated:
                    nonfinite_weights(
                        self.model, self.state
                    )  # no validation saw this epoch's weights: never checkpoint NaN ones
                record.update({f"val_{k}": v for k, v in validated.items()})
                self.state.batches_done = 0
                self._end_epoch(record)
                if self._agreed_stop():
                    raise StopRequested(self.stop_signal)
                if self.should_stop:
                    break
            status = "completed"
        except Diverged:
            status = "diverged"
            raise
        except Pruned:
            status = "pruned"
            raise
        except (StopRequested, KeyboardInterrupt):
            status = "interrupted"
            raise
        finally:
            self._emit("on_fit_end", status)
        return self.state

    def train_one_epoch(self) -> dict[str, Any]:
        self.model.train()
        state, accumulate = self.state, self.settings.accumulate_steps
        batch_count = len(self.train_batches)
        started = time.perf_counter()
        for index, (inputs, targets) in enumerate(
            self.train_batches.iterate(skip=state.batches_done), start=state.batches_done
        ):
            if self.health is not None and (state.step + 1) % self.settings.log_every_steps == 0:
                self.health.arm(state.step + 1)  # its step ends a log interval: read activations and gradients
            with self.autocast():
                loss = self.loss_fn(self.forward_model(inputs), targets)
            if self.settings.skip_nonfinite_steps and self._skipped_nonfinite(loss):
                state.batches_done = index + 1
                continue
            if state.first_loss is None:  # one sync in the whole run; averaged so every rank judges divergence alike
                state.first_loss = sum_across(self.job, loss.detach())[0] / self.job.world_size
                if state.last_finite_loss is None and math.isfinite(state.first_loss):
                    state.last_finite_loss = state.first_loss  # known already: no sync of its own
            scaled = loss / accumulate if accumulate > 1 else loss
            (self.scaler.scale(scaled) if self.scaler else scaled).backward()
            weighted = weighted_loss(loss, targets.shape[0])
            state.epoch_loss = weighted if state.epoch_loss is None else state.epoch_loss + weighted
            state.interval_loss = weighted if state.interval_loss is None else state.interval_loss + weighted
            state.epoch_samples += targets.shape[0]
            state.interval_samples += targets.shape[0]
            state.batches_done = index + 1
            if state.batches_done % accumulate == 0 or state.batches_done == batch_count:
                self._optimizer_step()
                if state.step % self.settings.log_every_steps == 0:
                    self._log_interval()
                if self._mid_epoch_checkpoint_due(batch_count):
                    if state.interval_samples:  # never checkpoint weights a NaN loss has already reached
                        loss_sum, samples = sum_across(self.job, state.interval_loss, state.interval_samples)
                        self._checked(loss_sum / samples)
                    nonfinite_weights(self.model, self.state)
                    state.epoch_seconds += time.perf_counter() - started
                    started = time.perf_counter()
                    self._emit("on_checkpoint")
                    if self.stop_signal and (self.agreed_stop or not self.job.enabled):
                        raise StopRequested(self.stop_signal)
            self._emit("on_batch_end")
            if self._reached_max_steps() or self.should_stop:
                break
        state.epoch_seconds += time.perf_counter() - started
        loss_sum, samples = sum_across(
            self.job, state.epoch_loss if state.epoch_loss is not None else 0.0, state.epoch_samples
        )
        train_loss = self._checked(loss_sum / samples) if samples else None
        return {
            "step": state.step,
            "samples": int(samples),
            "train_loss": train_loss,
            "lr": self.optimizer.param_groups[0]["lr"],
            "epoch_time": round(state.epoch_seconds, 4),
            "samples_per_s": round(samples / state.epoch_seconds, 1) if state.epoch_seconds > 0 else None,
        }

    def validate(self) -> dict[str, float]:
        if self.val_batches is None or len(self.val_batches) == 0:
            return {}
        model = (
            self.model if self.job.enabled else self.forward_model
        )  # every rank scores all of val: no DDP sync needed
        return evaluate(model, self.val_batches, self.loss_fn, self.task, self.from_logits, autocast=self.autocast)

    def autocast(self):
        return autocast(self.device, self.settings.precision)

    def _skipped_nonfinite(self, loss: torch.Tensor) -> bool:
        """With train.skip_nonfinite_steps: drop a batch whose loss is NaN/inf (a host sync per batch, only when asked
        for)."""
        if bool(torch.isfinite(loss)):
            return False
        self.state.nonfinite_steps_skipped += 1
        if self.state.nonfinite_steps_skipped > self.settings.skip_nonfinite_steps:
            raise Diverged(self.state.epoch, self.state.step, self.state.last_finite_loss)
        return True

    def _optimizer_step(self) -> None:
        if self.health is not None and self.health.armed:
            self.health.before_step()  # the gradients as backward left them, before any clipping
        if self.scaler and self.settings.grad_clip:
            self.scaler.unscale_(self.optimizer)  # clip the true gradients, not the scaled ones
        if self.settings.grad_clip:
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.grad_clip)
            finite = torch.isfinite(norm)  # checked on the device, read at the next log interval
            if self.scaler is None:  # with fp16 an inf norm is the scaler's business: it skips the step
                self.grads_finite = finite if self.grads_finite is None else self.grads_finite & finite
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            step_without_dynamo(self.optimizer)
        if self.health is not None and self.health.armed:
            self.health.after_step()
        clear_gradients(self.optimizer)
        self.state.step += 1
        if self.scheduler is not None and self.scheduler_interval == "step":
            self.scheduler.step()

    def _log_interval(self) -> None:
        state = self.state
        loss_sum, samples = sum_across(self.job, state.interval_loss, state.interval_samples)
        loss = self._checked(loss_sum / samples)
        if self.grads_finite is not None and not bool(self.grads_finite):
            raise Diverged(state.epoch, state.step, state.last_finite_loss, reason="the gradient norm became NaN/inf")
        state.interval_loss, state.interval_samples = None, 0
        record = {
            "type": "step",
            "epoch": state.epoch,
            "step": state.step,
            "train_loss": loss,
            "lr": self.optimizer.param_groups[0]["lr"],
        }
        self._emit("on_log", record)
        health = self.health.record(state.epoch, state.step) if self.health is not None else None
        if health is not None:
            self._emit("on_health", health)
        self._check_stop_when(record)

    def _mid_epoch_checkpoint_due(self, batch_count: int) -> bool:
        if self.state.batches_done == batch_count:
            return False  # the epoch-end checkpoint follows validation
        every = self.settings.checkpoint_every_steps
        agree_now = not self.job.enabled or self.state.step % self.settings.log_every_steps == 0
        stop = self._agreed_stop() if agree_now else self.agreed_stop
        return bool(stop) or bool(every and self.state.step % every == 0)

    def _agreed_stop(self) -> Optional[str]:
        """The stop every process acts on. A signal reaches each process of a distributed job at its own moment, so
        ranks that stopped at their own step would wait on each other's collectives forever: they agree instead
        (one collective per log interval and per epoch, at the same steps on every rank). One process: its own."""
        if not self.job.enabled:
            self.agreed_stop = self.stop_signal
        elif sum_across(self.job, 1.0 if self.stop_signal else 0.0)[0] > 0:
            self.stop_signal = self.stop_signal or "a stop signal to another process of the job"
            self.agreed_stop = self.stop_signal
        return self.agreed_stop

    def _checked(self, loss: float) -> float:
        """Raise Diverged on a NaN/inf loss, or one that exploded past divergence_factor x the first loss."""
        if not math.isfinite(loss):
            raise Diverged(self.state.epoch, self.state.step, self.state.last_finite_loss)
        factor, first = self.settings.divergence_factor, self.state.first_loss
        if factor and first and math.isfinite(first) and abs(loss) > factor * abs(first):
            raise Diverged(
                self.state.epoch,
                self.state.step,
                self.state.last_finite_loss,
                reason=f"loss exploded to {loss:.3g}, over {factor:g} x its first value {first:.3g},",
            )
        self.state.last_finite_loss = loss
        return loss

    def _check_stop_when(self, record: dict[str, Any]) -> None:
        """train.stop_when: stop once the metric crosses its threshold (train_loss per log interval, others per
        epoch)."""
        rule, value = self.settings.stop_when, None
        if rule is not None:
            value = record.get(rule.metric)
        if value is None:
            return
        if (rule.below is not None and value < rule.below) or (rule.above is not None and value > rule.above):
            bound = f"< {rule.below:g}" if rule.below is not None else f"> {rule.above:g}"
            self.should_stop, self.stop_reason = (
                True,
                f"stop_when: {rule.metric} {value:.4g} {bound} at step {self.state.step}{self._interval_note(rule)}",
            )

    def _interval_note(self, rule) -> str:
        """train_loss is checked per log interval: say so, as the epoch's mean loss shown at the end differs."""
        if rule.metric != "train_loss":
            return ""
        return f" (mean over the last log interval of up to {self.settings.log_every_steps} steps, not the epoch's)"

    def _reached_max_steps(self) -> bool:
        if self.settings.max_steps is not None and self.state.step >= self.settings.max_steps:
            self.should_stop, self.stop_reason = True, f"reached train.max_steps={self.settings.max_steps}"
        return self.should_stop

    def _end_epoch(self, record: dict[str, Any]) -> None:
        self._track_monitor(record.get(self.settings.monitor), record.get("val_loss"))
        if self.settings.stop_when and self.settings.stop_when.metric != "train_loss":
            self._check_stop_when(record)
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            self.scheduler.step()
        elif (
            self.scheduler is not None
            and self.scheduler_interval == "plateau"
            and record.get(self.settings.monitor) is not None
        ):
            self.scheduler.step(record[self.settings.monitor])
        self._emit("on_epoch_end", record)
        self._emit("on_checkpoint")

    def _track_monitor(self, value: Optional[float], val_loss: Optional[float] = None) -> None:
        """Update the best monitored value; stop early when it has not improved for `patience` epochs. An epoch
        that ties the best of another monitor (accuracy 1.0 again) with a lower val_loss becomes best.pt, without
        counting as an improvement for patience: the first epoch to reach a tie is rarely the better-fitted one."""
        self.improved = False
        if value is None or not math.isfinite(value):
            return
        early = self.settings.early_stopping
        min_delta = early.min_delta if early else 0.0
        state, sign = self.state, 1 if self.settings.mode == "min" else -1
        tie_break = self.settings.monitor != "val_loss" and val_loss is not None and math.isfinite(val_loss)
        loss = val_loss if tie_break else None
        if state.best_value is None or sign * (state.best_value - value) > min_delta:
            state.best_value, state.best_epoch, state.best_val_loss = value, state.epoch, loss
            state.epochs_without_improvement = 0
            self.improved = True
            return
        state.epochs_without_improvement += 1
        if value == state.best_value and loss is not None and state.best_val_loss is not None:
            if loss < state.best_val_loss:
                state.best_epoch, state.best_val_loss, self.improved = state.epoch, loss, True
        if early and self.state.epochs_without_improvement >= early.patience:
            self.should_stop = True
            self.stop_reason = f"early stopping: {self.settings.monitor} did not improve for {early.patience} epochs"

    def checkpoint(self, resolved_config: dict[str, Any]) -> dict[str, Any]:
        """Everything needed to continue exactly where the loop is now (tensors and plain values only)."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "epoch": self.state.epoch,
            "step": self.state.step,
            "best_metric": self.state.best_value,
            "best_epoch": self.state.best_epoch,
            "monitor": self.settings.monitor,
            "train_state": self.state.to_dict(),
            "data_rng": self.train_batches.resume_state(mid_epoch=self.state.batches_done > 0),
            "rng": rng_states(),
            "should_stop": self.should_stop,
            "stop_reason": self.stop_reason,
            "config": resolved_config,
        }

    def restore(self, checkpoint: dict[str, Any], source: str = "the checkpoint") -> None:
        """Continue from a checkpoint written by `checkpoint`: weights, optimizer, schedule, data order, RNGs. One
        that does not fit this model or optimizer is a UsageError naming `source`, raised before anything changes
        but the model's weights."""
        load_model_state(self.model, checkpoint, source)
        try:
            self.optimizer.load_state_dict(checkpoint["optimizer"])
        except (KeyError, ValueError, RuntimeError, TypeError) as error:
            raise UsageError(f"checkpoint {source}: its optimizer state does not fit this run's optimizer ({error})")
        if self.scheduler is not None and checkpoint.get("scheduler") is not None:
            self.scheduler.load_state_dict(checkpoint["scheduler"])
        if self.scaler is not None and checkpoint.get("scaler"):
            self.scaler.load_state_dict(checkpoint["scaler"])
        self.state = TrainState.from_dict(checkpoint["train_state"], self.device)
        self.should_stop, self.stop_reason = checkpoint.get("should_stop", False), checkpoint.get("stop_reason", "")
        self.train_batches.restore_state(checkpoint["data_rng"])
        restore_rng_states(checkpoint["rng"])

    def _emit(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)
