"""Findings from the health records training wrote at its log intervals (engine/health.py): ReLU units that never
fire, gradients that vanish before they reach the first layers or explode, sigmoid/tanh units stuck in their flat
tails. Judged on the last readings of the run (what it ended with), not on one noisy batch early on."""

from __future__ import annotations

from typing import Any, Optional

from learnai_cli.diagnose.finding import Finding, Run
from learnai_cli.numbers import is_number

DEAD = 0.5  # half a ReLU layer's units silent on a whole batch, in each of the last readings
MOSTLY_DEAD = 0.9  # past this the layer has all but stopped: a warning, not just worth knowing
SATURATED = 0.5  # half a sigmoid/tanh layer's outputs in their flat tails
VANISHED = 1e-3  # the first weight layer's gradient under this fraction of the last one's
EXPLODED = 1e3  # a gradient norm this many times the first reading's
LAST_READINGS = 2


def health_records(run: Run) -> list[dict[str, Any]]:
    return [record for record in run.all_records if record.get("type") == "health"]


def dead_units(run: Run) -> Optional[Finding]:
    last = health_records(run)[-LAST_READINGS:]
    if not last:
        return None
    dead = _persistent(last, "relu", "dead_fraction", DEAD)
    if not dead:
        return None
    name, fraction = max(dead.items(), key=lambda item: item[1])
    return Finding(
        "dead_units",
        "warning" if fraction >= MOSTLY_DEAD else "info",
        f"{fraction:.0%} of the units of ReLU '{name}' never fire (output 0 for "
        "every sample of a batch, in the last readings): they pass no gradient and stopped learning",
        {"layers": dead, "readings": len(last)},
        "a lower optimizer.lr (a step too large kills ReLUs), a smaller init, or an activation that leaks "
        "(LeakyReLU in a model of your own)",
    )


def saturated_units(run: Run) -> Optional[Finding]:
    """Hidden sigmoid/tanh units whose outputs sit in their flat tails; an output layer's sigmoid is left out (it
    saturates as the model grows confident, and its loss, bce, passes the gradient on regardless)."""
    last = [_hidden_only(record) for record in health_records(run)[-LAST_READINGS:]]
    saturated = {
        **_persistent(last, "sigmoid", "saturated_fraction", SATURATED),
        **_persistent(last, "tanh", "saturated_fraction", SATURATED),
    }
    if not last or not saturated:
        return None
    name, fraction = max(saturated.items(), key=lambda item: item[1])
    return Finding(
        "saturated_units",
        "warning",
        f"{fraction:.0%} of the outputs of '{name}' sit in a sigmoid/tanh's flat tails "
        "(beyond 0.99): almost no gradient passes them",
        {"layers": saturated, "readings": len(last)},
        "standardise the inputs, use a lower optimizer.lr, or ReLU in the hidden layers",
    )


def _hidden_only(record: dict) -> dict:
    readings = record.get("activations") if isinstance(record.get("activations"), list) else []
    return {**record, "activations": [r for r in readings if not (isinstance(r, dict) and r.get("output") is True)]}


def vanishing_gradients(run: Run) -> Optional[Finding]:
    records = health_records(run)
    weights = [layer for layer in (records[-1].get("layers") or [])] if records else []
    weights = [layer for layer in weights if isinstance(layer, dict) and str(layer.get("name", "")).endswith("weight")]
    if len(weights) < 2:
        return None
    first, last = weights[0].get("grad_norm"), weights[-1].get("grad_norm")
    if not all(isinstance(v, (int, float)) for v in (first, last)) or last <= 0 or first >= VANISHED * last:
        return None
    return Finding(
        "vanishing_gradients",
        "warning",
        f"the gradient reaching the first layer ('{weights[0]['name']}', norm "
        f"{first:.2g}) is {first / last:.1e} of the last layer's ({last:.2g}): the early layers hardly learn",
        {"first_layer": weights[0]["name"], "first_grad_norm": first, "last_grad_norm": last},
        "ReLU instead of sigmoid/tanh in hidden layers, fewer layers, batch normalisation or residual connections",
    )


