"""The trivial baseline meta.json recorded (experiment/baseline.py wrote it), as every reader may trust it: per
split (val, test) only scores that are finite numbers (an accuracy a fraction from 0 to 1, a sample count a whole
number of at least 1), and the predictor's description only when it is text. What a damaged meta.json holds
instead is left out, and `baseline_problems` says what that was (`learnai diagnose` reports it as damaged_run)."""

from __future__ import annotations

import json
from typing import Any

from learnai_cli.numbers import is_finite_number, is_number

SPLITS = ("val", "test")


def recorded_baseline(meta: dict[str, Any]) -> dict[str, Any]:
    """{"predictor"?, "val"?: {metric: number, "samples"?: int}, "test"?: {...}}: the well-formed part of meta.json's
    baseline ({} for a run without one, or with nothing sound left in it)."""
    return _read(meta)[0]


def baseline_problems(meta: dict[str, Any]) -> list[str]:
    """What is wrong with meta.json's baseline, one line each ('baseline.val.loss is "x", not a number'); [] for a
    sound baseline or none at all (a run from before learnai recorded baselines)."""
    return _read(meta)[1]


def _read(meta: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    if "baseline" not in meta or meta["baseline"] is None:  # a legacy run, or a task without a baseline
        return {}, []
    recorded = meta["baseline"]
    if not isinstance(recorded, dict):
        return {}, [f"baseline is {_shown(recorded)}, not a mapping of the splits' scores"]
    kept: dict[str, Any] = {}
    problems: list[str] = []
    predictor = recorded.get("predictor")
    if isinstance(predictor, str):
        kept["predictor"] = predictor
    elif "predictor" in recorded:
        problems.append(f"baseline.predictor is {_shown(predictor)}, not text")
    for split in SPLITS:
        if split not in recorded:
            continue
        scores, said = _split_scores(split, recorded[split])
        problems += said
        if any(name != "samples" for name in scores):  # a sample count alone scores nothing
            kept[split] = scores
    return kept, problems


def _split_scores(split: str, scores: Any) -> tuple[dict[str, Any], list[str]]:
    if not isinstance(scores, dict):
        return {}, [f"baseline.{split} is {_shown(scores)}, not a mapping of scores"]
    kept: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in scores.items():
        wrong = _wrong_score(str(name), value)
        if wrong:
            problems.append(f"baseline.{split}.{name} is {_shown(value)}, {wrong}")
        else:
            kept[str(name)] = value
    return kept, problems


def _wrong_score(name: str, value: Any) -> str:
    """Why `value` cannot be the baseline's `name` ('' when it can)."""
    if name == "samples":
        whole = is_number(value) and isinstance(value, int) and value >= 1
        return "" if whole else "not a whole number of samples"
    if not is_finite_number(value):
        return "not a finite number"
    if name == "accuracy" and not 0 <= value <= 1:
        return "not a fraction from 0 to 1"
    return ""


def _shown(value: Any) -> str:
    return json.dumps(value)[:40]  # NaN and Infinity as meta.json spells them
