"""train.loggers: [tensorboard]: the same metrics as event files in the run's tensorboard/ folder (CSV/JSONL stay the
record)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from learnai_cli.engine.callbacks import Callback
from learnai_cli.errors import ConfigError


def require_tensorboard() -> None:
    if importlib.util.find_spec("tensorboard") is None:
        raise ConfigError(
            "train.loggers: tensorboard needs the tensorboard package: pip install 'learnai[tensorboard]' (or "
            "pip install tensorboard)"
        )


class TensorBoardLogger(Callback):
    def __init__(self, folder: Path):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(folder))

    def on_log(self, trainer, record: dict[str, Any]) -> None:
        self.writer.add_scalar("step/train_loss", record["train_loss"], record["step"])
        self.writer.add_scalar("step/lr", record["lr"], record["step"])

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None:
        for key, value in record.items():
            if key not in ("type", "epoch") and isinstance(value, (int, float)):
                self.writer.add_scalar(f"epoch/{key}", value, record["epoch"])
        self.writer.flush()

    def on_fit_end(self, trainer, status: str) -> None:
        self.writer.close()
