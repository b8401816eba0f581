"""Run directories: create one per training, resolve a run id, list runs; every file name of a run is spelled here.

No torch here: `learnai runs` and `learnai plot` read runs through this module alone.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import yaml

from learnai_cli.atomic import dumps_jsonl, read_json, read_jsonl, write_atomic, write_json
from learnai_cli.errors import UsageError

DEFAULT_RUNS_DIR = "runs"
RUN_ID_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_")


@dataclass(frozen=True)
class RunDir:
    """One run's directory and the files in it."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    config_path = property(lambda self: self.path / "config.yaml")
    meta_path = property(lambda self: self.path / "meta.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    metrics_csv_path = property(lambda self: self.path / "metrics.csv")
    predictions_path = property(lambda self: self.path / "predictions.jsonl")  # train.record_predictions
    eval_path = property(lambda self: self.path / "eval.json")
    data_fingerprint_path = property(lambda self: self.path / "data_fingerprint.json")  # the data files trained on
    log_path = property(lambda self: self.path / "train.log")
    checkpoints = property(lambda self: self.path / "checkpoints")
    last_checkpoint = property(lambda self: self.checkpoints / "last.pt")
    best_checkpoint = property(lambda self: self.checkpoints / "best.pt")
    plots = property(lambda self: self.path / "plots")
    loss_plot = property(lambda self: self.plots / "loss.png")
    confusion_plot = property(lambda self: self.plots / "confusion_matrix.png")
    fit_plot = property(lambda self: self.plots / "fit.png")
    animation_paths = property(lambda self: (self.plots / "training.gif", self.plots / "training.mp4"))
    export_dir = property(lambda self: self.path / "export")
    tensorboard_dir = property(lambda self: self.path / "tensorboard")

    def checkpoint(self, which: str) -> Path:
        """checkpoints/best.pt or checkpoints/last.pt."""
        return self.checkpoints / f"{which}.pt"

    @classmethod
    def create(cls, root: Path, name: str, now: datetime | None = None) -> "RunDir":
        """A new `<YYYY-mm-dd_HH-MM-SS>_<name>[_<n>]` directory; mkdir is atomic, so concurrent starts never share
        one."""
        root.mkdir(parents=True, exist_ok=True)
        stamp = (now or datetime.now()).strftime("%Y-%m-%d_%H-%M-%S")
        for attempt in range(1, 10_000):
            suffix = "" if attempt == 1 else f"_{attempt}"
            path = root / f"{stamp}_{name}{suffix}"
            try:
                path.mkdir()
            except FileExistsError:
                continue
            run = cls(path)
            run.checkpoints.mkdir()
            run.plots.mkdir()
            return run
        raise UsageError(f"cannot create a run directory for '{name}' in {root}")

    def meta(self) -> dict[str, Any]:
        return read_json(self.meta_path)

    def update_meta(self, **fields: Any) -> dict[str, Any]:
        meta = {**self.meta(), **fields}
        write_json(self.meta_path, meta)
        return meta

    def read_config(self) -> dict[str, Any]:
        try:
            return yaml.safe_load(self.config_path.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise UsageError(f"run {self.id}: cannot read config.yaml: {error}") from None

    def write_config(self, resolved_config: dict[str, Any]) -> None:
        write_atomic(self.config_path, yaml.safe_dump(resolved_config, sort_keys=False))

    def metrics(self) -> list[dict[str, Any]]:
        return read_jsonl(self.metrics_path)

    def epoch_records(self) -> list[dict[str, Any]]:
        return [r for r in self.metrics() if r.get("type", "epoch") == "epoch"]

    def append_metrics(self, record: dict[str, Any]) -> None:
        with self.metrics_path.open("a") as file:
            file.write(json.dumps(record) + "\n")
            file.flush()

    def keep_metrics_up_to(self, step: int) -> None:
        """Drop records newer than a checkpoint's step (a resume writes them again); torn lines go too."""
        kept = [r for r in self.metrics() if r.get("step", 0) <= step]
        write_atomic(self.metrics_path, dumps_jsonl(kept))

    def keep_predictions_up_to(self, epoch: int) -> None:
        """Like keep_metrics_up_to, for predictions.jsonl (train.record_predictions)."""
        path = self.predictions_path
        if path.exists():
            kept = [r for r in read_jsonl(path) if r.get("type") == "grid" or r.get("epoch", 0) <= epoch]
            write_atomic(path, dumps_jsonl(kept))

    def write_metrics_csv(self, records: list[dict[str, Any]]) -> None:
        columns = list(dict.fromkeys(key for record in records for key in record if key != "type"))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)
        write_atomic(self.metrics_csv_path, buffer.getvalue())

    def log(self, line: str) -> None:
        with self.log_path.open("a") as file:
            file.write(line.rstrip("\n") + "\n")


def create_sweep_dir(root: Path, name: str) -> Path:
    """A new `sweep_<YYYY-mm-dd_HH-MM-SS>_<name>[_<n>]` folder beside the runs (it holds summaries, not a run)."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    for attempt in range(1, 1000):
        path = root / f"sweep_{stamp}_{name}{'' if attempt == 1 else f'_{attempt}'}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise UsageError(f"cannot create a sweep directory in {root}")


# What a sweep folder holds, and the default outputs of `learnai plot` in the runs root.
SWEEP_SUMMARY_CSV, SWEEP_SUMMARY_JSON, COMPARISON_PLOT, LANDSCAPE_PLOT = (
    "summary.csv",
    "summary.json",
    "comparison.png",
    "landscape.png",
)


def runs_root(option: str | Path | None) -> Path:
    """--runs-dir, else $LEARNAI_RUNS_DIR, else ./runs."""
    return Path(option or os.environ.get("LEARNAI_RUNS_DIR") or DEFAULT_RUNS_DIR)


def all_runs(root: Path) -> list[RunDir]:
    """Every run directory under root, oldest first (ids sort by start time)."""
    if not root.is_dir():
        return []
    return [RunDir(p) for p in sorted(root.iterdir()) if p.is_dir() and RUN_ID_PATTERN.match(p.name)]


def resolve(root: Path, run_id: str) -> RunDir:
    """A run by its directory name, a unique prefix of it, or `latest`; nothing outside root."""
    if not run_id or "/" in run_id or "\\" in run_id or run_id in (".", "..") or "\0" in run_id:
        raise UsageError(
            f"'{run_id}' is not a run id: give a directory name from `learnai runs`, a unique prefix, or 'latest'"
        )
    runs = all_runs(root)
    if not runs:
        raise UsageError(f"no runs in {root}: train one with `learnai train CONFIG`, or point --runs-dir at your runs")
    if run_id == "latest":
        return _inside(root, max(runs, key=lambda r: (r.meta().get("started", ""), r.id)))
    exact = [r for r in runs if r.id == run_id]
    matches = exact or [r for r in runs if r.id.startswith(run_id)]
    if len(matches) == 1:
        return _inside(root, matches[0])
    if not matches:
        raise UsageError(f"no run '{run_id}' in {root}; `learnai runs` lists them (newest: {runs[-1].id})")
    listing = ", ".join(r.id for r in matches[:5]) + (" ..." if len(matches) > 5 else "")
    raise UsageError(f"run id '{run_id}' is ambiguous in {root}: it matches {listing}")


def _inside(root: Path, run: RunDir) -> RunDir:
    """Refuse a run directory that is a symlink leading outside the runs root."""
    real_root = root.resolve()
    if real_root not in run.path.resolve().parents:
        raise UsageError(f"run '{run.id}' points outside {root}; refusing to use it")
    return run


STALE_HEARTBEAT_SECONDS = 15 * 60


def effective_status(meta: dict[str, Any]) -> str:
    """The recorded status, except a 'running' run whose process is gone (or silent for long) is 'crashed'."""
    status = meta.get("status", "unknown")
    if status != "running":
        return status
    if meta.get("host") == socket.gethostname() and isinstance(meta.get("pid"), int):
        return "running" if _process_alive(meta["pid"]) else "crashed"
    try:
        age = (datetime.now() - datetime.fromisoformat(meta.get("heartbeat", ""))).total_seconds()
    except ValueError:
        return "crashed"
    return "running" if age < STALE_HEARTBEAT_SECONDS else "crashed"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def iter_summaries(root: Path) -> Iterator[dict[str, Any]]:
    """One summary row per run for `learnai runs`."""
    for run in all_runs(root):
        meta = run.meta()
        best = meta.get("best") or {}
        yield {
            "id": run.id,
            "name": meta.get("name", ""),
            "status": effective_status(meta),
            "epochs": meta.get("epochs_completed"),
            "best_metric": best.get("metric"),
            "best_value": best.get("value"),
            "duration_s": meta.get("duration_s"),
            "started": meta.get("started"),
            "path": str(run.path),
        }