def exploding_gradients(run: Run) -> Optional[Finding]:
    """A gradient norm far above the first reading's (a fresh model's early steps set the scale: their gradients are
    naturally the largest), or a step larger than the weights while the loss is not below where it was logged first
    (a large step beside a weight crossing zero while the loss falls is no explosion)."""
    records = health_records(run)
    if not records:
        return None
    totals = [_total(record) for record in records]
    steps = [_largest_step(record) for record in records]
    early = totals[0]
    grew = [i for i in range(1, len(records)) if early > 0 and totals[i] > EXPLODED * early]
    jumped = [i for i, ratio in enumerate(steps) if ratio > 1 and not _loss_fell(run, records[i])]
    if not grew and not jumped:
        return None
    worst = max(grew, key=lambda i: totals[i]) if grew else max(jumped, key=lambda i: steps[i])
    step = records[worst].get("step")
    if grew:
        said = f"the gradient norm reached {totals[worst]:.3g} at step {step}, over {EXPLODED:g}x the first reading's"
    else:
        said = f"a step at {step} moved a weight tensor by {steps[worst]:.2g} times its own size, the loss not falling"
    return Finding(
        "exploding_gradients",
        "warning",
        f"the gradients exploded: {said}",
        {
            "step": step,
            "grad_norm": totals[worst],
            "first_grad_norm": early,
            "largest_update_ratio": steps[worst],
        },
        "clip them (train.grad_clip=1.0) and lower optimizer.lr",
    )


def _loss_fell(run: Run, reading: dict) -> bool:
    """The train loss logged at the reading's step is below the first one logged before it (the run is learning);
    a reading at the first log interval has nothing before it to compare with, and a diverged run never fell."""
    if run.status == "diverged":
        return False
    step = reading.get("step")
    losses = [r for r in run.all_records if r.get("type") == "step" and is_number(r.get("train_loss"))]
    earlier = [r["train_loss"] for r in losses if is_number(r.get("step")) and is_number(step) and r["step"] < step]
    now = [r["train_loss"] for r in losses if r.get("step") == step]
    return bool(earlier and now) and now[-1] < earlier[0]


def _persistent(records: list[dict], kind: str, key: str, threshold: float) -> dict[str, float]:
    """Layers of `kind` whose `key` is at least `threshold` in every one of the records."""
    found: dict[str, list[float]] = {}
    for record in records:
        for reading in record.get("activations") or []:
            if isinstance(reading, dict) and reading.get("kind") == kind and isinstance(reading.get(key), float):
                found.setdefault(str(reading.get("name")), []).append(reading[key])
    return {n: min(v) for n, v in found.items() if len(v) == len(records) and min(v) >= threshold}


def _layers(record: dict) -> list[dict]:
    return [layer for layer in record.get("layers") or [] if isinstance(layer, dict)]


def _largest_step(record: dict) -> float:
    """The largest update/weight ratio of the reading: above 1, a step moved a tensor by more than its own size."""
    weights = [layer for layer in _layers(record) if str(layer.get("name", "")).endswith("weight")]
    sized = [
        layer for layer in weights if isinstance(layer.get("weight_norm"), (int, float)) and layer["weight_norm"] > 1e-3
    ]
    ratios = [layer.get("update_ratio") for layer in sized]  # biases start near 0: any step is large beside them
    return max([r for r in ratios if isinstance(r, (int, float))], default=0.0)


def _total(record: dict) -> float:
    norms = [layer.get("grad_norm") for layer in _layers(record)]
    return sum(n * n for n in norms if isinstance(n, (int, float))) ** 0.5


HEALTH_RULES = (dead_units, saturated_units, vanishing_gradients, exploding_gradients)
