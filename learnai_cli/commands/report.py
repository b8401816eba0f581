"""`learnai report RUN [RUN ...] | STUDY`: one self-contained HTML page of a run, a comparison of runs, or a tune
study or sweep folder, read from their files alone (no torch), written atomically where the user expects it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from learnai_cli import rundir
from learnai_cli.atomic import check_output_file
from learnai_cli.errors import UsageError, clip


def report(root: Path, targets: list[str], output: Optional[Path], open_page: bool) -> dict[str, Any]:
    """{"report": path, "kind": run|comparison|study|sweep, "runs": [...], "opened": bool|None}."""
    if not targets:
        raise UsageError("give a run id (or 'latest'), several run ids, or a sweep/study id: see `learnai runs`")
    if output is not None:
        check_output_file(output, "the report", rundir.GROUP_REPORT)
    group = _group_folder(root, targets)
    if group is not None:
        from learnai_cli.report.study import study_document

        text, kind, runs = study_document(root, group)
        path = output or group / rundir.GROUP_REPORT
    else:
        text, kind, runs, default = _runs_document(root, targets)
        path = output or default
    written = write_page(path, text)
    return {
        "report": str(written),
        "kind": kind,
        "runs": runs,
        "opened": open_in_browser(written) if open_page else None,
    }


def _group_folder(root: Path, targets: list[str]) -> Optional[Path]:
    """The study or sweep folder a lone target names (runs/<study>/, runs/sweep_...), else None."""
    from learnai_cli.report.study import is_group_folder

    found = [name for name in targets if _plain(name) and is_group_folder(root / name)]
    if found and len(targets) > 1:
        raise UsageError(
            f"{clip(found[0])} is a study or sweep: report it alone (`learnai report {clip(found[0])}`), or give the "
            "run ids to compare"
        )
    return root / found[0] if found else None


def _plain(name: str) -> bool:
    return bool(name) and name not in (".", "..", "latest") and "/" not in name and "\\" not in name


def _runs_document(root: Path, targets: list[str]) -> tuple[str, str, list[str], Path]:
    from learnai_cli.report.collect import collect_run
    from learnai_cli.rundir.selection import resolve_runs

    runs = resolve_runs(root, targets)
    collected = [collect_run(run) for run in runs]
    if len(runs) == 1:
        from learnai_cli.report.run_page import run_document

        run, found = runs[0], collected[0]
        default = rundir.loose_report_path(root, run.id) if found["status"] == "damaged" else run.report_path
        return run_document(found), "run", [run.id], default
    from learnai_cli.report.comparison import comparison_document

    return comparison_document(runs, collected), "comparison", [r.id for r in runs], root / rundir.COMPARISON_REPORT


def write_page(path: Path, text: str) -> Path:
    """The page written atomically (a link at the path is replaced, never written through)."""
    from learnai_cli.atomic import write_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
    except OSError as error:
        raise UsageError(
            f"cannot write the report {path}: {error.strerror or error}; give another file with -o FILE.html"
        ) from None
    return path


def open_in_browser(path: Path) -> bool:
    """Open the page in the user's browser; False where there is none (a server, CI)."""
    import webbrowser

    try:
        return bool(webbrowser.open(path.absolute().as_uri()))
    except Exception:  # webbrowser.Error, or a browser that failed to start
        return False
