"""The page of a `learnai tune` study (runs/<study>/) or a sweep folder (runs/sweep_...): the trials ranked, the
objective over trials, parameter importance and the best run's curves. Trials come from the folder's summary.json,
else (a study whose first trial is still training, a summary that cannot be read) from the runs tagged with it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from learnai_cli.report import images
from learnai_cli.report import page as html
from learnai_cli.report.importance import importances
from learnai_cli.report.series import chart, run_charts
from learnai_cli.rundir import RUN_ID_PATTERN, STUDY_DB, SWEEP_SUMMARY_JSON, RunDir

STATUS_ORDER = ("completed", "pruned", "diverged", "failed", "crashed", "interrupted", "running")


def is_group_folder(path: Path) -> bool:
    """A study's or a sweep's folder in the runs root (never a run: those are named by their start time)."""
    if RUN_ID_PATTERN.match(path.name) or path.is_symlink() or not path.is_dir():
        return False
    return (path / STUDY_DB).is_file() or (path / SWEEP_SUMMARY_JSON).is_file()


def _summary(folder: Path) -> Any:
    import json

    path = folder / SWEEP_SUMMARY_JSON
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() and not path.is_symlink() else None
    except (OSError, ValueError):
        return None


def collect_group(root: Path, folder: Path) -> dict[str, Any]:
    """{kind, name, monitor, direction, trials: [{number, params, value, status, run_id, epochs}], missing}."""
    from learnai_cli.rundir.selection import runs_in_group

    summary, missing = _summary(folder), []
    kind = "study" if (folder / STUDY_DB).is_file() or isinstance(summary, dict) else "sweep"  # dict: --storage
    runs = runs_in_group(root, folder.name)
    if isinstance(summary, dict) and isinstance(summary.get("trials"), list):
        trials = [_study_trial(t) for t in summary["trials"] if isinstance(t, dict)]
    elif isinstance(summary, list):
        trials = _sweep_trials(summary, runs)
    else:
        missing.append(f"{SWEEP_SUMMARY_JSON} is missing or unreadable: the trials are read from the runs' meta.json")
        trials = [_run_trial(number, run) for number, run in enumerate(runs)]
    first = runs[0] if runs else None
    monitor = (summary or {}).get("monitor") if isinstance(summary, dict) else _monitor(first)
    direction = (summary or {}).get("direction") if isinstance(summary, dict) else _direction(first)
    return {
        "kind": kind,
        "name": folder.name,
        "folder": folder,
        "monitor": monitor or (_monitor(first) if first else None) or "objective",
        "direction": direction or "min",
        "trials": rank(trials, direction or "min"),
        "runs": runs,
        "missing": missing + ([] if runs else ["no run of it is in the runs root (removed, or not trained yet)"]),
    }


def _study_trial(trial: dict[str, Any]) -> dict[str, Any]:
    params = trial.get("values") if isinstance(trial.get("values"), dict) else {}
    keys = ("number", "value", "status", "run_id", "epochs")
    return {**{key: trial.get(key) for key in keys}, "params": params}


def _sweep_trials(rows: list, runs: list[RunDir]) -> list[dict[str, Any]]:
    order = {run.id: number for number, run in enumerate(runs)}
    found = []
    for row in (r for r in rows if isinstance(r, dict)):
        params = dict(word.split("=", 1) for word in str(row.get("point", "")).split() if "=" in word)
        run_id = row.get("run_id") or ""
        number = order.get(run_id, len(order) + len(found))
        found.append(
            {"number": number, "params": _parsed(params), "value": row.get("best"), "status": row.get("status"),
             "run_id": run_id, "epochs": row.get("epochs")}
        )  # fmt: skip
    return found


def _parsed(params: dict[str, str]) -> dict[str, Any]:
    from learnai_cli.config.yaml_reading import load_text

    found = {}
    for key, text in params.items():
        try:
            found[key] = load_text(text)
        except Exception:  # not YAML: shown as the text it is
            found[key] = text
    return found


def _run_trial(number: int, run: RunDir) -> dict[str, Any]:
    from learnai_cli.rundir.status import run_status

    meta = run.meta(strict=False)
    overrides = meta.get("params") if isinstance(meta.get("params"), list) else str(meta.get("label", "")).split()
    params = _parsed(dict(str(o).split("=", 1) for o in overrides if "=" in str(o)))
    best = meta.get("best") if isinstance(meta.get("best"), dict) else {}
    status = run_status(run)[0]
    value = best.get("value") if status == "completed" else None
    trial = meta.get("trial") if isinstance(meta.get("trial"), int) else number
    return {"number": trial, "params": params, "value": value, "status": status, "run_id": run.id,
            "epochs": meta.get("epochs_completed")}  # fmt: skip


def _monitor(run: RunDir | None) -> str | None:
    best = run.meta(strict=False).get("best") if run else None
    return best.get("metric") if isinstance(best, dict) else None


def _direction(run: RunDir | None) -> str | None:
    try:
        train = run.read_config().get("train") if run else None
    except Exception:  # a damaged config.yaml: the usual direction
        return None
    return train.get("mode") if isinstance(train, dict) else None


def rank(trials: list[dict[str, Any]], direction: str) -> list[dict[str, Any]]:
    """Completed trials by value (best first), then pruned, diverged, failed, crashed, interrupted, running."""
    sign = -1 if direction in ("max", "maximize") else 1

    def key(trial):
        value = trial.get("value")
        usable = isinstance(value, (int, float)) and math.isfinite(value)
        place = STATUS_ORDER.index(trial["status"]) if trial.get("status") in STATUS_ORDER else len(STATUS_ORDER)
        return (place, not usable, sign * value if usable else 0.0, trial.get("number") or 0)

    return sorted(trials, key=key)


def study_document(root: Path, folder: Path) -> tuple[str, str, list[str]]:
    from learnai_cli.report.collect import collect_run

    group = collect_group(root, folder)
    best = next((t for t in group["trials"] if t.get("status") == "completed" and t.get("run_id")), None)
    best_run = next((run for run in group["runs"] if best and run.id == best["run_id"]), None)
    best_collected = collect_run(best_run) if best_run else None
    history = [chart for chart in (objective_chart(group),) if chart]
    every = trial_curves(group)
    best_charts = run_charts(best_collected["records"], best_collected["steps"]) if best_collected else []
    sections = [
        ("trials", "Trials ranked", trials_section(group)),
        ("objective", "Objective over trials", objective_section(group, history[0] if history else None)),
        ("importance", "Parameter importance", importance_section(group)),
        ("every", f"Every trial's {group['monitor']}", html.chart_boxes(every, len(history)) or _no_epochs()),
        ("best", "The best run's curves", best_section(best_collected, best_charts, len(history) + len(every))),
    ]
    title = f"{'Study' if group['kind'] == 'study' else 'Sweep'} {group['name']}"
    header = html.heading(1, title) + html.paragraph(
        f"{len(group['trials'])} trials; objective: {group['monitor']} ({group['direction']})"
    )
    text = html.document(f"learnai report: {group['name']}", header, sections, history + every + best_charts)
    return text, group["kind"], [run.id for run in group["runs"]]


def trial_curves(group: dict[str, Any]) -> list[dict[str, Any]]:
    """The monitored metric per epoch, a line per trial (the interactive chart only: the table above has the
    numbers)."""
    from learnai_cli.report.series import comparison_charts

    numbers = {t.get("run_id"): t.get("number") for t in group["trials"]}
    labels = [f"trial {numbers.get(run.id, '?')}" for run in group["runs"]]
    charts = comparison_charts(labels, [run.epoch_records() for run in group["runs"]])
    return [chart for chart in charts if chart["title"] == f"{group['monitor']} by run"]


def _no_epochs() -> str:
    return html.paragraph("No trial recorded an epoch of it yet.")


def trials_section(group: dict[str, Any]) -> str:
    names = list(dict.fromkeys(name for t in group["trials"] for name in t["params"]))
    rows = [
        (place, t.get("number"), *(t["params"].get(n) for n in names), t.get("value"), t.get("status"),
         t.get("epochs"), t.get("run_id"))
        for place, t in enumerate(group["trials"], start=1)
    ]  # fmt: skip
    table = html.table(("rank", "trial", *names, group["monitor"], "status", "epochs", "run"), rows)
    return html.missing_list(group["missing"]) + (table if rows else html.paragraph("No trial recorded yet."))


def objective_chart(group: dict[str, Any]) -> dict[str, Any] | None:
    ordered = sorted(group["trials"], key=lambda t: t.get("number") or 0)
    if not any(isinstance(t.get("value"), (int, float)) for t in ordered):
        return None
    numbers, values, best = _history(ordered, group["direction"])
    series = [{"label": group["monitor"], "values": values}, {"label": "best so far", "values": best, "dashed": True}]
    return chart(f"{group['monitor']} over trials", "trial", numbers, series, group["monitor"])


def _history(ordered: list[dict[str, Any]], direction: str) -> tuple[list, list, list]:
    choose = max if direction in ("max", "maximize") else min
    numbers, values, best, so_far = [], [], [], None
    for trial in ordered:
        value = trial.get("value")
        value = float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
        so_far = value if so_far is None else choose(so_far, value) if value is not None else so_far
        numbers.append(trial.get("number") or 0)
        values.append(value)
        best.append(so_far)
    return numbers, values, best


def objective_section(group: dict[str, Any], history: dict[str, Any] | None) -> str:
    if history is None:
        return html.paragraph("No trial has finished with a value yet.")
    values, best = (s["values"] for s in history["series"])
    png = images.objective_png(history["x"], values, best, group["monitor"])
    static = html.image(png, f"{group['monitor']} of each trial and the best so far", fallback=True) if png else ""
    return html.chart_boxes([history]) + static


def importance_section(group: dict[str, Any]) -> str:
    storage = group["folder"] / STUDY_DB if group["kind"] == "study" else None
    found, method = importances(group["trials"], storage if storage and storage.is_file() else None, group["name"])
    if not found:
        return html.paragraph("Not enough finished trials that differ to tell which parameter mattered.")
    png = images.importance_png(found)
    picture = html.image(png, "Bar chart of each parameter's importance") if png else ""
    return html.paragraph(f"Method: {method}.") + html.table(("parameter", "importance"), found) + picture


def best_section(collected: dict[str, Any] | None, charts: list[dict[str, Any]], first: int) -> str:
    from learnai_cli.report.run_page import findings, results_section

    if collected is None:
        return html.paragraph("No completed trial yet (or its run was removed): no best run to show.")
    loss = images.loss_png(collected)
    parts = [
        html.paragraph(
            f"Run {collected['id']} ({collected['status']}); its own page: learnai report {collected['id']}"
        ),
        findings(collected["diagnosis"], collected["id"]),
        results_section(collected),
        html.chart_boxes(charts, first_index=first),
        html.image(loss, f"Loss curves of the best run {collected['id']}", fallback=True) if loss else "",
    ]
    return "\n".join(parts)
