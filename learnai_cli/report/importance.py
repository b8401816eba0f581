"""How much each searched parameter mattered to the objective: Optuna's PED-ANOVA for a `learnai tune` study whose
storage is its folder's study.db (when Optuna is installed and the study allows it), else the spread of the mean
objective across each parameter's values (a number with more than four values in four bins of its trials, by rank),
as a fraction of the objective's whole range."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from learnai_cli.numbers import is_finite_number

BINS = 4
SPREAD = "spread of the mean objective across the parameter's values (4 bins by rank for a number), over its range"
OPTUNA = "Optuna's PedAnovaImportanceEvaluator (PED-ANOVA) over the study's finished trials"


def importances(trials: list[dict[str, Any]], storage: Path | None, study: str | None) -> tuple[list, str]:
    """([(parameter, importance), ...] largest first, the method used)."""
    if storage is not None and study:
        found = _optuna(storage, study)
        if found:
            return found, OPTUNA
    return spread(trials), SPREAD


def _optuna(storage: Path, study: str) -> list[tuple[str, float]]:
    import warnings

    try:
        import optuna
        from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances
    except ImportError:
        return []
    try:
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = optuna.load_study(study_name=study, storage=f"sqlite:///{storage.absolute()}")
            found = get_param_importances(loaded, evaluator=PedAnovaImportanceEvaluator())
    except Exception:  # too few trials, one value per parameter, a storage of another version: the spread instead
        return []
    return [(name, float(value)) for name, value in found.items() if math.isfinite(value)]


def spread(trials: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """Per parameter: (largest - smallest mean objective of its groups) / (the objective's range)."""
    done = [t for t in trials if is_finite_number(t.get("value")) and isinstance(t.get("params"), dict)]
    values = [t["value"] for t in done]
    if len(done) < 2 or max(values) == min(values):
        return []
    whole = max(values) - min(values)
    names = list(dict.fromkeys(name for t in done for name in t["params"]))
    found = []
    for name in names:
        pairs = [(t["params"][name], t["value"]) for t in done if name in t["params"]]
        groups = _groups(pairs)
        if len(groups) > 1:
            means = [sum(group) / len(group) for group in groups]
            found.append((name, (max(means) - min(means)) / whole))
    return sorted(found, key=lambda item: -item[1])


def _groups(pairs: list[tuple[Any, float]]) -> list[list[float]]:
    numbers = all(is_finite_number(x) for x, _ in pairs)
    if numbers and len({x for x, _ in pairs}) > BINS:
        ordered = sorted(pairs, key=lambda pair: pair[0])
        size = math.ceil(len(ordered) / BINS)
        return [[v for _, v in ordered[i : i + size]] for i in range(0, len(ordered), size)]
    grouped: dict[str, list[float]] = {}
    for x, value in pairs:
        grouped.setdefault(repr(x), []).append(value)
    return list(grouped.values())
