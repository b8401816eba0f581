"""A finding (what `learnai diagnose` says about a run) and the view of a run its rules read: the epoch records,
meta.json and the resolved config, read from the run's files alone (no torch), tolerant of damage."""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from learnai_cli.numbers import is_finite_number, is_number

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
    config_file: str = "CONFIG"  # the run's own config.yaml, for a new run when the command that started it is unknown
    has_last_checkpoint: bool = False  # checkpoints/last.pt, what --resume continues from

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
        return float(lr) if is_number(lr) else None

    def train_longer(self, epochs: int) -> str:
        """The command that trains this experiment for `epochs` epochs: --resume where it can carry on, else a new
        run of the same config and overrides, saying why."""
        refused = self.why_not_extendable()
        if refused is None:
            return f"learnai train --resume {self.id} train.epochs={epochs} (or train.epochs={epochs} in the config)"
        changed = [f"train.epochs={epochs}"] + (["train.max_steps=null"] if self.ended_at_max_steps else [])
        return f"{self.new_run(changed, also_dropped=('train.max_steps',))} (a new run: {refused})"

    def new_run(self, changed: list[str], also_dropped: tuple[str, ...] = ()) -> str:
        """`learnai train` of the config and overrides that started the run, with `changed` (key=value) replacing
        any earlier value of their keys (and of `also_dropped`)."""
        replaced = {word.partition("=")[0] for word in changed} | set(also_dropped)
        kept = [w for w in shlex.split(self.config_for_new_run) if w.partition("=")[0] not in replaced]
        return f"learnai train {shlex.join(kept + changed)}"

    @property
    def config_for_new_run(self) -> str:
        """The config file and overrides that started the run, else its own config.yaml (what it trained with)."""
        return self.config_hint if self.config_hint != "CONFIG" else self.config_file

    def why_not_extendable(self) -> Optional[str]:
        """Why `learnai train --resume RUN train.epochs=N` would be refused (resume.check_extension's rules, read
        from the run's files), or None when it would carry on."""
        if not self.has_last_checkpoint:
            return "it has no checkpoints/last.pt to resume from"
        scheduler = self.section("scheduler").get("name")
        built_from_epochs = self.meta.get("schedule_built_from_epochs")
        if scheduler is not None and built_from_epochs is None:  # a run from before the flag: a new run is safe
            return f"its {scheduler} schedule may be laid out over train.epochs, which --resume cannot stretch"
        if scheduler is not None and built_from_epochs is not False:
            return f"its {scheduler} schedule is laid out over train.epochs, and --resume cannot stretch it"
        if self.ended_at_max_steps:
            return f"it ended at train.max_steps={self.section('train')['max_steps']}, which --resume cannot change"
        return None

    def more_validation(self) -> str:
        """How to get a larger validation split: data.val_split where the run's val split was held out by it (the
        dataset's own val split ignores it), or for a run from before that was recorded, with that condition said."""
        held_out, larger = self.meta.get("held_out"), self._larger_val_split()
        if held_out is not None and "val" not in held_out:
            return "more validation data: the dataset ships its own val split, which data.val_split does not change"
        if larger is None:
            return "more data: data.val_split already holds out as much as training can spare"
        if held_out is None:
            return f"a larger data.val_split (data.val_split={larger}), unless the dataset ships its own val split"
        return f"hold out more (data.val_split={larger})"

    def _larger_val_split(self) -> Optional[float | int]:
        """Twice the run's data.val_split (a fraction up to 0.5, or a count), None when it is already half."""
        given = self.section("data").get("val_split", 0.1)
        if not is_number(given):
            return 0.2
        if isinstance(given, int) and given >= 1:
            return 2 * given
        return round(min(0.5, 2 * given), 4) if given < 0.5 else None

    @property
    def ended_at_max_steps(self) -> bool:
        max_steps = self.section("train").get("max_steps")
        return is_number(max_steps) and self.steps_done >= max_steps

    @property
    def steps_done(self) -> int:
        steps = [r.get("step") for r in self.records if isinstance(r.get("step"), int)]
        return max(steps, default=0)

    def series(self, key: str) -> list[float]:
        """One value per epoch record that has a finite number under `key`."""
        values = [record.get(key) for record in self.records]
        return [float(v) for v in values if is_finite_number(v)]

    def section(self, name: str) -> dict[str, Any]:
        value = self.config.get(name)
        return value if isinstance(value, dict) else {}
