"""A finding (what `learnai diagnose` says about a run) and the view of a run its rules read: the epoch records,
meta.json and the resolved config, read from the run's files alone (no torch), tolerant of damage."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

SEVERITIES = ("problem", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """code (docs/diagnose.md), severity, a one-line message in a learner's words, the numbers it rests on, and a
    concrete thing to try (an override or a command)."""

    code: str
    severity: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Run:
    """What the rules read of one run."""

    id: str
    meta: dict[str, Any]
    records: list[dict[str, Any]]  # epoch records, in order
    config: dict[str, Any]
    config_hint: str = "CONFIG"  # the config file to name in a suggested command
    all_records: list[dict[str, Any]] = field(default_factory=list)  # every record: step and health ones too

    @property
    def status(self) -> Optional[str]:
        return self.meta.get("status")

    @property
    def epochs(self) -> int:
        return len(self.records)

    @property
    def baseline(self) -> dict[str, Any]:
        recorded = self.meta.get("baseline")
        return recorded if isinstance(recorded, dict) else {}

    def baseline_split(self, split: str) -> Optional[dict[str, Any]]:
        scores = self.baseline.get(split)
        return scores if isinstance(scores, dict) else None

    @property
    def first_lr(self) -> Optional[float]:
        lrs = self.series("lr")
        if lrs:
            return lrs[0]
        optimizer = self.config.get("optimizer") if isinstance(self.config.get("optimizer"), dict) else {}
        lr = optimizer.get("lr")
        return float(lr) if isinstance(lr, (int, float)) and not isinstance(lr, bool) else None

    def series(self, key: str) -> list[float]:
        """One value per epoch record that has a finite number under `key`."""
        values = [record.get(key) for record in self.records]
        return [
            float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        ]

    def section(self, name: str) -> dict[str, Any]:
        value = self.config.get(name)
        return value if isinstance(value, dict) else {}
