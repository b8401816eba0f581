"""Findings from the health records training wrote at its log intervals (engine/health.py): ReLU units that never
fire, gradients that vanish before they reach the first layers or explode, sigmoid/tanh units stuck in their flat
tails. Judged on the last readings of the run (what it ended with), not on one noisy batch early on."""

from __future__ import annotations

from typing import Any, Optional

from learnai_cli.diagnose.finding import Finding, Run

DEAD = 0.5  # half a ReLU layer's units silent on a whole batch, in each of the last readings
MOSTLY_DEAD = 0.9  # past this the layer has all but stopped: a warning, not just worth knowing
SATURATED = 0.5  # half a sigmoid/tanh layer's outputs in their flat tails
VANISHED = 1e-3  # the first weight layer's gradient under this fraction of the last one's
EXPLODED = 1e3  # a gradient norm this many times the run's median reading, or a step larger than the weights
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
    last = health_records(run)[-LAST_READINGS:]
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
    records = health_records(run)
    if len(records) < 2:
        return None
    totals = [_total(record) for record in records]
    steps = [_largest_step(record) for record in records]
    typical = sorted(totals)[len(totals) // 2]
    grew = typical > 0 and max(totals) > EXPLODED * typical
    if not grew and max(steps) <= 1:
        return None
    worst = max(range(len(records)), key=lambda i: totals[i] if grew else steps[i])
    if grew:
        step = records[worst].get("step")
        said = f"the gradient norm reached {totals[worst]:.3g} at step {step}, {EXPLODED:g}x its typical {typical:.3g}"
    else:
        said = f"a step at {records[worst].get('step')} moved a weight tensor by {steps[worst]:.2g} times its own size"
    return Finding(
        "exploding_gradients",
        "warning",
        f"the gradients exploded: {said}",
        {
            "step": records[worst].get("step"),
            "grad_norm": totals[worst],
            "typical_grad_norm": typical,
            "largest_update_ratio": steps[worst],
        },
        "clip them (train.grad_clip=1.0) and lower optimizer.lr",
    )


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
