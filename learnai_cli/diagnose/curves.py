"""Findings from a run's loss curves: did it learn at all, too fast (lr too high), too slowly (lr too low), not
long enough, too well (overfitting), not enough (underfitting), or with a schedule that stopped it early.

Each rule compares the run with itself (its first epochs, its best epoch) or with its trivial baseline; the
thresholds are relative changes (a loss that moved by under 5% of its start has barely moved), never values tuned to
one run. docs/diagnose.md says what each one means and what it cannot know.
"""

from __future__ import annotations

import math
from typing import Optional

from learnai_cli.diagnose.convergence import NEARLY_BASELINE, STILL_FALLING, not_converged, recent_fall
from learnai_cli.diagnose.finding import Finding, Run
from learnai_cli.numbers import is_finite_number

BARELY_MOVED = 0.05  # a train loss that fell by under this fraction of its start has barely moved
SHORT_RUN = 10  # epochs under which a loss that fell 1-5% may only need more of them (lr_too_low waits)
RISE_AFTER_BEST = 0.10  # a val loss this much above its best, for several epochs, is rising
SPIKE = 10.0  # an early train loss this many times the trivial baseline's: the first steps overshot


def lr_too_high(run: Run) -> Optional[Finding]:
    """Diverged, or a train loss that ends above where it started, or bounces up about as often as down."""
    train, lr = run.series("train_loss"), run.first_lr
    fix = _lr_fix(lr, 0.1, run)
    if run.status == "diverged":
        return Finding(
            "lr_too_high",
            "problem",
            f"training diverged (the loss became too large to compute){_at(run)}: the "
            "learning rate is too high for this model and data",
            {"status": "diverged", "lr": lr},
            fix,
        )
    if len(train) >= 3 and train[-1] > train[0] * 1.02:
        return Finding(
            "lr_too_high",
            "problem",
            f"the train loss rose from {train[0]:.4g} (epoch 1) to {train[-1]:.4g} (epoch "
            f"{len(train)}): steps this large overshoot",
            {"first_train_loss": train[0], "last_train_loss": train[-1], "lr": lr},
            fix,
        )
    base_loss = (run.baseline_split("val") or {}).get("loss")
    early = train[: max(3, len(train) // 10)]
    start = max(base_loss or 0.0, zero_prediction_loss(run) or 0.0)  # where a fresh model's loss may begin
    if base_loss and early and max(early) > SPIKE * start:
        return Finding(
            "lr_too_high",
            "warning",
            f"the train loss shot up to {max(early):.4g} early on, {max(early) / base_loss:,.0f}x the trivial "
            f"baseline's {base_loss:.4g}{_fresh_start(start, base_loss, max(early))}, before it settled: the first "
            "steps overshot, and what the run learned after that it learned from a bad start",
            {"early_max_train_loss": max(early), "baseline_val_loss": base_loss, "fresh_model_loss": start, "lr": lr},
            fix,
        )
    if len(train) >= 6:
        steps = [b - a for a, b in zip(train, train[1:])]
        ups = sum(step > 0 for step in steps) / len(steps)
        typical = sorted(abs(s) for s in steps)[len(steps) // 2]
        level = sorted(train)[len(train) // 2]
        if ups >= 0.4 and typical > 0.05 * level and (train[0] - min(train)) < 0.5 * train[0]:
            return Finding(
                "lr_too_high",
                "warning",
                f"the train loss bounces: it went up in {ups:.0%} of the epochs, by about "
                f"{typical:.3g} each time: steps this large jump across the minimum",
                {"epochs_rising": round(ups, 3), "typical_change": typical, "lr": lr},
                fix,
            )
    return None


def _fresh_start(start: float, base_loss: float, peak: float) -> str:
    return (
        f" and {peak / start:,.0f}x the {start:.4g} of predicting 0, where a fresh model starts"
        if start > base_loss
        else ""
    )


def zero_prediction_loss(run: Run) -> Optional[float]:
    """The loss of predicting 0 for every target (where a fresh regression model starts, nearly): mean y^2 under MSE,
    mean |y| under the L1 family; None when unknown (classification starts at the baseline's chance loss)."""
    targets = (run.meta.get("data_checks") or {}).get("targets")
    if not isinstance(targets, dict):
        return None
    key = {"mse": "mean_square", "l1": "mean_abs", "smooth_l1": "mean_abs", "huber": "mean_abs"}.get(
        run.section("loss").get("name")
    )
    value = targets.get(key) if key else None
    return float(value) if is_finite_number(value) else None


def no_better_than_baseline(run: Run) -> Optional[Finding]:
    """The best validation result is no better than the trivial predictor's (a problem), or better only by less
    than its noise on this many samples, or (a regression) by under a tenth of its loss (a warning)."""
    base = run.baseline_split("val")
    if not base:
        return None
    predictor = run.baseline.get("predictor", "the trivial baseline")
    accuracy, best_accuracy = base.get("accuracy"), _best(run.series("val_accuracy"), max)
    if accuracy is not None and best_accuracy is not None:
        samples = max(1, int(base.get("samples", 1)))
        noise = 1.96 * math.sqrt(max(accuracy * (1 - accuracy), 1e-6) / samples)
        evidence = {"best_val_accuracy": best_accuracy, "baseline_val_accuracy": accuracy, "val_samples": samples}
        if best_accuracy <= accuracy + 0.005:
            return Finding(
                "no_better_than_baseline",
                "problem",
                f"the best validation accuracy ({best_accuracy:.1%}) is no better than the {accuracy:.1%} that "
                f"{predictor} scores on val: the model has learned nothing the labels' counts do not already say",
                evidence,
                _baseline_fix(run),
            )
        if best_accuracy <= accuracy + noise:
            return Finding(
                "no_better_than_baseline",
                "warning",
                f"the best validation accuracy ({best_accuracy:.1%}) is not clearly better than the {accuracy:.1%} "
                f"that {predictor} scores: on {samples} samples a difference under {noise:.1%} can be chance",
                {**evidence, "noise_95": round(noise, 4)},
                f"to tell, {run.more_validation()}; " + _baseline_fix(run),
            )
        return None
    loss, best_loss = base.get("loss"), _best(run.series("val_loss"), min)
    if loss is None or best_loss is None or loss <= 0 or best_loss < loss * NEARLY_BASELINE:
        return None
    explained = 1 - best_loss / loss
    return Finding(
        "no_better_than_baseline",
        "problem" if best_loss >= loss * 0.98 else "warning",
        f"the best validation loss ({best_loss:.4g}) is {'no' if explained < 0.02 else 'barely'} better than "
        f"the {loss:.4g} of {predictor}: the model explains {max(explained, 0):.0%} of what a constant cannot",
        {"best_val_loss": best_loss, "baseline_val_loss": loss, "explained": round(explained, 4)},
        _baseline_fix(run),
    )


def lr_too_low(run: Run) -> Optional[Finding]:
    """The train loss barely moved from its start, and (where the baseline is known) stayed near it."""
    train, lr = run.series("train_loss"), run.first_lr
    if len(train) < 3 or run.status == "diverged" or train[0] <= 0:
        return None
    moved = (train[0] - min(train)) / train[0]
    base_loss = (run.baseline_split("val") or {}).get("loss")
    near_baseline = base_loss is None or min(train) > 0.9 * base_loss
    if recent_fall(train) > STILL_FALLING:
        return None  # a short run still falling steeply: not_converged says train longer
    if moved >= 0.01 and len(train) < SHORT_RUN:
        return None  # a few epochs that fell a little cannot tell a low lr from a short run: the baseline names both
    if moved < BARELY_MOVED and near_baseline and (base_loss is not None or moved < 0.01):
        return Finding(
            "lr_too_low",
            "warning",
            f"the train loss barely moved: {train[0]:.4g} at epoch 1, at best "
            f"{min(train):.4g} ({moved:.1%} lower) after {len(train)} epochs: steps this small need far more epochs",
            {"first_train_loss": train[0], "best_train_loss": min(train), "fell_by": round(moved, 4), "lr": lr},
            _lr_fix(lr, 100 if moved < 0.01 else 10, run),
        )
    return None


def overfitting(run: Run) -> Optional[Finding]:
    """The val loss has risen for several epochs since its best while the train loss kept falling."""
    train, val = run.series("train_loss"), run.series("val_loss")
    if len(val) < 6 or len(train) != len(val):
        return None
    best = min(range(len(val)), key=val.__getitem__)
    after = len(val) - 1 - best
    rising = val[-1] > val[best] * (1 + RISE_AFTER_BEST) and val[-1] > train[-1] * (1 + RISE_AFTER_BEST)
    base_loss = (run.baseline_split("val") or {}).get("loss")
    fits_training = not isinstance(base_loss, (int, float)) or train[-1] < base_loss  # else it memorised nothing
    if after >= max(3, len(val) // 10) and rising and train[-1] < train[best] and fits_training:
        return Finding(
            "overfitting",
            "warning",
            f"val loss rising since epoch {best + 2} ({val[best]:.4g} at its best, epoch "
            f"{best + 1}, now {val[-1]:.4g}) while the train loss fell to {train[-1]:.4g}: the model is memorising "
            f"the training samples ({_kept_by_best(run, best + 1)})",
            {
                "best_epoch": best + 1,
                "rising_since_epoch": best + 2,
                "best_val_loss": val[best],
                "last_val_loss": val[-1],
                "last_train_loss": train[-1],
            },
            _overfitting_fix(run, best + 1),
        )
    return None


def underfitting(run: Run) -> Optional[Finding]:
    """The train loss itself stays near the trivial baseline's loss: the model does not fit even what it sees."""
    train, base = run.series("train_loss"), run.baseline_split("val") or {}
    loss = base.get("loss")
    if len(train) < 3 or loss is None or loss <= 0 or run.status == "diverged" or train[-1] < 0.8 * loss:
        return None
    if train[0] > 0 and (train[0] - min(train)) / train[0] < BARELY_MOVED:
        return None  # barely moved at all: lr_too_low says so
    return Finding(
        "underfitting",
        "warning",
        f"the train loss stays high: {train[-1]:.4g} at the end, against the trivial "
        f"baseline's {loss:.4g}: the model does not fit even its training data",
        {"last_train_loss": train[-1], "baseline_val_loss": loss},
        "a larger model (more or wider layers than now), more epochs, or a higher optimizer.lr",
    )


def lr_decayed_early(run: Run) -> Optional[Finding]:
    """The schedule took the lr to almost nothing in the first half, while the loss was still falling."""
    lrs, train = run.series("lr"), run.series("train_loss")
    if len(lrs) < 4 or len(train) != len(lrs) or not lrs[0]:
        return None
    dead = next((i for i, lr in enumerate(lrs) if lr <= lrs[0] * 1e-3), None)
    if dead is None or dead > len(lrs) // 2 or dead < 1:
        return None
    before = train[max(0, dead - 3) : dead + 1]
    falling = (before[0] - before[-1]) / max(abs(before[0]), 1e-12) > STILL_FALLING
    if falling:
        return Finding(
            "lr_decayed_early",
            "warning",
            f"the schedule took the lr from {lrs[0]:.3g} to {lrs[dead]:.3g} by epoch "
            f"{dead + 1} of {len(lrs)}, while the loss was still falling: the rest of the run could not learn",
            {"first_lr": lrs[0], "lr": lrs[dead], "epoch": dead + 1, "epochs": len(lrs)},
            _schedule_fix(run),
        )
    return None


def _overfitting_fix(run: Run, best_epoch: int) -> str:
    """Regularising is the cure; stopping earlier only keeps the damage out of best.pt (which it already is)."""
    stopping = run.section("train").get("early_stopping")
    stop = "" if isinstance(stopping, dict) and stopping else "train.early_stopping.patience=3 to stop sooner; "
    regularise = "regularise: optimizer.weight_decay=1e-4, dropout, more data, or a smaller model"
    return f"{regularise}; {stop}{_kept_by_best(run, best_epoch)}"


def _kept_by_best(run: Run, lowest_val_loss_epoch: int) -> str:
    """Which epoch best.pt holds: the one with the best monitored metric (meta.json's best), which is the lowest
    val loss's only when the monitor is val_loss."""
    best = run.meta.get("best") if isinstance(run.meta.get("best"), dict) else {}
    epoch, metric = best.get("epoch"), best.get("metric")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or not isinstance(metric, str):
        return (
            f"best.pt keeps the best epoch of its monitored metric (the lowest val loss: epoch {lowest_val_loss_epoch})"
        )
    if epoch == lowest_val_loss_epoch:
        return f"best.pt keeps epoch {epoch}, from before it began"
    return f"best.pt keeps epoch {epoch}, the best {metric}; the val loss was lowest at epoch {lowest_val_loss_epoch}"


def _schedule_fix(run: Run) -> str:
    name = run.section("scheduler").get("name")
    knob = {
        "step": "a larger scheduler.step_size or gamma",
        "reduce_on_plateau": "a larger scheduler.patience or factor",
    }
    # the whole section replaced: the old scheduler's own arguments (step_size, gamma) are not cosine's
    whole_run = "a schedule that decays over the whole run ('scheduler={name: cosine}')"
    return f"{whole_run}, or {knob.get(name, 'a gentler decay')}"


def _best(values: list[float], pick) -> Optional[float]:
    return pick(values) if values else None


def _at(run: Run) -> str:
    return f" at epoch {run.epochs + 1}" if run.epochs else ""


def _lr_fix(lr: Optional[float], factor: float, run: Run) -> str:
    suggestion = f"optimizer.lr={lr * factor:g}" if lr else "a different optimizer.lr"
    return f"{suggestion}; or let `learnai lr-find {run.config_hint}` suggest one"


def _baseline_fix(run: Run) -> str:
    lr = run.first_lr
    now = f"; now {lr:g}" if lr else ""
    epochs = f"too few epochs (this run had {run.epochs})" if 0 < run.epochs < SHORT_RUN else "too few epochs"
    return (
        f"the usual causes, most common first: the learning rate (`learnai lr-find {run.config_hint}`{now}), {epochs}, "
        "inputs far from unit scale, labels the inputs do not predict (noise, a wrong target column), a loss that "
        "does not suit the task; the other findings say which"
    )


DIVERGED_RULES = (lr_too_high,)  # a run that diverged before its first epoch ended still says why
CURVE_RULES = (
    lr_too_high,
    no_better_than_baseline,
    lr_too_low,
    not_converged,
    overfitting,
    underfitting,
    lr_decayed_early,
)
