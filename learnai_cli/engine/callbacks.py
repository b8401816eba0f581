"""Hooks the trainer calls; the trainer itself knows nothing of run directories or terminals."""

from __future__ import annotations

from typing import Any

__all__ = ["Callback"]


class Callback:
    """Override what you need; every hook is a no-op by default."""

    def on_fit_start(self, trainer) -> None: ...

    def on_batch_end(self, trainer) -> None: ...

    def on_log(self, trainer, record: dict[str, Any]) -> None: ...

    def on_health(self, trainer, record: dict[str, Any]) -> None:
        """A `type: "health"` record (engine/health.py): gradient norms and activations at a log interval."""

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None: ...

    def on_checkpoint(self, trainer) -> None:
        """The loop is at a resumable point: after each epoch, every train.checkpoint_every_steps, before a requested
        stop."""

    def on_fit_end(self, trainer, status: str) -> None: ...
