"""Choosing and describing runs by name: a sweep or study id standing for its runs, and a run's value under any
column name (`learnai runs --columns/--sort/--filter`, `plot A B --compare`).

A column is looked up in this order: the `runs` row (status, epochs, duration, best, ...), `test_<metric>` (the
test-split result of `learnai eval`), the last epoch's metrics (val_accuracy, train_loss, ...), a dotted config key
(optimizer.lr), and any field of meta.json (sweep, study, trial, label, seed, or a dotted path into it).
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

from learnai_cli import rundir
from learnai_cli.errors import UsageError, clip, did_you_mean
from learnai_cli.numbers import is_number
from learnai_cli.rundir import RunDir
from learnai_cli.rundir.baseline import recorded_baseline

GROUP_FIELDS = ("sweep", "study")  # meta.json fields that name a group of runs (learnai sweep, learnai tune)
ROW_COLUMNS = {"duration": "duration_s", "best": "best_value"}  # short names for `runs` row fields
# Columns in seconds whose name does not say so: tables add the unit to their header.
SECONDS_COLUMNS = ("duration", "epoch_time")
MISSING = object()
BASELINE_PREFIX = "baseline_val_"  # baseline_val_loss, baseline_val_accuracy: one score of the baseline, named


def resolve_runs(root: Path, given: Iterable[str]) -> list[RunDir]:
    """Each run id (or unique prefix, or 'latest'), or a sweep/study id standing for all its runs; no run twice."""
    chosen: list[RunDir] = []
    for name in given:
        group = [] if name == "latest" or rundir.RUN_ID_PATTERN.match(name) else runs_in_group(root, name)
        chosen += group or [_one_run(root, name)]
    return list(dict.fromkeys(chosen))


def _one_run(root: Path, name: str) -> RunDir:
    runs = rundir.all_runs(root)
    plain = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) and name != "latest"  # else resolve() says what is wrong
    if runs and plain and not any(run.id.startswith(name) for run in runs):
        raise UsageError(
            f"no run, sweep or study '{clip(name, 100)}' in {root}: give a run id from `learnai runs` (a unique prefix "
            "works), or the id of a sweep or study (`learnai runs --columns sweep` shows them)"
        )
    return rundir.resolve(root, name)


def runs_in_group(root: Path, group_id: str) -> list[RunDir]:
    """The runs a sweep or study tagged with `group_id` in meta.json, oldest first."""
    return [run for run in rundir.all_runs(root) if group_id in _group_ids(run.meta(strict=False))]


def _group_ids(meta: dict[str, Any]) -> set[str]:
    return {str(meta[field]) for field in GROUP_FIELDS if meta.get(field) is not None}


class RunValues:
    """One run's values by column name; each file (metrics, config) is read only when a column needs it."""

    def __init__(self, row: dict[str, Any]):
        self.row = row
        self.run = RunDir(Path(row["path"]))

    @cached_property
    def meta(self) -> dict[str, Any]:
        return self.run.meta(strict=False)

    @cached_property
    def last_epoch(self) -> dict[str, Any]:
        records = self.run.epoch_records()
        return {k: v for k, v in records[-1].items() if k != "type"} if records else {}

    @cached_property
    def config(self) -> dict[str, Any]:
        from learnai_cli.config import flatten

        try:
            return flatten(self.run.read_config())
        except UsageError:  # a run without a readable config.yaml simply has no config columns
            return {}

    def get(self, name: str) -> Any:
        """The value under `name`, or MISSING when this run has none."""
        field = ROW_COLUMNS.get(name, name)
        if field in self.row and field not in ("path", "test", "problem"):
            return self.row[field]
        if name.startswith("test_") and name[5:] in (self.row.get("test") or {}):
            return self.row["test"][name[5:]]
        if name in self.last_epoch:
            return self.last_epoch[name]
        if "." in name and name in self.config:
            return self.config[name]
        if name == "baseline":  # the trivial predictor's val score of the metric best is (labels says which)
            return self.baseline_score[1] if self.baseline_score else MISSING
        if name.startswith(BASELINE_PREFIX) and name[len(BASELINE_PREFIX) :] in self.baseline_scores:
            return self.baseline_scores[name[len(BASELINE_PREFIX) :]]  # as `learnai diff` names them
        return _dotted(self.meta, name)

    @cached_property
    def baseline_scores(self) -> dict[str, Any]:
        """The baseline's val scores meta.json recorded, its well-formed numbers alone (rundir/baseline.py)."""
        scores = recorded_baseline(self.meta).get("val") or {}
        return {name: value for name, value in scores.items() if name != "samples"}

    @cached_property
    def baseline_score(self) -> tuple[str, Any] | None:
        """(metric, value): the baseline's val score of the metric `best` is (else train.monitor), so the two
        columns compare like with like; else its accuracy (classifiers) or loss."""
        scored = {f"val_{name}": value for name, value in self.baseline_scores.items()}
        best = self.row.get("best_metric")
        metric = (
            best
            if best in scored
            else next((m for m in (self.config.get("train.monitor"), "val_accuracy", "val_loss") if m in scored), None)
        )
        return (metric, scored[metric]) if metric else None

    def label(self, name: str) -> str | None:
        """The metric a column's bare number is, where the name does not say it (`baseline`)."""
        return self.baseline_score[0] if name == "baseline" and self.baseline_score else None

    def names(self) -> set[str]:
        """Every column name this run has a value for (for did-you-mean messages)."""
        tests = {f"test_{k}" for k in self.row.get("test") or {}}
        baselines = {f"{BASELINE_PREFIX}{k}" for k in self.baseline_scores}
        every = {*self.row, *ROW_COLUMNS, *tests, *baselines, *self.last_epoch, *self.config, *self.meta}
        return every - {"path", "test"}


