"""Reading a range test's curve: the suggested lr, or the plain-words reason there is none. Pure Python (no torch),
so the rule can be read, tested and documented on its own (docs/commands.md, "lr-find: how it decides").

The rule, on the smoothed loss against log10(lr):
1. flat: the smoothed loss never fell below 90% of where it started, or fell by no more than 3 standard
   deviations of the moving average's own noise (a dip noise alone makes): nothing to suggest.
2. the steepest descent: the least-squares slope over a quarter of a decade either side of each step, searched
   before the curve's minimum; the suggestion is the lr that point's moving average is centred on (beta / (1 -
   beta) steps earlier: an average of the past lags behind a changing loss by that many steps).
3. noisy: that descent must be sustained: the smoothed loss half a decade past it (or at the minimum, if nearer)
   must lie below the smoothed loss half a decade before it by more than 3 standard deviations of the moving
   average's own noise (estimated from the step-to-step differences of the raw losses there); a dip that noise
   could make is not a suggestion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

FLAT_FRACTION = 0.9  # the best smoothed loss must fall below this fraction of the start
SUSTAINED_Z = 3.0  # standard deviations of the moving average's noise the descent must exceed


@dataclass(frozen=True)
class Reading:
    suggested_lr: Optional[float]
    reason: str
    steepest: Optional[int] = None  # the step whose lr is suggested
    minimum: Optional[int] = None  # the step with the lowest smoothed loss


def read_curve(lrs: list[float], losses: list[float], smoothed: list[float], beta: float, stopped: str) -> Reading:
    """The suggestion (or why none) from a recorded sweep; `stopped` says how the sweep ended."""
    per_decade = _steps_per_decade(lrs)
    quarter, half = max(2, round(per_decade / 4)), max(3, round(per_decade / 2))
    if len(smoothed) < 2 * quarter + 2:
        return Reading(None, _too_short(len(smoothed), stopped, lrs))
    minimum = min(range(len(smoothed)), key=smoothed.__getitem__)
    start = sum(smoothed[:quarter]) / quarter
    averaged = math.sqrt(2 * (1 - beta) / (1 + beta))  # the noise of a difference of two moving averages, per unit
    if start - smoothed[minimum] <= (1 - FLAT_FRACTION) * abs(start):  # abs: a loss may be negative (Gaussian NLL)
        return Reading(None, _flat(start, smoothed[minimum], lrs), minimum=minimum)
    wander = averaged * _noise(losses[: minimum + 1])
    if start - smoothed[minimum] <= SUSTAINED_Z * wander:  # the lowest point is one noise alone would reach
        return Reading(None, _flat(start, smoothed[minimum], lrs, wander), minimum=minimum)
    steepest, slope = _steepest(lrs, smoothed, quarter, minimum)
    before, after = max(0, steepest - half), min(minimum, steepest + half)  # the descent ends at the minimum
    noise = _noise(losses[before : after + 1]) * averaged
    drop = smoothed[before] - smoothed[after]
    if slope >= 0 or drop <= SUSTAINED_Z * noise:
        return Reading(None, _noisy(lrs[steepest], drop, noise), minimum=minimum)
    centred = max(0, steepest - round(beta / (1 - beta)))
    reason = (
        f"the smoothed loss falls fastest at lr {lrs[centred]:.2g} (from {start:.4g} at the start to its lowest, "
        f"{smoothed[minimum]:.4g}, at lr {lrs[minimum]:.2g})"
    )
    return Reading(float(f"{lrs[centred]:.2g}"), reason, steepest=centred, minimum=minimum)


def _steepest(lrs: list[float], smoothed: list[float], quarter: int, minimum: int) -> tuple[int, float]:
    """The step before the minimum where the least-squares slope of the smoothed loss against log10(lr), over a
    quarter of a decade either side, is the most negative; and that slope."""
    logs = [math.log10(lr) for lr in lrs]
    candidates = range(quarter, max(quarter + 1, min(minimum, len(smoothed) - quarter)))
    slopes = {
        i: _slope(logs[i - quarter : i + quarter + 1], smoothed[i - quarter : i + quarter + 1]) for i in candidates
    }
    steepest = min(slopes, key=slopes.__getitem__)
    return steepest, slopes[steepest]


def _steps_per_decade(lrs: list[float]) -> float:
    if len(lrs) < 2:
        return 1.0
    return (len(lrs) - 1) / max(1e-12, math.log10(lrs[-1] / lrs[0]))


def _slope(xs: list[float], ys: list[float]) -> float:
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread if spread else 0.0


def _noise(values: list[float]) -> float:
    """The raw losses' spread from batch to batch: the differences of neighbours, which a smooth trend barely
    moves, have twice the variance of the noise."""
    differences = [b - a for a, b in zip(values, values[1:])]
    if not differences:
        return 0.0
    return math.sqrt(sum(d * d for d in differences) / (2 * len(differences)))


def _too_short(recorded: int, stopped: str, lrs: list[float]) -> str:
    where = f" by lr {lrs[-1]:.2g}" if lrs else " at its first step"
    how = "the loss became nan or inf" if stopped == "nonfinite" else "the loss exploded"
    return (
        f"{how}{where}, after only {recorded} steps: too few to read a descent from. Start lower or take more "
        "steps (e.g. --start 1e-8 --steps 400)"
    )


def _flat(start: float, best: float, lrs: list[float], noise: float | None = None) -> str:
    dip = f", a dip the batch-to-batch noise alone makes (3 x {noise:.3g})" if noise is not None else ""
    return (
        f"the loss never fell meaningfully below its start ({start:.4g} at first, {best:.4g} at best{dip}, over lr "
        f"{lrs[0]:.2g} to {lrs[-1]:.2g}): no lr in this range trains this model in a few hundred steps. Check that "
        "the model can learn (frozen or dead units, a target it cannot see), or sweep further (--end, --steps)"
    )


def _noisy(lr: float, drop: float, noise: float) -> str:
    change = f"fell by only {drop:.3g}" if drop > 0 else f"ended {-drop:.3g} higher than it began"
    return (
        f"the curve is too noisy to trust: around its steepest fall (lr {lr:.2g}) the smoothed loss {change} over "
        "a decade, no more than "
        f"the batch-to-batch noise alone would make (3 x {noise:.3g}). Take more steps "
        "(--steps) or a bigger batch (train.batch_size=...) for a steadier curve"
    )
