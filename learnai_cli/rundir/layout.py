"""Run directories: create one per training, resolve a run id, list runs; every file name of a run is spelled here.

No torch here: `learnai runs` and `learnai plot` read runs through this module alone.
"""

from __future__ import annotations

import csv
import io
import json
import re
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from learnai_cli.atomic import (
    Damaged,
    append_line,
    dumps_jsonl,
    read_json,
    read_jsonl,
    temp_files,
    write_atomic,
    write_json,
)
from learnai_cli.errors import UsageError, clip, kind_name
from learnai_cli.numbers import is_number
from learnai_cli.rundir.lock import RunLock
from learnai_cli.rundir.writable import check_writable

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when built with it: `runs` reads every config

RUN_ID_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_")
LINKED = "is a symbolic link (learnai neither reads nor writes a run's files through links)"
COLLISION_SUFFIX = re.compile(r"_\d+")  # what a run id gets when another run took its name in the same second

CHECKPOINTS, PLOTS = "checkpoints", "plots"  # folders of a run (MLflow mirrors them as artifact folders)
# (stem, suffix) of each export format's file in export/; another checkpoint than best adds "-<checkpoint>" between.
EXPORT_FILES = {
    "pt2": ("model", ".pt2"),
    "onnx": ("model", ".onnx"),
    "safetensors": ("model", ".safetensors"),
    "torchscript": ("model", ".torchscript.pt"),
    "state_dict": ("model_state_dict", ".pt"),
}


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
    legacy_eval_path = property(lambda self: self.path / "eval.json")  # before one result per split and checkpoint
    eval_dir = property(lambda self: self.path / "eval")
    data_fingerprint_path = property(lambda self: self.path / "data_fingerprint.json")  # the data files trained on
    diagnosis_path = property(lambda self: self.path / "diagnosis.json")  # `learnai diagnose`'s findings
    report_path = property(lambda self: self.path / "report.html")  # `learnai report RUN`'s page
    log_path = property(lambda self: self.path / "train.log")
    checkpoints = property(lambda self: self.path / CHECKPOINTS)
    last_checkpoint = property(lambda self: self.checkpoints / "last.pt")
    best_checkpoint = property(lambda self: self.checkpoints / "best.pt")
    plots = property(lambda self: self.path / PLOTS)
    loss_plot = property(lambda self: self.plots / "loss.png")
    fit_plot = property(lambda self: self.plots / "fit.png")
    health_plot = property(lambda self: self.plots / "health.png")  # gradient norms per layer (health records)
    animation_paths = property(lambda self: (self.plots / "training.gif", self.plots / "training.mp4"))
    export_dir = property(lambda self: self.path / "export")
    tensorboard_dir = property(lambda self: self.path / "tensorboard")
    lock_path = property(lambda self: self.path / ".lock")  # held by the one process that owns the run (runlock.py)

    def eval_report(self, split: str, checkpoint: str) -> Path:
        """eval/<split>-<checkpoint>.json: one result per split and checkpoint (best, last or a .pt file's stem)."""
        return self.eval_dir / f"{split}-{re.sub(r'[^A-Za-z0-9._-]', '_', checkpoint)[:80]}.json"

    def eval_reports(self) -> list[Path]:
        """Every evaluation result of the run, oldest first (a run from before eval/ has its eval.json)."""
        found = [self.legacy_eval_path] if self.legacy_eval_path.is_file() else []
        return found + sorted(self.eval_dir.glob("*.json"), key=lambda p: (p.stat().st_mtime, p.name))

    def confusion_plot(self, report: Path) -> Path:
        """plots/confusion_matrix_<split>-<checkpoint>.png beside the evaluation result it draws."""
        suffix = "" if report == self.legacy_eval_path else f"_{report.stem}"
        return self.plots / f"confusion_matrix{suffix}.png"

    def gallery_plot(self, report: Path) -> Path:
        """plots/highest_loss_<split>-<checkpoint>.png: the evaluation's worst examples, beside its confusion matrix."""
        return self.plots / f"highest_loss_{report.stem}.png"

    def export_path(self, fmt: str, checkpoint_tag: str = "") -> Path:
        """export/<file> of a format; a `checkpoint_tag` (e.g. "last") keeps another checkpoint's export beside it."""
        stem, suffix = EXPORT_FILES[fmt]
        return self.export_dir / (f"{stem}-{checkpoint_tag}{suffix}" if checkpoint_tag else f"{stem}{suffix}")

    def checkpoint(self, which: str) -> Path:
        """checkpoints/best.pt or checkpoints/last.pt."""
        return self.checkpoints / f"{which}.pt"

    @staticmethod
    def owner_of_checkpoint(path: Path) -> Path:
        """The folder a checkpoint file stands for: its run for <run>/checkpoints/<file>, else the folder it is in."""
        return path.parent.parent if path.parent.name == CHECKPOINTS else path.parent

    @classmethod
    def create(cls, root: Path, name: str, now: datetime | None = None) -> "RunDir":
        """A new `<YYYY-mm-dd_HH-MM-SS>_<name>[_<n>]` directory; mkdir is atomic, so concurrent starts never share
        one."""
        return cls.create_locked(root, name, now, lock=False)[0]

    @classmethod
    def create_locked(
        cls, root: Path, name: str, now: datetime | None = None, lock: bool = True, resolved_config: dict | None = None
    ) -> tuple["RunDir", RunLock | None]:
        """Like create, and (lock=True) the run's lock taken right after the mkdir, before anything else is in the
        directory: until meta.json exists, a young directory or a held lock reads as running, never as removable.
        With `resolved_config`, config.yaml and a first meta.json (running, this process) are written before it
        returns, so a run that is killed from here on reads as crashed or interrupted, never as damaged. If making
        it fails or is interrupted (a full disk, a signal), the folder is removed: a run appears whole or not at all."""
        check_writable(root)
        stamp = (now or datetime.now()).strftime("%Y-%m-%d_%H-%M-%S")
        for attempt in range(1, 10_000):
            path = root / f"{stamp}_{name}{'' if attempt == 1 else f'_{attempt}'}"
            try:
                root.mkdir(parents=True, exist_ok=True)
                path.mkdir()
            except FileExistsError:
                continue
            except OSError as error:
                raise UsageError(f"cannot create a run directory in {root}: {error.strerror or error}") from None
            return cls(path)._fill(lock, resolved_config)
        raise UsageError(f"cannot create a run directory for '{name}' in {root}")

    def _fill(self, lock: bool, resolved_config: dict | None) -> tuple["RunDir", RunLock | None]:
        held = None
        try:
            held = RunLock.acquire(self.lock_path, self.id, wait_s=2.0) if lock else None
            self.checkpoints.mkdir()
            self.plots.mkdir()
            if resolved_config is not None:
                self.write_config(resolved_config)
                self.update_meta(**_first_meta(self, resolved_config), host=socket.gethostname(), locked=lock)
            return self, held
        except BaseException as error:
            import shutil

            shutil.rmtree(self.path, ignore_errors=True)
            if held is not None:
                held.release()
            if isinstance(error, OSError):
                raise UsageError(
                    f"cannot create run {self.id} in {self.path.parent}: {error.strerror or error}; nothing was left "
                    "behind. Free some space (or fix the folder's permissions) and try again"
                ) from None
            raise

    def lock(self) -> RunLock:
        """Take this run's lock (one process at a time owns a run); RunInUse names the process that holds it."""
        return RunLock.acquire(self.lock_path, self.id)

    def clean_temp_files(self) -> list[Path]:
        """Remove the temp files of atomic writes a killed process left (checkpoint-sized); only the lock holder may."""
        names = ("meta.json", "config.yaml", "metrics.jsonl", "metrics.csv", "predictions.jsonl")
        stale = temp_files(self.path, names) + temp_files(self.checkpoints, ("last.pt", "best.pt"))
        for path in stale:
            path.unlink(missing_ok=True)
        return stale

    def meta(self, strict: bool = True) -> dict[str, Any]:
        """meta.json ({} before it is written). A damaged one (not a JSON object, fields of the wrong type) raises
        DamagedRun; with strict=False it reads as {} (the owner then rewrites it)."""
        try:
            if self.meta_path.is_symlink():  # another file's content is never taken for (or shown as) this run's
                raise Damaged(self.meta_path, LINKED)
            meta = read_json(self.meta_path, strict=True)
            _check_meta_types(self.meta_path, meta)
        except Damaged as damage:
            if strict:
                raise DamagedRun(self, str(damage)) from None
            return {}
        return meta

    def update_meta(self, **fields: Any) -> dict[str, Any]:
        meta = {**self.meta(strict=False), **fields}
        write_json(self.meta_path, meta)
        return meta

    def read_config(self) -> dict[str, Any]:
        config, problem = self._config_and_problem()
        if problem:
            raise UsageError(f"run {self.id}: config.yaml {problem}; restore it to use this run")
        return config

    def config_problem(self) -> str | None:
        """What is wrong with config.yaml ("config.yaml is missing", ...), or None when it reads as a config."""
        _, problem = self._config_and_problem(detail=False)
        return f"config.yaml {problem}" if problem else None

    def _config_and_problem(self, detail: bool = True) -> tuple[dict[str, Any], str | None]:
        if self.config_path.is_symlink():
            return {}, LINKED
        try:
            config = yaml.load(self.config_path.read_bytes().decode("utf-8"), Loader=SAFE_LOADER)  # noqa: S506
        except FileNotFoundError:
            return {}, "is missing"
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as error:
            if isinstance(error, UnicodeDecodeError):
                return {}, "is not UTF-8 text"
            if not detail:
                return {}, "cannot be read as YAML"
            from learnai_cli.config.yaml_reading import describe_yaml_error

            return {}, f"is not valid YAML ({describe_yaml_error(error)})"
        if not isinstance(config, dict):
            return {}, "holds no config mapping"
        return config, None

    def write_config(self, resolved_config: dict[str, Any]) -> None:
        write_atomic(self.config_path, yaml.safe_dump(resolved_config, sort_keys=False))

    def metrics(self) -> list[dict[str, Any]]:
        """metrics.jsonl's records; a line that is not a whole record, or one of the wrong shape, is skipped."""
        return read_jsonl(self.metrics_path, check=metrics_record_problem)

    def epoch_records(self) -> list[dict[str, Any]]:
        return [r for r in self.metrics() if r.get("type", "epoch") == "epoch"]

    def append_metrics(self, record: dict[str, Any]) -> None:
        append_line(self.metrics_path, json.dumps(record))

    def keep_metrics_up_to(self, step: int) -> None:
        """Drop records newer than a checkpoint's step (a resume writes them again); torn lines go too."""
        kept = [r for r in self.metrics() if isinstance(r.get("step", 0), (int, float)) and r.get("step", 0) <= step]
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
        append_line(self.log_path, line)


