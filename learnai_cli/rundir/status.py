"""What state a run is in, as every reader should see it: running, starting, crashed, damaged, or as recorded.

No torch here: `learnai runs` lists hundreds of runs through this module and rundir.py.
"""

from __future__ import annotations

import os
import socket
import time
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from learnai_cli.numbers import is_number
from learnai_cli.rundir import DamagedRun, RunDir, all_runs
from learnai_cli.rundir.lock import lock_holder

STALE_HEARTBEAT_SECONDS = 15 * 60
STARTING_GRACE_SECONDS = 30  # a directory this young without meta.json is a run being created, not a damaged one
IN_USE = ("running", "starting")  # statuses whose run belongs to a live process: rm and gc leave them alone
# Every status `learnai runs` may show (runs written by other tools may add their own).
STATUSES = ("running", "starting", "completed", "pruned", "failed", "diverged", "interrupted", "crashed", "damaged")


def effective_status(meta: dict[str, Any]) -> str:
    """The recorded status, except a 'running' run whose process is gone (or silent for long) is 'crashed'."""
    status = meta.get("status", "unknown")
    if status != "running":
        return status
    if meta.get("host") == socket.gethostname() and isinstance(meta.get("pid"), int):
        return "running" if _process_alive(meta["pid"]) else "crashed"
    try:
        age = (datetime.now() - datetime.fromisoformat(meta.get("heartbeat", ""))).total_seconds()
    except (TypeError, ValueError):
        return "crashed"
    return "running" if age < STALE_HEARTBEAT_SECONDS else "crashed"


def run_status(run: RunDir, own_lock: bool = False) -> tuple[str, str]:
    """(status, problem) of a run as readers should see it: a run whose lock a live process holds is running; one
    whose owner is gone is crashed; a young directory without meta.json is starting; unreadable files: damaged.
    own_lock: this process holds the lock (so any previous owner is gone)."""
    if not own_lock and lock_holder(run.lock_path) is not None:
        return "running", ""
    try:
        meta = run.meta()
    except DamagedRun as damage:
        return "damaged", damage.problem
    if not meta:
        # A creator locks right after its mkdir, so a directory whose lock we hold is not being created (and taking
        # the lock has just made its mtime new).
        if not own_lock and _age_s(run.path) < STARTING_GRACE_SECONDS:
            return "starting", ""
        if not os.path.lexists(run.config_path) and made_by_learnai(run):
            return "damaged", "it was cut short while being created (nothing was trained in it)"
        return "damaged", "meta.json is missing"
    if meta.get("status") == "running" and meta.get("locked"):
        return "crashed", ""  # its owner held the lock while running; nobody holds it now
    return effective_status(meta), ""


def made_by_learnai(run: RunDir) -> bool:
    """Whether a folder named like a run holds a run's own files (meta.json or config.yaml), or only the skeleton a
    creation that was cut short leaves (its lock, empty checkpoints/ and plots/). A folder of someone else's files
    that happens to be named like a run id is none of these: `gc` never removes it."""
    if any(os.path.lexists(path) for path in (run.meta_path, run.config_path)):
        return True
    skeleton = {run.lock_path.name: False, run.checkpoints.name: True, run.plots.name: True}
    try:
        entries = list(os.scandir(run.path))
        return all(
            entry.name in skeleton
            and entry.is_dir(follow_symlinks=False) == skeleton[entry.name]
            and (not skeleton[entry.name] or not any(os.scandir(entry.path)))
            for entry in entries
        )
    except OSError:
        return False


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return float("inf")