def _dotted(mapping: dict[str, Any], name: str) -> Any:
    value: Any = mapping
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def check_known(values: list[RunValues], names: Iterable[str], option: str) -> None:
    """Refuse (exit 2) a column no listed run has: most likely a typo."""
    if not values:
        return
    known: set[str] = set().union(*(v.names() for v in values))
    for name in names:
        if all(v.get(name) is MISSING for v in values):
            raise UsageError(
                f"{option} {clip(name, 100)}: no run listed has a value named '{clip(name, 100)}'."
                f"{did_you_mean(name, known)} Names: "
                "status, epochs, duration, best, test_<metric>, a metric of the last epoch (e.g. val_loss), a "
                "config key (e.g. optimizer.lr) or a meta.json field (e.g. sweep)"
            )


def parse_filter(spec: str) -> tuple[str, str]:
    key, sep, wanted = spec.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"--filter '{spec}' must look like KEY=VALUE, e.g. sweep=ID, study=ID, optimizer.name=adam")
    return key.strip(), wanted


def matches(value: Any, wanted: str) -> bool:
    """A value equals the text given for it: numbers by value (0.01 == 1e-2), lists and mappings as YAML
    (`model.hidden=[64, 32]` or `[64,32]`), else as text."""
    if value is MISSING:
        return False
    if isinstance(value, (list, dict)):
        return _same(value, _yaml_value(wanted))
    if value is None:
        return wanted.lower() in ("null", "none", "")
    if isinstance(value, bool):
        return wanted.lower() in (("true", "yes", "1") if value else ("false", "no", "0"))
    if isinstance(value, (int, float)):
        try:
            return float(wanted) == float(value)
        except ValueError:
            return False
    return str(value) == wanted


def _yaml_value(text: str) -> Any:
    from learnai_cli.config.yaml_reading import load_text  # as overrides are read

    try:
        return load_text(text)
    except Exception:  # not YAML (yaml.YAMLError, a too-deep text): compared as the text it is
        return text


def _same(value: Any, wanted: Any) -> bool:
    """Equal as config values: numbers by value, lists item by item, mappings key by key."""
    if isinstance(value, dict):
        return (
            isinstance(wanted, dict)
            and value.keys() == wanted.keys()
            and all(_same(value[k], wanted[k]) for k in value)
        )
    if isinstance(value, list):
        return isinstance(wanted, list) and len(value) == len(wanted) and all(map(_same, value, wanted))
    if isinstance(value, bool) or isinstance(wanted, bool):
        return value is wanted
    if isinstance(value, (int, float)):  # YAML reads 1e-3 as text; the config validated it into a number
        return _number(wanted) == float(value)
    return value == wanted


def _number(value: Any) -> float | None:
    try:
        return float(value) if isinstance(value, (int, float, str)) else None
    except ValueError:
        return None


def sort_values(values: list[RunValues], name: str, descending: bool) -> list[RunValues]:
    """By the value under `name` (numbers before text); runs without it last, whichever the direction."""
    present = [v for v in values if v.get(name) not in (MISSING, None)]
    absent = [v for v in values if v.get(name) in (MISSING, None)]
    present.sort(key=lambda v: _comparable(v.get(name)), reverse=descending)
    return present + absent


def _comparable(value: Any) -> tuple:
    """Numbers by value, then lists of numbers item by item ([4] < [16, 8] < [128, 64], as widths read), then the
    rest as text; the first item keeps the kinds apart, so no two kinds are ever compared."""
    if is_number(value):
        return (0, value)
    if isinstance(value, list) and all(map(is_number, value)):
        return (1, tuple(value))
    return (2, str(value))


def shown(value: Any) -> Any:
    """A column's value for output: None for a run without it."""
    return None if value is MISSING else value
