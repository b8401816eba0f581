"""The commands learnai prints for the user to type next (continue a run, a study, a sweep's points): runnable
from where the user is, so they name the runs folder unless it is the one learnai uses anyway."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Sequence

from learnai_cli.rundir import RunDir, runs_root


def runs_dir_arguments(root: Path) -> list[str]:
    """`--runs-dir ROOT` for a command printed for the user to run again from here, unless ROOT is where learnai
    looks anyway (./runs, or $LEARNAI_RUNS_DIR)."""
    if Path(os.path.abspath(root)) == Path(os.path.abspath(runs_root(None))):
        return []
    return ["--runs-dir", os.path.abspath(root)]


def resume_command(run: RunDir, launcher: Sequence[str] = ()) -> str:
    """The command that continues `run`, runnable from the current folder; `launcher`: the options that started a
    distributed run (--nproc-per-node N, ...), so it continues as it was trained."""
    return shlex.join(["learnai", "train", "--resume", run.id, *launcher, *runs_dir_arguments(run.path.parent)])