def _first_meta(run: RunDir, resolved_config: dict) -> dict[str, Any]:
    import os

    started = datetime.now().isoformat(timespec="seconds")
    name = resolved_config.get("name")
    name = name if isinstance(name, str) else ""
    return dict(run_id=run.id, name=name, status="running", started=started, heartbeat=started, pid=os.getpid())


def all_runs(root: Path) -> list[RunDir]:
    """Every run directory under root, oldest first (ids sort by start time); a root that does not exist has none,
    one that is a file is refused (a mistyped --runs-dir must not read as "no runs")."""
    if not root.is_dir():
        if root.exists():
            raise UsageError(
                f"{root} is a file, not a folder of runs: point --runs-dir (or LEARNAI_RUNS_DIR) at your runs' folder"
            )
        return []
    # a symbolic link is not a run: listing it would show a run twice (or one outside root) that rm must not follow
    return [
        RunDir(p) for p in sorted(root.iterdir()) if RUN_ID_PATTERN.match(p.name) and p.is_dir() and not p.is_symlink()
    ]


def resolve(root: Path, run_id: str) -> RunDir:
    """A run by its directory name, a unique prefix of it, or `latest`; nothing outside root."""
    shown = clip(repr(run_id)[1:-1], 100)  # a pasted 100 KB id (or one with a newline) is not echoed whole
    if not run_id or "/" in run_id or "\\" in run_id or run_id in (".", "..") or "\0" in run_id:
        raise UsageError(
            f"'{shown}' is not a run id: give a directory name from `learnai runs`, a unique prefix, or 'latest'"
        )
    if run_id != "latest" and RUN_ID_PATTERN.match(run_id) and _is_link(root / run_id):
        raise UsageError(
            f"{root / shown} is a symbolic link, not a run folder: learnai never follows links in the runs folder. "
            "Give the id of the run it points to (in its own runs folder: --runs-dir)"
        )
    runs = all_runs(root)
    if not runs:
        raise UsageError(f"no runs in {root}: train one with `learnai train CONFIG`, or point --runs-dir at your runs")
    if run_id == "latest":
        return _inside(root, max(runs, key=lambda r: (str(r.meta(strict=False).get("started", "")), r.id)))
    exact = [r for r in runs if r.id == run_id]
    prefixed = [r for r in runs if r.id.startswith(run_id)]
    # a run id given whole never means the run started in the same second after it (its _2, _3 twin): `rm ID`
    # run twice must not remove the twin the second time
    matches = exact or [r for r in prefixed if not COLLISION_SUFFIX.fullmatch(r.id[len(run_id) :])]
    if len(matches) == 1:
        return _inside(root, matches[0])
    if not matches:
        twins = f"; ids that go on with _N (give one whole): {', '.join(r.id for r in prefixed[:5])}" * bool(prefixed)
        raise UsageError(f"no run '{shown}' in {root}{twins}; `learnai runs` lists them (newest: {runs[-1].id})")
    listing = ", ".join(r.id for r in matches[:5]) + (" ..." if len(matches) > 5 else "")
    raise UsageError(f"run id '{shown}' is ambiguous in {root}: it matches {listing}")


