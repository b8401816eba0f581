"""`learnai init`: a new config from a shipped one, comments kept."""

from __future__ import annotations

import re
from pathlib import Path

from learnai_cli.config import ExperimentConfig
from learnai_cli.errors import UsageError, clip

TEMPLATES = Path(__file__).resolve().parents[2] / "configs"  # the shipped configs, in a source checkout
NAME_LIMIT = next(m.max_length for m in ExperimentConfig.model_fields["name"].metadata if hasattr(m, "max_length"))


def init_config(name: str, template: str, directory: Path) -> Path:
    """configs/<name>.yaml from a shipped config, with its name changed and its comments kept."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise UsageError(f"'{clip(name)}' cannot name a run: use letters, digits, '.', '_' or '-'")
    if len(name) > NAME_LIMIT:
        raise UsageError(f"the name '{clip(name)}' is {len(name):,} characters long; names are at most {NAME_LIMIT}")
    available = sorted(p.stem for p in TEMPLATES.glob("*.yaml"))
    if template not in available:
        listing = ", ".join(available) or "(no configs/ folder next to the package)"
        raise UsageError(f"no template '{clip(template)}'. Available: {listing}")
    source = TEMPLATES / f"{template}.yaml"
    target = directory / f"{name}.yaml"
    if target.exists():
        raise UsageError(f"{target} exists already; choose another name or remove it")
    text = re.sub(r"(?m)^name: .*$", f"name: {name}", source.read_text(), count=1)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        target.write_text(
            f"# Made by `learnai init {name} --from {template}`; validate with `learnai config {target}`.\n{text}"
        )
    except OSError as error:
        raise UsageError(f"--dir {directory}: cannot write {target.name} there: {error.strerror or error}") from None
    return target
