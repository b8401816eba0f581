"""Whether a run's epoch records survived: meta.json counts the epochs it completed, and metrics.jsonl holds a
record of each (recorders/run_files.py appends it before the count moves on). A run that counts epochs but has none
readable lost its curves, which `learnai diagnose` says (damaged_run) instead of "it ended before its first epoch"."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from learnai_cli.atomic import read_regular, scan_jsonl
from learnai_cli.numbers import is_finite_number
from learnai_cli.rundir.layout import RunDir, metrics_record_problem


@dataclass(frozen=True)
class RecordsDamage:
    severity: str  # "problem": no curve is left to judge; "warning": judged without the damaged lines
    problem: str  # what is wrong, naming the file and its line


def epoch_records_damage(run: RunDir, meta: dict[str, Any], records: list[dict[str, Any]]) -> Optional[RecordsDamage]:
    """What is wrong with metrics.jsonl, given meta.json and the epoch records read from it, or None. `records` are
    the readable epoch records (RunDir.epoch_records)."""
    counted = meta.get("epochs_completed")
    bad = _damaged_lines(run)
    if not records:
        if not (isinstance(counted, int) and not isinstance(counted, bool) and counted >= 1):
            return None  # it ended, or is, before its first epoch: no record is owed
        detail = f": {_lines_said(run, bad)}" if bad else ""
        said = f"{_why_none(run, bad)}, though meta.json counts {counted} completed epoch(s){detail}"
        return RecordsDamage("problem", said)
    losses = [record.get("train_loss") for record in records]
    if meta.get("status") != "diverged" and not any(map(is_finite_number, losses)):
        first = json.dumps(losses[0]) if "train_loss" in records[0] else "none"
        return RecordsDamage(
            "problem",
            f"{run.metrics_path.name}'s {len(records)} epoch record(s) hold no finite train_loss (epoch "
            f"{records[0].get('epoch')}: {first})",
        )
    if bad:
        return RecordsDamage("warning", _lines_said(run, bad))
    return None


def _why_none(run: RunDir, bad: list[tuple[int, str]]) -> str:
    name = run.metrics_path.name
    if not run.metrics_path.exists():
        return f"{name} is missing"
    if bad:
        return f"{name} holds no readable epoch record"
    try:
        empty = not read_regular(run.metrics_path).strip()
    except OSError as error:
        return f"{name} cannot be read ({error.strerror or error})"
    return f"{name} is empty" if empty else f"{name} holds no readable epoch record"  # a torn line, or other types


def _lines_said(run: RunDir, bad: list[tuple[int, str]]) -> str:
    number, why = bad[0]
    more = f" (and {len(bad) - 1} more damaged line{'s' * (len(bad) > 2)})" if len(bad) > 1 else ""
    return f"{run.metrics_path.name} line {number} {why}{more}"  # the first is enough to find the damage


def _damaged_lines(run: RunDir) -> list[tuple[int, str]]:
    """(line number, what is wrong) of each line RunDir.metrics skips, but a torn last line (a kill cuts the last
    write short: no damage)."""
    try:
        _, skipped = scan_jsonl(run.metrics_path, metrics_record_problem)
    except OSError:
        return []
    return [(number, why) for number, why, torn in skipped if not torn]
