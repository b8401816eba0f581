"""`learnai diff RUN_A RUN_B`: the config keys whose values differ, and both runs' results side by side."""

from __future__ import annotations

from typing import Any

from learnai_cli.rundir import DamagedRun, RunDir
from learnai_cli.rundir.status import run_status, test_metrics

SKIPPED_METRICS = ("type", "epoch")  # an epoch record's bookkeeping, not a result


def diff_runs(run_a: RunDir, run_b: RunDir) -> dict[str, Any]:
    """{'runs', 'config': [{key, a, b[, missing_in]}], 'metrics': [{metric, a, b}]}; a value a run lacks is None."""
    from learnai_cli.config import flatten

    for run in (run_a, run_b):  # a damaged meta.json would show as blank results: say which file instead
        status, problem = run_status(run)
        if status == "damaged":
            raise DamagedRun(run, problem)
    config_a, config_b = flatten(run_a.read_config()), flatten(run_b.read_config())
    return {
        "runs": [run_a.id, run_b.id],
        "config": [
            {"key": key, "a": config_a.get(key), "b": config_b.get(key), **_missing(key, config_a, config_b)}
            for key in dict.fromkeys([*config_a, *config_b])
            if key not in config_a or key not in config_b or config_a[key] != config_b[key]
        ],
        "metrics": _side_by_side(results(run_a), results(run_b)),
    }


def _missing(key: str, config_a: dict[str, Any], config_b: dict[str, Any]) -> dict[str, str]:
    """Tell a key one run lacks from one it sets to null (e.g. a scheduler only one run has)."""
    if key not in config_a:
        return {"missing_in": "a"}
    return {"missing_in": "b"} if key not in config_b else {}


def results(run: RunDir) -> dict[str, Any]:
    """A run's outcome: status, epochs, duration, best monitored value, the last epoch's metrics, test metrics and
    the trivial baseline's scores."""
    meta = run.meta(strict=False)
    best = meta.get("best") or {}
    records = run.epoch_records()
    final = {f"final_{k}": v for k, v in (records[-1] if records else {}).items() if k not in SKIPPED_METRICS}
    tests = {f"test_{k}": v for k, v in (test_metrics(run) or {}).items()}
    return {
        "status": run_status(run)[0],
        "epochs": meta.get("epochs_completed"),
        "duration_s": meta.get("duration_s"),
        **(
            {f"best_{best['metric']}": best.get("value"), "best_epoch": best.get("epoch")} if best.get("metric") else {}
        ),
        **final,
        **tests,
        **baseline_values(meta),
    }


def baseline_values(meta: dict[str, Any]) -> dict[str, Any]:
    """{"baseline_val_loss": ..., "baseline_val_accuracy": ...}: the trivial predictor's scores meta.json recorded."""
    from learnai_cli.rundir.baseline import recorded_baseline

    scores = recorded_baseline(meta).get("val") or {}  # its well-formed numbers alone
    return {f"baseline_val_{k}": v for k, v in scores.items() if k != "samples"}


def _side_by_side(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"metric": name, "a": a.get(name), "b": b.get(name)} for name in dict.fromkeys([*a, *b])]
