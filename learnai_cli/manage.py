"""Managing runs and configs: show, filter, remove, garbage-collect, new configs from templates, the JSON Schema."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, Optional

from learnai_cli.errors import UsageError
from learnai_cli.runs import RunDir, all_runs, effective_status, iter_summaries

TEMPLATES = Path(__file__).resolve().parents[1] / "configs"  # the shipped configs, in a source checkout


def show(run: RunDir) -> dict[str, Any]:
    """Everything about one run: meta (with its effective status), config, last epoch, files."""
    meta = run.meta()
    records = run.epoch_records()
    files = sorted(p for p in run.path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return {
        "run_id": run.id,
        "run_dir": str(run.path),
        "status": effective_status(meta),
        "meta": meta,
        "config": run.config(),
        "last_epoch": records[-1] if records else None,
        "files": [{"path": str(p.relative_to(run.path)), "bytes": p.stat().st_size} for p in files],
    }


def filtered_summaries(root: Path, status: Optional[str], name: Optional[str]) -> list[dict[str, Any]]:
    """`learnai runs` rows, keeping a status and names containing `name`."""
    rows = list(iter_summaries(root))
    if status:
        rows = [r for r in rows if r["status"] == status]
    if name:
        rows = [r for r in rows if name in r["name"] or name in r["id"]]
    return rows


def remove(run: RunDir) -> None:
    if effective_status(run.meta()) == "running":
        raise UsageError(f"run {run.id} is still running; stop it before removing it")
    shutil.rmtree(run.path)


def gc_candidates(root: Path, keep_last: int) -> list[RunDir]:
    """Runs beyond the newest `keep_last`, never one that is still running."""
    if keep_last < 0:
        raise UsageError("--keep-last must be 0 or more")
    runs = all_runs(root)
    older = runs[: max(0, len(runs) - keep_last)]
    return [run for run in older if effective_status(run.meta()) != "running"]


def init_config(name: str, template: str, directory: Path) -> Path:
    """configs/<name>.yaml from a shipped config, with its name changed and its comments kept."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise UsageError(f"'{name}' cannot name a run: use letters, digits, '.', '_' or '-'")
    source = TEMPLATES / f"{template}.yaml"
    if not source.is_file():
        available = ", ".join(sorted(p.stem for p in TEMPLATES.glob("*.yaml"))) or "(no configs/ folder next to the package)"
        raise UsageError(f"no template '{template}'. Available: {available}")
    target = directory / f"{name}.yaml"
    if target.exists():
        raise UsageError(f"{target} exists already; choose another name or remove it")
    text = re.sub(r"(?m)^name: .*$", f"name: {name}", source.read_text(), count=1)
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(f"# Made by `learnai init {name} --from {template}`; validate with `learnai config {target}`.\n{text}")
    return target


def config_schema() -> dict[str, Any]:
    """A JSON Schema of the config file for editors (e.g. the YAML language server)."""
    from learnai_cli.config import ExperimentConfig

    schema = ExperimentConfig.model_json_schema()
    schema["title"] = "learnai experiment config"
    schema["description"] = "Builder sections take {name: <registered>, ...its arguments}; `learnai list` shows them."
    return schema
