"""`learnai sweep`: train a config over a grid of settings, one normal run per point, and compare them."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from learnai_cli.errors import ConfigError, Interrupted, RunFailed, UsageError
from learnai_cli.runs import RunDir, write_atomic


def parse_axis(spec: str) -> tuple[str, list[str]]:
    """'optimizer.lr=0.01,0.1,1' -> ('optimizer.lr', ['0.01', '0.1', '1']); commas inside [...] or {...} stay."""
    key, sep, values = spec.partition("=")
    if not sep or not key or not values:
        raise UsageError(f"sweep axis '{spec}' must look like key.path=v1,v2,v3 (e.g. optimizer.lr=0.01,0.1,1)")
    parts, depth, current = [], 0, ""
    for char in values:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return key, [*parts, current]


def points(axes: list[tuple[str, list[str]]]) -> list[list[str]]:
    """Every combination, as lists of key=value overrides."""
    keys = [key for key, _ in axes]
    return [[f"{k}={v}" for k, v in zip(keys, combo)] for combo in itertools.product(*(values for _, values in axes))]


def run_sweep(config_path: Path, specs: list[str], root: Path, interactive: bool) -> dict[str, Any]:
    from learnai_cli import config as config_module
    from learnai_cli import training

    grid = points([parse_axis(spec) for spec in specs])
    configs = [config_module.load(config_path, overrides) for overrides in grid]  # every point is valid before any trains
    name = configs[0].name
    sweep_dir = _create_sweep_dir(root, name)
    rows = []
    for overrides, config in zip(grid, configs):
        label = " ".join(overrides)
        command = ["learnai", "sweep", str(config_path), *specs]
        try:
            summary = training.train(config, root, command, interactive, tags={"sweep": sweep_dir.name, "label": label})
            run = RunDir(Path(summary["run_dir"]))
        except (RunFailed, Interrupted) as failure:
            run = RunDir(root / failure.run_id) if getattr(failure, "run_id", None) else None
            if isinstance(failure, Interrupted):
                rows.append(_row(label, overrides, run, config))
                _write(sweep_dir, rows, config.train.mode)
                raise
        rows.append(_row(label, overrides, run, config))
        _write(sweep_dir, rows, config.train.mode)
    ordered = _write(sweep_dir, rows, configs[0].train.mode)
    return {"sweep_id": sweep_dir.name, "sweep_dir": str(sweep_dir), "monitor": configs[0].train.monitor, "rows": ordered,
            "summary_csv": str(sweep_dir / "summary.csv"), "plot": str(sweep_dir / "comparison.png")}


def _create_sweep_dir(root: Path, name: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    for attempt in range(1, 1000):
        path = root / f"sweep_{stamp}_{name}{'' if attempt == 1 else f'_{attempt}'}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise ConfigError(f"cannot create a sweep directory in {root}")


def _row(label: str, overrides: list[str], run: RunDir | None, config) -> dict[str, Any]:
    meta = run.meta() if run else {}
    records = run.epoch_records() if run else []
    best = meta.get("best") or {}
    last = records[-1] if records else {}
    return {
        "point": label,
        **{o.split("=", 1)[0]: o.split("=", 1)[1] for o in overrides},
        "run_id": run.id if run else "",
        "status": meta.get("status", "failed"),
        "monitor": config.train.monitor,
        "best": best.get("value"),
        "final_train_loss": last.get("train_loss"),
        "final_val_loss": last.get("val_loss"),
        "epochs": meta.get("epochs_completed"),
        "duration_s": meta.get("duration_s"),
        "message": meta.get("message", ""),
    }


def _write(sweep_dir: Path, rows: list[dict[str, Any]], mode: str) -> list[dict[str, Any]]:
    """summary.csv and summary.json sorted by the monitored metric (failed and diverged last), and the comparison plot."""
    from learnai_cli.plots import compare_figure, save_figure

    def order(row):
        usable = row["status"] == "completed" and row["best"] is not None
        return (not usable, (row["best"] if mode == "min" else -row["best"]) if usable else 0)

    ordered = sorted(rows, key=order)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(dict.fromkeys(k for row in ordered for k in row)))
    writer.writeheader()
    writer.writerows(ordered)
    write_atomic(sweep_dir / "summary.csv", buffer.getvalue())
    write_atomic(sweep_dir / "summary.json", json.dumps(ordered, indent=2))
    runs = [RunDir(sweep_dir.parent / row["run_id"]) for row in rows if row["run_id"]]
    if runs:
        save_figure(compare_figure(runs), sweep_dir / "comparison.png")
    return ordered
