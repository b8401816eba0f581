"""`learnai sweep`: train a config over a grid of settings, one normal run per point, and compare them."""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path
from typing import Any

from learnai_cli.atomic import write_atomic
from learnai_cli.config.yaml_reading import split_top_level
from learnai_cli.errors import Interrupted, RunFailed, UsageError, clip
from learnai_cli.rundir import (
    COMPARISON_PLOT,
    SWEEP_SUMMARY_CSV,
    SWEEP_SUMMARY_JSON,
    RunDir,
    create_sweep_dir,
)


def parse_axis(spec: str) -> tuple[str, list[str]]:
    """'optimizer.lr=0.01,0.1,1' -> ('optimizer.lr', ['0.01', '0.1', '1']); commas inside [...] or {...} stay."""
    key, sep, values = spec.partition("=")
    if not sep or not key or not values:
        raise UsageError(f"sweep axis '{spec}' must look like key.path=v1,v2,v3 (e.g. optimizer.lr=0.01,0.1,1)")
    return key, split_top_level(values)


def _distinct_keys(axes: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """Refuse a key given twice (an axis and a fixed value): the later one would silently win at every point."""
    seen: dict[str, str] = {}
    for key, values in axes:
        spec = f"{key}={','.join(values)}"
        if key in seen:
            raise UsageError(
                f"{key} is given twice ('{clip(seen[key])}' and '{clip(spec)}'): the second would replace the first at "
                "every point. Give it once: several values for an axis, or one value to fix it"
            )
        seen[key] = spec
    return axes


def points(axes: list[tuple[str, list[str]]]) -> list[list[str]]:
    """Every combination, as lists of key=value overrides."""
    keys = [key for key, _ in axes]
    return [[f"{k}={v}" for k, v in zip(keys, combo)] for combo in itertools.product(*(values for _, values in axes))]


def run_sweep(config_path: Path, specs: list[str], root: Path, interactive: bool) -> dict[str, Any]:
    from learnai_cli import config as config_module
    from learnai_cli.commands.train.run import train

    grid = points(_distinct_keys([parse_axis(spec) for spec in specs]))
    experiment_configs = [
        config_module.load(config_path, overrides) for overrides in grid
    ]  # all valid before any trains
    first = experiment_configs[0]
    sweep_dir = create_sweep_dir(root, first.name)
    command = ["learnai", "sweep", str(config_path), *specs]
    rows = []
    for number, (overrides, experiment_config) in enumerate(zip(grid, experiment_configs)):
        label = " ".join(overrides)
        try:
            summary = train(
                experiment_config, root, command, interactive, tags={"sweep": sweep_dir.name, "label": label}
            )
            run = RunDir(Path(summary["run_dir"]))
        except (RunFailed, Interrupted, KeyboardInterrupt) as failure:
            run = RunDir(root / failure.run_id) if getattr(failure, "run_id", None) else None
            if not isinstance(failure, RunFailed):
                if run is not None:
                    rows.append(_row(label, overrides, run, experiment_config))
                _write(sweep_dir, rows, experiment_config.train.mode)
                raise Interrupted(_interrupted(sweep_dir, config_path, grid, number, run, root)) from None
        rows.append(_row(label, overrides, run, experiment_config))
        _write(sweep_dir, rows, experiment_config.train.mode)
    ordered = _write(sweep_dir, rows, first.train.mode)
    return {
        "sweep_id": sweep_dir.name,
        "sweep_dir": str(sweep_dir),
        "monitor": first.train.monitor,
        "rows": ordered,
        "summary_csv": str(sweep_dir / SWEEP_SUMMARY_CSV),
        "plot": str(sweep_dir / COMPARISON_PLOT),
    }


def _interrupted(sweep_dir: Path, config_path: Path, grid: list[list[str]], number: int, run, root: Path) -> str:
    """What an interrupted sweep kept, and the commands that train what it did not."""
    import shlex

    from learnai_cli.rundir.next_steps import resume_command, runs_dir_arguments

    said = [
        f"sweep {sweep_dir.name} was interrupted at point {number + 1} of {len(grid)} ({' '.join(grid[number])}); "
        f"{sweep_dir / SWEEP_SUMMARY_CSV} holds the points so far"
    ]
    if run is not None:
        said.append(f"continue that point with: {resume_command(run)}")
    rest = grid[number + (1 if run is not None else 0) :]
    if rest:
        where = runs_dir_arguments(root)
        commands = [shlex.join(["learnai", "train", str(config_path), *point, *where]) for point in rest[:3]]
        more = f"\n  ... and {len(rest) - 3} more" if len(rest) > 3 else ""
        said.append(f"{len(rest)} point(s) not trained; each is one run:\n  " + "\n  ".join(commands) + more)
    return "\n".join(said)


def _row(label: str, overrides: list[str], run: RunDir | None, experiment_config) -> dict[str, Any]:
    meta = run.meta() if run else {}
    records = run.epoch_records() if run else []
    best = meta.get("best") or {}
    last = records[-1] if records else {}
    return {
        "point": label,
        **{o.split("=", 1)[0]: o.split("=", 1)[1] for o in overrides},
        "run_id": run.id if run else "",
        "status": meta.get("status", "failed"),
        "monitor": experiment_config.train.monitor,
        "best": best.get("value"),
        "final_train_loss": last.get("train_loss"),
        "final_val_loss": last.get("val_loss"),
        "epochs": meta.get("epochs_completed"),
        "duration_s": meta.get("duration_s"),
        "message": meta.get("message", ""),
    }


def _write(sweep_dir: Path, rows: list[dict[str, Any]], mode: str) -> list[dict[str, Any]]:
    """summary.csv and summary.json sorted by the monitored metric (failed and diverged last), and the comparison
    plot."""
    from learnai_cli.plots.compare import compare_figure
    from learnai_cli.plots.figures import save_figure

    def order(row):
        usable = row["status"] == "completed" and row["best"] is not None
        return (not usable, (row["best"] if mode == "min" else -row["best"]) if usable else 0)

    ordered = sorted(rows, key=order)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(dict.fromkeys(k for row in ordered for k in row)))
    writer.writeheader()
    writer.writerows(ordered)
    write_atomic(sweep_dir / SWEEP_SUMMARY_CSV, buffer.getvalue())
    write_atomic(sweep_dir / SWEEP_SUMMARY_JSON, json.dumps(ordered, indent=2))
    runs = [RunDir(sweep_dir.parent / row["run_id"]) for row in rows if row["run_id"]]
    if runs:
        save_figure(compare_figure(runs), sweep_dir / COMPARISON_PLOT)
    return ordered
