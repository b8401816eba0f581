"""`learnai init`: a new config from a shipped one or from a config file of yours, comments kept."""

from __future__ import annotations

import re
from pathlib import Path

from learnai_cli.config import ExperimentConfig
from learnai_cli.config.yaml_reading import read_yaml
from learnai_cli.errors import UsageError, clip

__all__ = ["NAME_LIMIT", "init_config", "shipped_templates", "templates_folder"]

PACKAGED = Path(__file__).resolve().parents[1] / "templates"  # inside an installed wheel (pyproject package-dir)
CHECKOUT = Path(__file__).resolve().parents[2] / "configs"  # the same files in a source checkout or editable install
NAME_LIMIT = next(m.max_length for m in ExperimentConfig.model_fields["name"].metadata if hasattr(m, "max_length"))
HEADER = re.compile(r"\A# Made by `learnai init .*\n")


def templates_folder() -> Path:
    """Where the shipped configs are: in the installed package, else beside it in the checkout."""
    return PACKAGED if PACKAGED.is_dir() else CHECKOUT


def shipped_templates() -> list[str]:
    return sorted(p.stem for p in templates_folder().glob("*.yaml"))


def init_config(name: str, source: str, directory: Path) -> tuple[Path, list[str]]:
    """<directory>/<name>.yaml from a shipped config or a config file, with its name changed and its comments kept;
    also the warnings about relative paths that no longer lead where they did."""
    name = re.sub(r"\.ya?ml$", "", name)  # `init my.yaml` means the file my.yaml, not my.yaml.yaml
    _check_name(name)
    source_path = _source_file(source)
    target = directory / f"{name}.yaml"
    if target.exists():
        raise UsageError(f"{target} exists already; choose another name or remove it")
    read_yaml(source_path)  # a file that is no config mapping is refused here, naming its line
    text = HEADER.sub("", source_path.read_text(encoding="utf-8"))
    text, renamed = re.subn(r"(?m)^name:[^\n#]*", f"name: {name}", text, count=1)
    if not renamed:
        text = f"name: {name}\n{text}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        target.write_text(
            f"# Made by `learnai init {name} --from {source}`; validate with `learnai config {target}`.\n{text}"
        )
    except OSError as error:
        blocker = next((p for p in (directory, *directory.parents) if p.exists() and not p.is_dir()), None)
        cause = f"{blocker} is a file, not a folder" if blocker else (error.strerror or str(error))
        raise UsageError(f"--dir {directory}: cannot write {target.name} there: {cause}; give a folder") from None
    return target, _moved_paths(source_path, target)


def _check_name(name: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise UsageError(f"'{clip(name)}' cannot name a run: use letters, digits, '.', '_' or '-'")
    if len(name) > NAME_LIMIT:
        raise UsageError(f"the name '{clip(name)}' is {len(name):,} characters long; names are at most {NAME_LIMIT}")


def _source_file(source: str) -> Path:
    """A shipped template's file for a bare name (`mnist_cnn`), else the config file the value names."""
    shipped = shipped_templates()
    if source in shipped:
        return templates_folder() / f"{source}.yaml"
    path = Path(source).expanduser()
    if path.is_file():
        return path
    listing = ", ".join(shipped) or "(none found: the package's templates are missing)"
    if path.exists():
        raise UsageError(f"--from {clip(source)}: is a directory; give a config file or a shipped name: {listing}")
    raise UsageError(f"--from {clip(source)}: no shipped config and no file of that name. Shipped: {listing}")


def _moved_paths(source: Path, target: Path) -> list[str]:
    """Relative file paths in the config that led to a file from the source's folder but lead nowhere from the new
    config's (paths in a config resolve against its own folder)."""
    here, there = source.resolve().parent, target.resolve().parent
    if here == there:
        return []
    lost = [
        value for value in _strings(read_yaml(source)) if _relative_file(here, value) and not (there / value).exists()
    ]
    return [
        f"{target}: '{clip(value)}' is relative to the config's folder and led to {(here / value).resolve()}, "
        f"which is not beside {target.name}; make it absolute or copy the file"
        for value in dict.fromkeys(lost)
    ]


def _strings(node) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return [node] if isinstance(node, str) else []


def _relative_file(folder: Path, value: str) -> bool:
    """A relative path that names an existing file or folder seen from `folder`."""
    if not value or value.startswith(("/", "~")) or "\n" in value or len(value) > 1000:
        return False
    try:
        return (folder / value).exists()
    except OSError:
        return False
