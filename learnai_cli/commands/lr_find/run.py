"""`learnai lr-find CONFIG`: check the request, run the range test, read its curve, draw it, say what to try."""

from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import Any

from learnai_cli.commands.lr_find.curve import Reading, read_curve
from learnai_cli.errors import LearnaiError, RunFailed, UsageError

MAX_STEPS = 10_000


def check_request(start: float, end: float, steps: int) -> None:
    """The sweep's range and length, refused before anything is built."""
    if not (math.isfinite(start) and start > 0):
        raise UsageError(
            f"--start {start:g} must be a positive learning rate: a finite number above 0 and below --end "
            f"(e.g. --start 1e-7)"
        )
    if not (math.isfinite(end) and end > start):
        raise UsageError(
            f"--end {end:g} must be a finite learning rate above --start {start:g}: the sweep raises the lr from "
            f"--start to --end (e.g. --start 1e-7 --end 10)"
        )
    if not 20 <= steps <= MAX_STEPS:
        raise UsageError(f"--steps {steps} must be between 20 and {MAX_STEPS:,} (a few hundred reads well: 200)")


def lr_find(
    config_path: Path, overrides: list[str], plugins: list[str], root: Path, start: float, end: float, steps: int
) -> dict[str, Any]:
    """The range test of a config: its suggestion (or why none), the override to use, the plot and the curve."""
    from learnai_cli import config as config_module
    from learnai_cli.rundir.root import lr_find_plot_path
    from learnai_cli.rundir.writable import check_writable

    check_request(start, end, steps)
    experiment_config = config_module.load(config_path, overrides, plugins)
    key = _lr_key(experiment_config)
    check_writable(root)
    sweep = _sweep(experiment_config, start, end, steps)
    reading = read_curve(sweep.lrs, sweep.losses, sweep.smoothed, sweep.beta, sweep.stopped)
    plot = _draw(sweep, reading, experiment_config.name, lr_find_plot_path(root, experiment_config.name))
    override = f"{key}={reading.suggested_lr:g}" if reading.suggested_lr is not None else None
    kept = [item for item in overrides if item.partition("=")[0].strip() != key]  # the suggestion replaces it
    train = ["learnai", "train", str(config_path), *kept, *([override] if override else [])]
    return {
        "config": str(config_path),
        "suggested_lr": reading.suggested_lr,
        "reason": reading.reason,
        "override": override,
        "command": shlex.join(train) if override else None,
        "plot": str(plot),
        "start": start,
        "end": end,
        "steps": steps,
        "steps_run": len(sweep.lrs),
        "stopped": sweep.stopped,
        "lrs": sweep.lrs,
        "losses": sweep.smoothed,
        "raw_losses": sweep.losses,
    }


def _lr_key(experiment_config) -> str:
    """The override that sets the rate the test measured: optimizer.lr, or scheduler.max_lr where a one-cycle
    schedule's max_lr sets the peak itself. An optimizer without an lr cannot be swept."""
    from learnai_cli import registry

    scheduler = experiment_config.scheduler
    if scheduler is not None and scheduler.kwargs.get("max_lr") is not None:
        return "scheduler.max_lr"
    name = experiment_config.optimizer.name
    entry = registry.OPTIMIZERS.get(name)
    if not entry.accepts_any_kwargs and "lr" not in {p.name for p in entry.parameters}:
        raise UsageError(
            f"optimizer '{name}' takes no lr argument, so there is no learning rate to sweep; lr-find works with "
            "optimizers that take one (learnai list optimizers)"
        )
    return "optimizer.lr"


def _sweep(experiment_config, start: float, end: float, steps: int):
    """The range test; the user's own code failing in it is one line naming that code (exit 1), never a traceback."""
    import torch

    from learnai_cli.commands.lr_find.sweep import range_test
    from learnai_cli.registry.plugins import describe_exception

    try:
        return range_test(experiment_config, start, end, steps)
    except (KeyboardInterrupt, LearnaiError):
        raise
    except torch.cuda.OutOfMemoryError:
        raise UsageError(
            f"out of GPU memory during the range test at train.batch_size={experiment_config.train.batch_size}; "
            "try a smaller batch (train.batch_size=...) or device=cpu"
        ) from None
    except Exception as error:
        raise RunFailed(f"the range test failed: {describe_exception(error)}") from None


def _draw(sweep, reading: Reading, name: str, path: Path) -> Path:
    from learnai_cli.plots.lr_curve import draw_lr_curve

    if reading.suggested_lr is not None:
        title = f"lr-find {name}: suggested lr {reading.suggested_lr:g}"
    else:
        title = f"lr-find {name}: no suggestion"
    ended = {"end": "", "exploded": "stopped: the loss exploded", "nonfinite": "stopped: the loss became nan/inf"}
    return draw_lr_curve(sweep.lrs, sweep.losses, sweep.smoothed, reading.steepest, title, path, ended[sweep.stopped])