def _process_alive(pid: int, started_by: float | None = None) -> bool:
    """Whether process `pid` lives: not gone, not a zombie (killed, its parent has not reaped it yet), and, given
    `started_by` (a time.time()), started no later than that, so a pid the system reused for a newer process is no
    sign of the old one."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    except (OverflowError, ValueError):
        return False
    state, started = _proc_stat(pid)
    if state == "Z":
        return False
    return started is None or started_by is None or started <= started_by + 1


def _proc_stat(pid: int) -> tuple[str | None, float | None]:
    """(state letter, start time as time.time()) of a process from /proc (None, None where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        with open("/proc/stat") as stat_file:
            boot = next(float(line.split()[1]) for line in stat_file if line.startswith("btime "))
        return fields[0], boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None, None


def process_alive(pid: object, started_by: float | None = None) -> bool:
    """_process_alive for a pid read from a file (anything that is not a whole number is no process)."""
    return isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 and _process_alive(pid, started_by)


def iter_summaries(root: Path) -> Iterator[dict[str, Any]]:
    """One summary row per run for `learnai runs`; a damaged run is a row with status `damaged` and its problem."""
    for run in all_runs(root):
        status, problem = run_status(run)
        if status not in (*IN_USE, "damaged"):  # a finished run whose config or checkpoint is broken is unusable
            problem = run.config_problem() or checkpoint_problem(run) or ""
            status = "damaged" if problem else status
        meta = run.meta(strict=False)
        best = meta.get("best") or {}
        yield {
            "id": run.id,
            "name": meta.get("name", ""),
            "status": status,
            "problem": problem or None,
            "epochs": meta.get("epochs_completed"),
            "best_metric": best.get("metric") if isinstance(best.get("metric"), str) else None,
            "best_value": best.get("value") if is_number(best.get("value")) else None,
            "duration_s": meta.get("duration_s"),
            "started": meta.get("started"),
            "test": _numbers(report.get("metrics")) if (report := _test_report(run)) else None,
            "test_stale": bool(report) and stale_evaluation(run, report, meta),  # best.pt moved on: evaluate again
            "path": str(run.path),
        }


def checkpoint_problem(run: RunDir) -> str | None:
    """A checkpoint that is not a whole file (torch.save writes a zip archive; a cut or overwritten file is not one),
    found without loading it: `runs` reads the end of each file only."""
    for which in ("best", "last"):
        path = run.checkpoint(which)
        if path.is_file() and not is_torch_archive(path):
            return f"checkpoints/{path.name} is not a whole checkpoint (cut short or overwritten)"
    return None


def is_torch_archive(path: Path) -> bool:
    """A zip whose directory (read from the file's end, nothing unpacked) names the pickle torch.save writes."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("/data.pkl") for name in archive.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def test_metrics(run: RunDir) -> dict[str, float] | None:
    """The test-split metrics of the run's best checkpoint (else its newest test result), once `learnai eval` ran."""
    report = _test_report(run)
    return _numbers(report.get("metrics")) if report else None


def _numbers(metrics: Any) -> dict[str, float] | None:
    return {k: v for k, v in metrics.items() if is_number(v)} if isinstance(metrics, dict) else None


def _test_report(run: RunDir) -> dict[str, Any] | None:
    """The best checkpoint's test report, else the newest test report (each file read once)."""
    from learnai_cli.atomic import read_json

    reports = {path: read_json(path) for path in run.eval_reports()}
    tests = [path for path, report in reports.items() if report.get("split") == "test"]
    best = run.eval_report("test", "best")
    return reports[best] if best in tests else reports[tests[-1]] if tests else None


def stale_evaluation(run: RunDir, report: dict[str, Any], meta: dict[str, Any]) -> bool:
    """An eval result of the run's own best.pt whose best epoch has moved on since (it trained further, or was
    training then): its numbers are of older weights. (last.pt's epoch is not in meta.json mid-epoch: not judged.)"""
    evaluated, path = report.get("checkpoint_epoch"), report.get("checkpoint")
    if not isinstance(evaluated, int) or not isinstance(path, str):
        return False
    inside = run.checkpoint("best").relative_to(run.path).parts
    own_best = Path(path).parts[-1 - len(inside) :] == (run.id, *inside)  # the run's, wherever its folder moved
    now = (meta.get("best") or {}).get("epoch")
    return own_best and isinstance(now, int) and now != evaluated
