"""`learnai diagnose RUN`: whether a run learned, and why not, read from its files (any run: finished, stopped,
diverged, pruned, or trained before learnai recorded baselines); the findings are saved as its diagnosis.json."""

from __future__ import annotations

from typing import Any

from learnai_cli.diagnose import diagnose_run, write_diagnosis
from learnai_cli.rundir import RunDir


def diagnose(run: RunDir) -> dict[str, Any]:
    diagnosis = diagnose_run(run)
    if diagnosis["status"] == "damaged":  # perhaps no run at all: nothing is written into it
        return diagnosis
    try:
        write_diagnosis(run, diagnosis)
    except OSError:  # a read-only or full run folder: the findings are still printed
        pass
    return diagnosis
