"""One run's files read into a plain dict for its page, tolerant of damage: what is there is kept, and what is
missing or unreadable is said in `missing` (a sentence each), never raised."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from learnai_cli.atomic import read_json
from learnai_cli.errors import UsageError
from learnai_cli.rundir import DamagedRun, RunDir
from learnai_cli.rundir.baseline import recorded_baseline
from learnai_cli.rundir.status import run_status, test_metrics

# meta.json fields shown as the run's environment (other fields have sections of their own).
ENVIRONMENT_KEYS = (
    "host",
    "device",
    "threads",
    "seed",
    "git_commit",
    "cwd",
    "command",
    "started",
    "ended",
    "duration_s",
    "steps",
    "pid",
)
BOOKKEEPING = ("type", "epoch", "step")  # an epoch record's keys that are not metrics


def collect_run(run: RunDir) -> dict[str, Any]:
    """{id, name, status, problem, missing, meta, config, records, steps, health, results, diagnosis, evals,
    environment} of one run."""
    status, problem = run_status(run)
    missing: list[str] = []
    meta = _meta(run, missing)
    config = _config(run, missing)
    records, steps, health = _records(run, missing)
    collected = {
        "id": run.id,
        "path": str(run.path),
        "name": meta.get("name") if isinstance(meta.get("name"), str) and meta.get("name") else run.id,
        "status": status,
        "message": meta.get("message") if isinstance(meta.get("message"), str) else "",
        "problem": problem,
        "meta": meta,
        "config": config,
        "records": records,
        "steps": steps,
        "health": health,
        "results": results(meta, records, run),
        "diagnosis": _diagnosis(run, missing),
        "evals": collect_evaluations(run, status, missing),
        "environment": environment(meta),
    }
    if collected["diagnosis"] and collected["diagnosis"].get("status"):  # a config.yaml that cannot be read: damaged
        collected["status"] = collected["diagnosis"]["status"]
    said = any(problem in line for line in missing)
    collected["missing"] = ([f"the run is damaged: {problem}"] if problem and not said else []) + missing
    return collected


def _meta(run: RunDir, missing: list[str]) -> dict[str, Any]:
    try:
        meta = run.meta()
    except DamagedRun as damage:
        missing.append(f"meta.json cannot be read ({damage.problem}): status, results and environment are unknown")
        return {}
    if not meta:
        missing.append("meta.json is missing: status, results and environment are unknown")
    return meta


def _config(run: RunDir, missing: list[str]) -> dict[str, Any]:
    try:
        return run.read_config()
    except UsageError:
        problem = run.config_problem() or "config.yaml cannot be read"
        missing.append(f"{problem}: the resolved config cannot be shown")
        return {}


def _records(run: RunDir, missing: list[str]) -> tuple[list[dict], list[dict], list[dict]]:
    """(epoch records, step records, health records): metrics.jsonl's, else (a run from another tool or a copied
    folder) metrics.csv's epoch rows."""
    every = run.metrics() if run.metrics_path.is_file() and not run.metrics_path.is_symlink() else []
    if not every and run.metrics_csv_path.is_file() and not run.metrics_csv_path.is_symlink():
        every = read_metrics_csv(run.metrics_csv_path)
        if every:
            missing.append("metrics.jsonl is missing or empty: the curves are metrics.csv's whole rows (no steps)")
    epochs = [r for r in every if r.get("type", "epoch") == "epoch"]
    steps = [r for r in every if r.get("type") == "step"]
    health = [r for r in every if r.get("type") == "health"]
    if not epochs:
        missing.append("no epoch was recorded (metrics.jsonl and metrics.csv hold none): there are no curves")
    return epochs, steps, health


def read_metrics_csv(path: Path) -> list[dict[str, Any]]:
    """metrics.csv's rows as epoch records; a row cut short (a truncated file) or holding text is skipped."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        return []
    header, records = rows[0], []
    for row in rows[1:]:
        if len(row) != len(header):
            continue
        record = {key: _number(value) for key, value in zip(header, row)}
        if isinstance(record.get("epoch"), float) and record["epoch"].is_integer():
            records.append({**record, "epoch": int(record["epoch"])})
    return records


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def results(meta: dict[str, Any], records: list[dict[str, Any]], run: RunDir) -> dict[str, Any]:
    """The run's outcome: the best monitored value, the last epoch's metrics, the test result, the baseline's."""
    best = meta.get("best") if isinstance(meta.get("best"), dict) else {}
    final = {k: v for k, v in (records[-1] if records else {}).items() if k.endswith("loss") or k.startswith("val_")}
    baseline = recorded_baseline(meta)  # its well-formed numbers alone
    return {
        "best": best if best.get("metric") else None,
        "final": final,
        "test": test_metrics(run) or {},
        "baseline": {split: baseline[split] for split in ("val", "test") if split in baseline},
        "baseline_predictor": baseline.get("predictor"),
    }


def _diagnosis(run: RunDir, missing: list[str]) -> dict[str, Any] | None:
    """The findings `learnai diagnose` gives, made now from the files (a run from before diagnosis.json has them
    too); nothing is written into the run."""
    from learnai_cli.diagnose import diagnose_run

    try:
        return diagnose_run(run)
    except Exception as error:  # a rule that meets a file of a shape it never saw: the page shows the rest
        missing.append(f"the diagnosis could not be made ({type(error).__name__}: {error})")
        return None


def collect_evaluations(run: RunDir, status: str, missing: list[str]) -> list[dict[str, Any]]:
    """Each eval result (per split and checkpoint) with its confusion matrix and highest-loss gallery's PNG."""
    if status == "damaged" and not run.eval_dir.is_dir():
        return []
    reports = [path for path in run.eval_reports() if not path.is_symlink()]
    if not reports:
        missing.append(f"no evaluation yet: run `learnai eval {run.id}` for test results and the confusion matrix")
    found = []
    for path in reports:
        report = read_json(path)
        if not report:
            missing.append(f"{path.relative_to(run.path)} is not a readable evaluation result")
            continue
        found.append(
            {
                **{k: v for k, v in report.items() if k not in ("report", "plots")},
                "file": str(path.relative_to(run.path)),
                "checkpoint_name": Path(str(report.get("checkpoint", "?"))).stem,
                "confusion_png": _png(run.confusion_plot(path)),
                "gallery_png": _png(run.gallery_plot(path)),
            }
        )
    return found


def _png(path: Path) -> bytes | None:
    """A PNG the run drew, unless it is missing, not a PNG, or a link (another file is never shown as the run's)."""
    try:
        if path.is_symlink() or not path.is_file():
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return data if data.startswith(b"\x89PNG") else None


def environment(meta: dict[str, Any]) -> dict[str, Any]:
    """meta.json's environment: versions, host, device, threads, seed, commit, command, times."""
    versions = meta.get("versions") if isinstance(meta.get("versions"), dict) else {}
    shown = {f"{name} version": value for name, value in versions.items()}
    for key in ENVIRONMENT_KEYS:
        if key in meta and meta[key] is not None:
            value = meta[key]
            shown[key] = " ".join(map(str, value)) if isinstance(value, list) else value
    return shown


def metric_names(records: list[dict[str, Any]]) -> list[str]:
    """Every metric the epoch records hold: losses, validation metrics, then the rest (lr, timings) as first seen."""
    names = [key for key in dict.fromkeys(k for r in records for k in r) if key not in BOOKKEEPING]
    return sorted(names, key=lambda name: 0 if name.endswith("loss") else 1 if name.startswith("val_") else 2)


def finite(value: Any) -> float | None:
    """A number for a chart or a table; None for anything else (text, NaN, inf)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)
