"""A run's diagnosis: every rule run over the run's files, findings ordered problems first, saved beside them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from learnai_cli.atomic import write_json
from learnai_cli.diagnose.curves import CURVE_RULES, DIVERGED_RULES
from learnai_cli.diagnose.finding import SEVERITIES, Finding, Run
from learnai_cli.diagnose.health import HEALTH_RULES
from learnai_cli.diagnose.setup import SETUP_RULES
from learnai_cli.log import logger
from learnai_cli.rundir import RunDir
from learnai_cli.rundir.baseline import baseline_problems, recorded_baseline
from learnai_cli.rundir.epoch_records import epoch_records_damage

# A run that ended before it learned anything to judge is said as such; its curves are not judged.
NOT_JUDGED = {"running": "it is still training", "starting": "it is starting"}


def diagnose_run(run: RunDir, own_lock: bool = False) -> dict[str, Any]:
    """{"run_id", "status", "baseline", "findings": [...]}: what learnai can tell from the run's files. The status is
    the one `learnai runs` shows (a run whose process is gone is crashed; unreadable files make it damaged);
    `own_lock`: this process holds the run's lock (a training that just ended)."""
    from learnai_cli.rundir.status import run_status

    status, problem = run_status(run, own_lock=own_lock)
    if status != "damaged" and status not in NOT_JUDGED:
        problem = _config_problem(run)
        status = "damaged" if problem else status
    if status == "damaged":  # its files cannot be trusted: no finding is drawn from them
        return _result(run, status, None, [_damaged(run, problem)])
    recorded = run.meta(strict=False)
    view = _view(run, status, recorded)
    lost_records = _records_damage(run, view)
    findings = [*_baseline_damage(run, view, recorded), *([lost_records] if lost_records else [])]  # the rest is judged
    if view.status not in NOT_JUDGED:
        curves = CURVE_RULES if view.records else DIVERGED_RULES if view.status == "diverged" else ()
        for rule in (*SETUP_RULES, *curves, *HEALTH_RULES):
            found = rule(view)
            if found is not None:
                findings.append(found)
    if view.status == "crashed":
        findings.append(_crashed(view))
    if not view.records and view.status != "diverged" and lost_records is None:  # lost records are no "not yet"
        findings.append(_no_epochs(view))
    findings = _without_contradictions(findings)
    findings.sort(key=lambda f: SEVERITIES.index(f.severity))
    return _result(run, view.status, view.baseline or None, findings)


def _config_problem(run: RunDir) -> str:
    """What is wrong with config.yaml ('' when it reads), as `learnai runs` judges it."""
    from learnai_cli.errors import UsageError

    try:
        run.read_config()
    except UsageError as error:
        return error.message
    return ""


def _result(run: RunDir, status: Optional[str], baseline, findings: list) -> dict[str, Any]:
    return {"run_id": run.id, "status": status, "baseline": baseline, "findings": [f.to_dict() for f in findings]}


def _damaged(run: RunDir, problem: str) -> Finding:
    return Finding(
        "damaged_run",
        "problem",
        f"the run's files are damaged ({problem}): nothing can be judged from them",
        {"problem": problem},
        f"learnai show {run.id} says what is wrong; restore the file, or learnai rm {run.id}",
    )


def _baseline_damage(run: RunDir, view: Run, recorded: dict[str, Any]) -> list[Finding]:
    """A damaged_run warning where meta.json's baseline is damaged: the comparisons with it use what is left."""
    problems = baseline_problems(recorded)
    if not problems:
        return []
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    compared = (
        "the comparisons with the trivial baseline use what is sound in it"
        if view.baseline_split("val")
        else "no comparison with the trivial baseline can be made"
    )
    return [
        Finding(
            "damaged_run",
            "warning",
            f"{run.meta_path.name}'s baseline is damaged ({problems[0]}{more}): {compared}",
            {"file": run.meta_path.name, "field": "baseline", "problems": problems},
            f"learnai train {view.config_for_new_run} scores the baseline anew (a new run); or restore "
            f"{run.meta_path.name} from a backup",
        )
    ]


