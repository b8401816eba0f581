"""What a study found: trials ranked by the objective, summary.csv/json, Optuna's plots, and `tune --show`."""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import warnings
from pathlib import Path
from typing import Any

from learnai_cli.atomic import write_atomic
from learnai_cli.commands.tune.request import Plan, TuneRequest
from learnai_cli.commands.tune.storage import STORAGE_VARIABLE, storage_url
from learnai_cli.errors import UsageError, hide_credentials
from learnai_cli.log import logger
from learnai_cli.rundir import STUDY_PLOTS, SWEEP_SUMMARY_CSV, SWEEP_SUMMARY_JSON
from learnai_cli.rundir.next_steps import runs_dir_arguments

__all__ = ["rows", "write", "show", "PLOTS"]

STATUS_ORDER = {"completed": 0, "pruned": 1, "diverged": 2, "failed": 3, "crashed": 4, "interrupted": 5, "running": 6}
PLOTS = ("optimization_history", "param_importances", "slice", "intermediate_values")


def rows(study) -> list[dict[str, Any]]:
    """One row per trial, best first: completed by value, then pruned, diverged, failed, interrupted, running."""
    sign = -1 if study.direction.name == "MAXIMIZE" else 1
    found = [_row(trial) for trial in study.get_trials(deepcopy=False)]
    return sorted(found, key=lambda r: (STATUS_ORDER.get(r["status"], 9), sign * (r["value"] or 0.0), r["number"]))


def _row(trial) -> dict[str, Any]:
    attrs = trial.user_attrs
    # Running until told: another process sets a trial's status and run id a moment before it tells the study
    status = "running" if trial.state.name == "RUNNING" else attrs.get("status") or "interrupted"
    started, ended = trial.datetime_start, trial.datetime_complete
    return {
        "number": trial.number,
        "params": " ".join(attrs.get("overrides", [])),  # for reading; values may hold spaces: use "overrides"
        "overrides": list(attrs.get("overrides", [])),
        "values": _values(attrs.get("overrides", [])),  # the sampled values as numbers, lists...: for --json readers
        "value": trial.value if trial.state.name == "COMPLETE" else None,
        "status": status,
        "duration_s": round((ended - started).total_seconds(), 3) if started and ended else None,
        "epochs": max(trial.intermediate_values) if trial.intermediate_values else None,
        "run_id": attrs.get("run_id", ""),
        "message": attrs.get("message", ""),
        "command": list(attrs.get("command", [])),  # the `learnai train` command of its run
    }


def write(study, folder: Path) -> dict[str, Any]:
    """summary.csv, summary.json and the plots in the study folder; the report `learnai tune` prints."""
    report = summarize(study, folder)
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer,
        fieldnames=["number", "params", "value", "status", "duration_s", "epochs", "run_id", "message"],
        extrasaction="ignore",
    )
    writer.writeheader()
    writer.writerows(report["trials"])
    write_atomic(folder / SWEEP_SUMMARY_CSV, buffer.getvalue())
    report["plots"] = draw_plots(study, folder / STUDY_PLOTS)
    write_atomic(folder / SWEEP_SUMMARY_JSON, json.dumps(report, indent=2, default=str))
    return {**report, "summary_csv": str(folder / SWEEP_SUMMARY_CSV), "summary_json": str(folder / SWEEP_SUMMARY_JSON)}


def summarize(study, folder: Path) -> dict[str, Any]:
    """The study's trials ranked, its best trial and the `learnai train` command that reproduces it."""
    ranked = rows(study)
    best = ranked[0] if ranked and ranked[0]["status"] == "completed" else None
    attrs = study.user_attrs
    command = None
    if best is not None:  # a study from before trials kept their command: rebuilt from the study's first command
        arguments = ["learnai", "train", attrs.get("config", "CONFIG"), *attrs.get("overrides", [])]
        command = shlex.join(best["command"] or [*arguments, *best["overrides"]])
    counts = {status: sum(r["status"] == status for r in ranked) for status in STATUS_ORDER}
    return {
        "study": study.study_name,
        "study_dir": str(folder),
        "direction": study.direction.name.lower(),
        "monitor": attrs.get("monitor"),
        "search": attrs.get("search", []),
        "counts": {k: v for k, v in counts.items() if v},
        "best_value": best["value"] if best else None,
        "best_params": _values(best["overrides"]) if best else {},
        "best_run_id": best["run_id"] if best else None,
        "best_trial": best["number"] if best else None,
        "reproduce": command,
        "trials": ranked,
    }


