"""Findings on whether a run trained long enough: `not_converged` when its train loss still fell steeply at the
end (across epochs; within its one epoch, from the interval records; after early stopping, told as too little
patience), with the command that trains it longer, which --resume can run only where the run's files allow it.
"""

from __future__ import annotations

import math
from typing import Optional

from learnai_cli.diagnose.finding import Finding, Run

STILL_FALLING = 0.02  # a train loss still falling by this fraction per epoch at the end is not converged
MIN_INTERVALS = 8  # interval records a one-epoch run needs to show a trend: two quarters of at least 2 each
NEARLY_BASELINE = 0.90  # a regression whose best val loss is above this fraction of the baseline's barely learned


def not_converged(run: Run) -> Optional[Finding]:
    """Still improving at the last epoch: the best epoch is the last and the loss still falls steeply."""
    train, epochs = run.series("train_loss"), run.epochs
    if run.status not in ("completed", "stopped", None):
        return None
    if len(train) == 1 and epochs == 1:
        return one_epoch(run)
    if len(train) < 2:
        return None
    per_epoch = recent_fall(train)
    best_epoch = (run.meta.get("best") or {}).get("epoch")
    if not isinstance(best_epoch, int) or best_epoch > epochs:  # records cut short, or a damaged meta.json
        best_epoch = None
    if per_epoch > STILL_FALLING and (best_epoch is None or best_epoch >= epochs - max(1, epochs // 10)):
        if str(run.meta.get("message") or "").startswith("early stopping:"):
            return _stopped_too_soon(run, per_epoch, best_epoch or epochs)
        more = max(2 * epochs, epochs + 5)
        return Finding(
            "not_converged",
            "warning",
            f"still improving at the last epoch: the train loss fell {per_epoch:.1%} per "
            f"epoch over the last {min(4, len(train)) - 1}, and the best epoch is {best_epoch or epochs} of {epochs}"
            f"{_annealed(run)}: train longer{_above_baseline(run)}",
            {"train_loss_fall_per_epoch": round(per_epoch, 4), "best_epoch": best_epoch, "epochs": epochs},
            run.train_longer(more),
        )
    return None


def recent_fall(train: list[float]) -> float:
    """How much the train loss fell per epoch over the last (up to) 3 epochs, as a fraction of where it was."""
    recent = train[-min(4, len(train)) :]
    return (recent[0] - recent[-1]) / max(abs(recent[0]), 1e-12) / (len(recent) - 1)


def _above_baseline(run: Run) -> str:
    """A run still no better than its baseline may be slow because of its lr, not only its length: say both."""
    base_loss = (run.baseline_split("val") or {}).get("loss")
    best = min(run.series("val_loss"), default=None)
    if not isinstance(base_loss, (int, float)) or best is None or best < NEARLY_BASELINE * base_loss:
        return ""
    return (
        f"; its best val loss ({best:.4g}) is not yet clearly below the baseline's ({base_loss:.4g}), so a higher lr "
        f"may be needed too (`learnai lr-find {run.config_hint}`)"
    )


def _stopped_too_soon(run: Run, per_epoch: float, best_epoch: int) -> Finding:
    """Early stopping ended a run whose train loss still fell steeply: more epochs need more patience, not a higher
    train.epochs (the run already had more than it used)."""
    stopping = run.section("train").get("early_stopping")
    patience = stopping.get("patience") if isinstance(stopping, dict) else None
    patience = patience if isinstance(patience, int) and not isinstance(patience, bool) and patience > 0 else 1
    more = max(5, 3 * patience)
    return Finding(
        "not_converged",
        "warning",
        f"early stopping ended the run at epoch {run.epochs} after {patience} epoch(s) without a better "
        f"{run.section('train').get('monitor', 'val_loss')} (best epoch {best_epoch}), while the train loss still "
        f"fell {per_epoch:.1%} per epoch: a patience this short stops at a pause of the val curve",
        {"train_loss_fall_per_epoch": round(per_epoch, 4), "best_epoch": best_epoch, "patience": patience},
        f"{run.new_run([f'train.early_stopping.patience={more}'])} (a new run with more patience; best.pt keeps "
        f"epoch {best_epoch} of this one)",
    )


def one_epoch(run: Run) -> Optional[Finding]:
    """One epoch has no trend across epochs: its interval records (type "step") say whether the loss was still
    falling at its end: the mean of the last quarter's intervals against the quarter before, a fall of more than
    STILL_FALLING per epoch (a quarter of it per quarter) and more than twice its standard error."""
    if str(run.meta.get("message") or "").startswith("stop_when:"):
        return None  # it stopped at the loss the config asked for
    losses = [
        float(r["train_loss"])
        for r in run.all_records
        if r.get("type") == "step" and isinstance(r.get("train_loss"), (int, float)) and math.isfinite(r["train_loss"])
    ]
    if len(losses) < MIN_INTERVALS:
        return Finding(
            "not_converged",
            "info",
            f"one epoch cannot show whether training converged: there is no second epoch to compare, and "
            f"{len(losses)} loss reading{'s' if len(losses) != 1 else ''} within it (at least {MIN_INTERVALS} show "
            "a trend)",
            {"epochs": 1, "interval_records": len(losses)},
            "train.epochs=5 shows the trend across epochs; or log more often within the epoch "
            "(a smaller train.log_every_steps)",
        )
    quarter = len(losses) // 4
    before, last = losses[-2 * quarter : -quarter], losses[-quarter:]
    fall = (_mean(before) - _mean(last)) / max(abs(_mean(before)), 1e-12)
    noise = math.sqrt(_variance(before) / len(before) + _variance(last) / len(last)) / max(abs(_mean(before)), 1e-12)
    if fall <= STILL_FALLING / 4 or fall <= 2 * noise:
        return None
    return Finding(
        "not_converged",
        "warning",
        f"still improving at the end of its one epoch: the train loss of the epoch's last quarter ({_mean(last):.4g}) "
        f"is {fall:.1%} below the quarter before ({_mean(before):.4g}), more than the noise between its readings: "
        f"train longer{_above_baseline(run)}",
        {"epochs": 1, "interval_records": len(losses), "last_quarter_fall": round(fall, 4), "noise": round(noise, 4)},
        run.train_longer(5),
    )


def _annealed(run: Run) -> str:
    """A schedule laid out over train.epochs anneals the lr at the end: part of a late fall comes with that."""
    lrs = run.series("lr")
    if not run.section("scheduler") or len(lrs) < 2 or lrs[-1] > max(lrs) / 10:
        return ""
    return (
        f", while its {run.section('scheduler').get('name')} schedule annealed the lr to {lrs[-1]:.3g} (part of a late "
        "fall comes with that; a longer schedule anneals later)"
    )


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _variance(values: list[float]) -> float:
    """The sample variance (0 for one value)."""
    if len(values) < 2:
        return 0.0
    centre = _mean(values)
    return sum((v - centre) ** 2 for v in values) / (len(values) - 1)
