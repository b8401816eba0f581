"""Run directories, the one owner of their layout.

- layout.py: where a run's files are and what they are called (the only place a run-file name is spelled), run ids
- root.py: the runs root and what it holds besides runs (sweep and study folders, MLflow's store, plot outputs)
- lock.py: the one-owner lock of a run; status.py: a run's state as every reader sees it
- writable.py: whether a root can take new runs; selection.py: choosing runs by name, a run's value under a column
- next_steps.py: the commands printed for the user to type next
- baseline.py: meta.json's trivial baseline, its sound scores alone; epoch_records.py: whether metrics.jsonl kept the
  epoch records meta.json counts

No torch here: `runs` and `plot` read runs through this package alone.
"""

from learnai_cli.rundir.layout import RUN_ID_PATTERN, DamagedRun, RunDir, all_runs, resolve
from learnai_cli.rundir.lock import RunInUse, RunLock
from learnai_cli.rundir.root import (
    COMPARISON_PLOT,
    COMPARISON_REPORT,
    GROUP_REPORT,
    LANDSCAPE_PLOT,
    MLFLOW_ARTIFACTS,
    MLFLOW_STORE,
    STUDY_ASK_LOCK,
    STUDY_DB,
    STUDY_NAME_PATTERN,
    STUDY_PLOTS,
    SWEEP_SUMMARY_CSV,
    SWEEP_SUMMARY_JSON,
    create_sweep_dir,
    loose_report_path,
    new_study_dir,
    runs_root,
    study_dir,
)
from learnai_cli.rundir.writable import check_writable

__all__ = [
    "COMPARISON_PLOT",
    "COMPARISON_REPORT",
    "GROUP_REPORT",
    "LANDSCAPE_PLOT",
    "MLFLOW_ARTIFACTS",
    "MLFLOW_STORE",
    "RUN_ID_PATTERN",
    "STUDY_ASK_LOCK",
    "STUDY_DB",
    "STUDY_NAME_PATTERN",
    "STUDY_PLOTS",
    "SWEEP_SUMMARY_CSV",
    "SWEEP_SUMMARY_JSON",
    "DamagedRun",
    "RunDir",
    "RunInUse",
    "RunLock",
    "all_runs",
    "check_writable",
    "create_sweep_dir",
    "loose_report_path",
    "resolve",
    "runs_root",
    "study_dir",
    "new_study_dir",
]
