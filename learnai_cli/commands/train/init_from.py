"""`learnai train CONFIG --init-from RUN[:best|last]`: a new run whose model starts from another run's weights
(fine-tuning). Only the weights are taken: optimizer, scheduler, epochs and RNGs start fresh."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from learnai_cli.errors import UsageError

CHECKPOINTS = ("best", "last")


@dataclass
class InitFrom:
    run_id: str
    path: Path
    checkpoint: dict[str, Any]

    def meta(self) -> dict[str, Any]:
        """What meta.json records as `init_from`."""
        return {"run_id": self.run_id, "checkpoint": str(self.path), "epoch": self.checkpoint.get("epoch")}

    def load_into(self, model) -> None:
        """The source weights into `model`; another architecture is a UsageError naming the first differing key."""
        from learnai_cli.engine.checkpoint import load_model_state

        load_model_state(
            model,
            self.checkpoint,
            self.path,
            fits="the model of this config",
            advice=f"--init-from needs a model of the same architecture as run {self.run_id}'s",
        )


def split_spec(spec: str) -> tuple[str, str]:
    """RUN[:best|last] -> (run id, checkpoint name); best by default."""
    run_id, sep, which = spec.rpartition(":")
    if not sep:
        return spec, "best"
    if which not in CHECKPOINTS:
        raise UsageError(f"--init-from {spec}: give RUN, RUN:best or RUN:last (not ':{which}')")
    return run_id, which


def resolve_init_from(root: Path, spec: str) -> InitFrom:
    """The source run's checkpoint, read (no run directory is created before this succeeds)."""
    from learnai_cli import rundir
    from learnai_cli.engine.checkpoint import load_checkpoint

    run_id, which = split_spec(spec)
    run = rundir.resolve(root, run_id)
    path = run.best_checkpoint if which == "best" else run.last_checkpoint
    if not path.is_file():
        other = "last" if which == "best" else "best"
        raise UsageError(
            f"--init-from: run {run.id} has no checkpoints/{path.name} (it stopped before writing one); "
            f"try --init-from {run.id}:{other}"
        )
    return InitFrom(run.id, path, load_checkpoint(path))
