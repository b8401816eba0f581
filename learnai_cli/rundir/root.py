"""The runs root: where it is, and what it holds besides runs: sweep and study folders, MLflow's local store, the
default outputs of `learnai plot`. A name the root holds is spelled here."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

from learnai_cli.errors import UsageError, clip
from learnai_cli.rundir.writable import check_writable

DEFAULT_RUNS_DIR = "runs"


def create_sweep_dir(root: Path, name: str) -> Path:
    """A new `sweep_<YYYY-mm-dd_HH-MM-SS>_<name>[_<n>]` folder beside the runs (it holds summaries, not a run)."""
    check_writable(root)
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
# `learnai report`: several runs' page in the runs root; a study's or sweep's in its folder; a damaged run's (whose
# folder is written nothing) in the runs root, named after it.
COMPARISON_REPORT, GROUP_REPORT = "comparison.html", "report.html"


def loose_report_path(root: Path, run_id: str) -> Path:
    """runs/report_<run id>.html: the page of a run whose own folder takes no file (a damaged one)."""
    return root / f"report_{run_id}.html"


# train.loggers: [mlflow] without MLFLOW_TRACKING_URI: MLflow's SQLite store and its artifacts, in the runs root.
MLFLOW_STORE, MLFLOW_ARTIFACTS = "mlflow.db", "mlartifacts"


# What a `learnai tune` study folder (runs/<study>/) holds besides its summaries; a study name never looks like a
# run id (it starts with a letter), so `learnai runs` never lists it.
STUDY_DB, STUDY_PLOTS, STUDY_ASK_LOCK = "study.db", "plots", ".ask.lock"
STUDY_NAME_PATTERN = re.compile(
    r"[A-Za-z][A-Za-z0-9._-]{0,79}"
)  # used with fullmatch: `$` would let a final newline in


def new_study_dir(root: Path, name: str) -> Path:
    """A study folder no other command has (`name`, else `name_2`, ...): for a generated study name, so two
    `learnai tune` commands started in the same second never continue each other's study."""
    for attempt in range(1, 1000):
        candidate = name if attempt == 1 else f"{name[: 79 - len(str(attempt))]}_{attempt}"
        folder = study_dir(root, candidate)
        try:
            (folder / STUDY_ASK_LOCK).touch(exist_ok=False)  # claims it: the first to make its lock file owns it
            return folder
        except FileExistsError:
            continue
    raise UsageError(f"cannot make a new study folder for '{clip(name)}' in {root}: give --study NAME")


def study_dir(root: Path, name: str) -> Path:
    """runs/<study>/: the default SQLite storage, summary.csv/json and plots of one study."""
    if not STUDY_NAME_PATTERN.fullmatch(name):
        raise UsageError(
            f"study name {clip(name)!r} must start with a letter and hold only letters, digits, . _ - (at most 80)"
        )
    if name == "latest":  # `plot latest --compare` would mean the newest run, never this study
        raise UsageError("'latest' names the newest run in every command: give the study another name")
    check_writable(root)
    folder = root / name
    if folder.is_dir() and any(folder.iterdir()) and not any((folder / f).exists() for f in (STUDY_DB, STUDY_ASK_LOCK)):
        raise UsageError(  # a sweep's folder, a run's, the user's own: its summary.csv and plots would be replaced
            f"{folder} holds files but is not a learnai study (no {STUDY_DB} or {STUDY_ASK_LOCK} in it); "
            "choose another --study"
        )
    try:
        (root / name).mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a file of that name is there, or the folder cannot be made
        cause = "a file of that name is in the way" if (root / name).exists() else (error.strerror or str(error))
        raise UsageError(f"cannot use {root / name} as the folder of study {name}: {cause}; choose another --study")
    return root / name


def runs_root(option: str | Path | None) -> Path:
    """--runs-dir, else $LEARNAI_RUNS_DIR, else ./runs."""
    return Path(option or os.environ.get("LEARNAI_RUNS_DIR") or DEFAULT_RUNS_DIR)


# `learnai lr-find`: its plots, one per call, in a folder of the runs root (never inside a run).
LR_FIND_DIR = "lr_find"


def lr_find_plot_path(root: Path, name: str) -> Path:
    """runs/lr_find/<YYYY-mm-dd_HH-MM-SS>_<name>[_<n>].png: a name no earlier call's plot has (nothing is created)."""
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    folder = root / LR_FIND_DIR
    for attempt in range(1, 1000):
        path = folder / f"{stamp}_{name}{'' if attempt == 1 else f'_{attempt}'}.png"
        if not path.exists():
            return path
    raise UsageError(f"cannot find a free name for the lr-find plot in {folder}")