def _records_damage(run: RunDir, view: Run) -> Optional[Finding]:
    """A damaged_run finding where metrics.jsonl lost the epoch records meta.json counts (a problem: no curve is
    left to judge) or some of its lines (a warning: the curves are judged without them)."""
    if view.status in NOT_JUDGED:
        return None
    damage = epoch_records_damage(run, view.meta, view.records)
    if damage is None:
        return None
    judged = "its curves cannot be judged" if damage.severity == "problem" else "the findings judge what is left"
    return Finding(
        "damaged_run",
        damage.severity,
        f"the run's metrics are damaged: {damage.problem}; {judged}",
        {"file": run.metrics_path.name, "problem": damage.problem},
        f"restore {run.metrics_path.name} from a backup, or train anew: learnai train {view.config_for_new_run}",
    )


def _crashed(view: Run) -> Finding:
    return Finding(
        "crashed",
        "warning",
        f"the run's process is gone without recording how it ended, after {view.epochs} "
        "epoch(s): the findings judge only what it recorded",
        {"epochs": view.epochs},
        f"learnai train --resume {view.id} continues it from its last checkpoint"
        if view.has_last_checkpoint
        else f"learnai train {view.config_for_new_run} starts it again (it saved no checkpoints/last.pt)",
    )


# A finding gives way to one whose advice contradicts it: a bigger or longer model does not help steps that overshoot.
SUPERSEDED_BY = {
    "underfitting": ("lr_too_high", "lr_too_low", "unscaled_inputs", "unscaled_targets"),  # scale first, then size
    "not_converged": ("lr_too_high",),
    "lr_too_low": ("lr_too_high", "lr_decayed_early"),  # a schedule that killed the lr is the cause to fix
}


def _without_contradictions(findings: list) -> list:
    codes = {finding.code for finding in findings}
    return [f for f in findings if not any(code in codes for code in SUPERSEDED_BY.get(f.code, ()))]


def diagnose_and_save(run: RunDir) -> dict[str, Any]:
    """{"baseline", "findings"} of a run that just ended, saved as its diagnosis.json; a diagnosis that cannot be
    made or written costs the run nothing (a warning says so, and `learnai diagnose` can try again)."""
    try:
        diagnosis = diagnose_run(run, own_lock=True)
        write_diagnosis(run, diagnosis)
    except Exception as error:
        logger.warning(f"could not diagnose run {run.id}: {error}; try: learnai diagnose {run.id}")
        return {"baseline": None, "findings": []}
    return {"baseline": diagnosis["baseline"], "findings": diagnosis["findings"]}


def write_diagnosis(run: RunDir, diagnosis: dict[str, Any]) -> Path:
    write_json(run.diagnosis_path, diagnosis)
    return run.diagnosis_path


def _view(run: RunDir, status: Optional[str], recorded: dict[str, Any]) -> Run:
    meta = {**recorded, "status": status}
    if "baseline" in meta:  # the rules compare with the sound part of it alone (rundir/baseline.py)
        meta["baseline"] = recorded_baseline(recorded)
    every = run.metrics()
    records = [r for r in every if r.get("type", "epoch") == "epoch"]
    try:
        config = run.read_config()
    except Exception:  # a damaged config.yaml: the rules that need it have nothing to say
        config = {}
    command = meta.get("command") if isinstance(meta.get("command"), list) else []
    hint = _config_and_overrides(command)
    config = config if isinstance(config, dict) else {}
    return Run(run.id, meta, records, config, hint, every, _shown(run.config_path), run.last_checkpoint.is_file())


def _shown(path: Path) -> str:
    """A path as a command names it: relative to the working folder when it is below it."""
    import shlex

    try:
        return shlex.quote(str(path.resolve().relative_to(Path.cwd().resolve())))
    except (ValueError, OSError):
        return shlex.quote(str(path))


def _config_and_overrides(command: list) -> str:
    """The config file and key=value overrides the run was trained with, for a suggested command (lr-find of the
    same experiment, not of the file's defaults)."""
    import shlex

    words = [str(part) for part in command[2:]]
    config = next((word for word in words if word.endswith((".yaml", ".yml"))), None)
    if config is None:
        return "CONFIG"
    return shlex.join([config, *[word for word in words if "=" in word and not word.startswith("-")]])


def _no_epochs(view: Run):
    reason = NOT_JUDGED.get(view.status, f"it ended ({view.status or 'status unknown'}) before its first epoch")
    return Finding(
        "no_epochs",
        "info",
        f"no epoch was recorded yet: {reason}, so there is nothing to judge",
        {"status": view.status},
        f"learnai runs (to see its state), or learnai diagnose {view.id} later",
    )