def _values(overrides: list[str]) -> dict[str, Any]:
    """{key: value} of `key=value` overrides, each value read as the config reads it (0.01 a number, [8, 4] a list)."""
    import yaml

    from learnai_cli.config.yaml_reading import load_text

    values = {}
    for override in overrides:
        key, _, text = override.partition("=")
        try:
            values[key] = load_text(text)
        except (yaml.YAMLError, ValueError, RecursionError):  # learnai wrote it as YAML: a damaged study, show the text
            values[key] = text
    return values


def draw_plots(study, folder: Path) -> list[str]:
    """Optuna's matplotlib views of the study (no plotly): history, importances, slices, learning curves. A view
    the study cannot have yet (one trial has no importances) is skipped with a note in the log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as views

    finished = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if not finished:
        return []
    if folder.is_symlink():  # a link in the study folder is replaced, never written through
        folder.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in PLOTS:
        try:
            # Optuna switches matplotlib to its ggplot style: kept inside, so later run plots look as usual
            with warnings.catch_warnings(), matplotlib.rc_context():
                warnings.simplefilter("ignore")  # Optuna marks its matplotlib views experimental
                axes = getattr(views, f"plot_{name}")(study)
                figure = (axes.flat[0] if hasattr(axes, "flat") else axes).get_figure()
                buffer = io.BytesIO()  # rendered first, then written atomically: a link there is replaced
                figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
                plt.close(figure)
            write_atomic(folder / f"{name}.png", buffer.getvalue())
            written.append(str(folder / f"{name}.png"))
        except Exception as failure:  # e.g. importances need two finished trials that differ
            logger.info(f"study {study.study_name}: no {name} plot ({failure})")
    return written


def show(name: str, storage: str | None, root: Path) -> dict[str, Any]:
    """`learnai tune --show STUDY`: read a study back without training."""
    from learnai_cli.commands.tune import study as tune_study
    from learnai_cli.rundir import STUDY_DB, STUDY_NAME_PATTERN

    folder = root / name
    if storage is None and (not STUDY_NAME_PATTERN.fullmatch(name) or not (folder / STUDY_DB).is_file()):
        names = sorted(p.parent.name for p in root.glob(f"*/{STUDY_DB}")) if root.is_dir() else []
        from learnai_cli.errors import did_you_mean

        held = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        raise UsageError(
            f"no study '{name}' in {root}.{did_you_mean(name, names)} Studies there: {held or 'none'}; "
            "a study kept elsewhere needs its --storage URL"
        )
    study = tune_study.load_study(name, storage_url(storage, folder))
    return summarize(study, folder)


def continue_message(plan: Plan, request: TuneRequest) -> str:
    """How to continue an interrupted study: the same command with its (perhaps generated) --study name."""
    if request.worker_index is not None:  # the command that started the workers says how to continue, once
        return f"worker {request.worker_index} of study {plan.name} stopped"

    command = ["learnai", "tune", str(request.config_path), *request.arguments, "--study", plan.name]
    secret = bool(request.storage) and hide_credentials(request.storage) != request.storage
    given = request.storage and not (secret and os.environ.get(STORAGE_VARIABLE) == request.storage)
    command += ["--trials", str(plan.trials)] + (["--storage", hide_credentials(request.storage)] if given else [])
    command += ["--sampler", request.sampler] if request.sampler != "tpe" else []
    command += ["--pruner", request.pruner] if request.pruner != "median" else []
    command += [f"--plugin={p}" for p in request.plugins] + runs_dir_arguments(request.root)
    command += ["--workers", str(request.workers)] if request.workers > 1 else []
    command += ["--timeout", f"{request.timeout:g}"] if request.timeout is not None else []
    note = f" (with the password where *** stands, or with it in ${STORAGE_VARIABLE} and no --storage)" * bool(
        secret and given
    )
    return (
        f"study {plan.name} was interrupted (its finished trials are kept; a trial cut short is recorded as "
        "interrupted and does not count); continue it with: " + shlex.join(command) + note
    )