def _is_link(path: Path) -> bool:
    try:
        return path.is_symlink()
    except OSError:  # a name longer than the file system allows is no file at all
        return False


def _inside(root: Path, run: RunDir) -> RunDir:
    """Refuse a run directory that is a symlink leading outside the runs root."""
    real_root = root.resolve()
    if real_root not in run.path.resolve().parents:
        raise UsageError(f"run '{run.id}' points outside {root}; refusing to use it")
    for folder in (run.checkpoints, run.plots, run.eval_dir, run.export_dir, run.tensorboard_dir):
        if folder.is_symlink():  # its files would be written wherever it points
            raise UsageError(
                f"{folder} is a symbolic link: learnai never writes a run's files through one. Remove the link "
                f"(rm {folder}; what it points to stays) and run the command again"
            )
    return run


# The fields of meta.json readers rely on, and the types they must have.
META_TYPES: dict[str, tuple[type, ...]] = {
    "status": (str,),
    "name": (str,),
    "started": (str,),
    "heartbeat": (str,),
    "host": (str,),
    "pid": (int,),
    "best": (dict, type(None)),
    "epochs_completed": (int, type(None)),
    "duration_s": (int, float, type(None)),
}


class DamagedRun(UsageError):
    """A run whose files cannot be read as a run: listed as `damaged`, refused by commands (exit 2)."""

    def __init__(self, run: RunDir, problem: str):
        super().__init__(
            f"run {run.id} is damaged: {problem}. Restore the file from a backup, or remove the run with "
            f"`learnai rm {run.id}`"
        )
        self.problem = problem
        self.details = {"run_id": run.id, "status": "damaged", "problem": problem}


