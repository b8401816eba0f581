"""A run's diagnosis: every rule run over the run's files, findings ordered problems first, saved beside them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from learnai_cli.atomic import write_json
from learnai_cli.diagnose.curves import CURVE_RULES
from learnai_cli.diagnose.finding import SEVERITIES, Run
from learnai_cli.diagnose.health import HEALTH_RULES
from learnai_cli.diagnose.setup import SETUP_RULES
from learnai_cli.log import logger
from learnai_cli.rundir import RunDir

# A run that ended before it learned anything to judge is said as such; its curves are not judged.
NOT_JUDGED = {"running": "it is still training", "starting": "it is starting"}


def diagnose_run(run: RunDir) -> dict[str, Any]:
    """{"run_id", "status", "baseline", "findings": [...]}: what learnai can tell from the run's files."""
    view = _view(run)
    findings = []
    if view.status not in NOT_JUDGED:
        for rule in (*SETUP_RULES, *(CURVE_RULES if view.records else ()), *HEALTH_RULES):
            found = rule(view)
            if found is not None:
                findings.append(found)
    if not view.records:
        findings.append(_no_epochs(view))
    findings = _without_contradictions(findings)
    findings.sort(key=lambda f: SEVERITIES.index(f.severity))
    return {
        "run_id": run.id,
        "status": view.status,
        "baseline": view.baseline or None,
        "findings": [finding.to_dict() for finding in findings],
    }


# A finding gives way to one whose advice contradicts it: a bigger or longer model does not help steps that overshoot.
SUPERSEDED_BY = {
    "underfitting": ("lr_too_high", "lr_too_low"),
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
        diagnosis = diagnose_run(run)
        write_diagnosis(run, diagnosis)
    except Exception as error:
        logger.warning(f"could not diagnose run {run.id}: {error}; try: learnai diagnose {run.id}")
        return {"baseline": None, "findings": []}
    return {"baseline": diagnosis["baseline"], "findings": diagnosis["findings"]}


def write_diagnosis(run: RunDir, diagnosis: dict[str, Any]) -> Path:
    write_json(run.diagnosis_path, diagnosis)
    return run.diagnosis_path


def _view(run: RunDir) -> Run:
    meta = run.meta(strict=False)
    every = run.metrics()
    records = [r for r in every if r.get("type", "epoch") == "epoch"]
    try:
        config = run.read_config()
    except Exception:  # a damaged config.yaml: the rules that need it have nothing to say
        config = {}
    command = meta.get("command") if isinstance(meta.get("command"), list) else []
    hint = next((str(part) for part in command[2:] if str(part).endswith((".yaml", ".yml"))), "CONFIG")
    return Run(run.id, meta, records, config if isinstance(config, dict) else {}, hint, every)


def _no_epochs(view: Run):
    from learnai_cli.diagnose.finding import Finding

    reason = NOT_JUDGED.get(view.status, f"it ended ({view.status or 'status unknown'}) before its first epoch")
    return Finding(
        "no_epochs",
        "info",
        f"no epoch was recorded yet: {reason}, so there is nothing to judge",
        {"status": view.status},
        f"learnai runs (to see its state), or learnai diagnose {view.id} later",
    )
