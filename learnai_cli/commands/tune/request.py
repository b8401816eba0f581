"""What `learnai tune` was asked (TuneRequest), and the search checked from it (Plan)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from learnai_cli.commands.tune.search_space import Param


@dataclass(frozen=True)
class TuneRequest:
    """What `learnai tune` was asked: the config, its search expressions and plain overrides, and the options."""

    config_path: Path
    arguments: list[str]
    root: Path
    trials: Optional[int] = None
    timeout: Optional[float] = None
    sampler: str = "tpe"
    pruner: str = "median"
    study: Optional[str] = None
    storage: Optional[str] = None
    workers: int = 1
    worker_index: Optional[int] = None  # set in a process that --workers started
    interactive: bool = False
    plugins: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    """The checked search: its parameters, the plain overrides, the base config and where the study lives."""

    params: list[Param]
    overrides: list[str]
    base: Any  # the ExperimentConfig at the space's first corner
    name: str
    folder: Path
    url: str
    trials: int