def metrics_record_problem(record: dict[str, Any]) -> str | None:
    """What makes a metrics.jsonl record unusable, or None: an epoch or step record needs a whole-number epoch (and
    step, if it has one), and every other value a number or null. Records of other types are left alone."""
    kind = record.get("type", "epoch")
    if kind not in ("epoch", "step"):
        return None if isinstance(kind, str) else f"has the type {_shown(kind)}, not a name"
    described = "an epoch record" if kind == "epoch" else "a step record"
    if "epoch" not in record:
        return f"is {described} without an epoch"
    for key in ("epoch", "step"):
        value = record.get(key)
        if key in record and not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            return f"is {described} whose {key} is {_shown(value)}, not a whole number"
    for key, value in record.items():
        if key != "type" and not (value is None or is_number(value)):
            return f"is {described} whose {key} is {_shown(value)}, not a number"
    return None


def _shown(value: Any) -> str:
    return json.dumps(value)[:40]


def _check_meta_types(path: Path, meta: dict[str, Any]) -> None:
    for key, types in META_TYPES.items():
        value = meta.get(key)
        if key in meta and (not isinstance(value, types) or isinstance(value, bool) and bool not in types):
            raise Damaged(path, f"field '{key}' is {json.dumps(value)[:40]}, not {kind_name(types[0])}")
