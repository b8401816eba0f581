"""`learnai init`: a new config from a shipped one, comments kept."""

from __future__ import annotations

import re
from pathlib import Path

from learnai_cli.errors import UsageError

TEMPLATES = Path(__file__).resolve().parents[2] / "configs"  # the shipped configs, in a source checkout


def init_config(name: str, template: str, directory: Path) -> Path:
    """configs/<name>.yaml from a shipped config, with its name changed and its comments kept."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise UsageError(f"'{name}' cannot name a run: use letters, digits, '.', '_' or '-'")
    source = TEMPLATES / f"{template}.yaml"
    if not source.is_file():
        available = (
            ", ".join(sorted(p.stem for p in TEMPLATES.glob("*.yaml"))) or "(no configs/ folder next to the package)"
        )
        raise UsageError(f"no template '{template}'. Available: {available}")
    target = directory / f"{name}.yaml"
    if target.exists():
        raise UsageError(f"{target} exists already; choose another name or remove it")
    text = re.sub(r"(?m)^name: .*$", f"name: {name}", source.read_text(), count=1)
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(
        f"# Made by `learnai init {name} --from {template}`; validate with `learnai config {target}`.\n{text}"
    )
    return target
