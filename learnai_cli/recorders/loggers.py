"""The optional loggers a config names (train.loggers), checked by the commands that train (train, resume, config)
before anything is built; eval, predict, export and plot of a run never need them."""

from __future__ import annotations

from typing import Iterable


def require_loggers(loggers: Iterable[str]) -> None:
    """A ConfigError naming the install command for each logger whose packages are missing here."""
    if "tensorboard" in loggers:
        from learnai_cli.recorders.tensorboard import require_tensorboard

        require_tensorboard()
    if "mlflow" in loggers:
        from learnai_cli.recorders.mlflow_tracking import require_mlflow

        require_mlflow()
