"""`learnai init`: a new config from a shipped one or from a config file of yours, comments kept."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import yaml

from learnai_cli.atomic import write_new
from learnai_cli.config import ExperimentConfig
from learnai_cli.config.yaml_reading import StrictLoader, load_text, read_yaml
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
    if os.path.lexists(target):  # a dangling symbolic link too: learnai never writes through one
        what = "a symbolic link" if target.is_symlink() else "a file" if target.is_file() else "something"
        raise UsageError(f"{target} exists already ({what}); choose another name or remove it")
    original = read_yaml(source_path)  # a file that is no config mapping is refused here, naming its line
    text = HEADER.sub("", source_path.read_text(encoding="utf-8"))
    text = renamed_yaml(text, name, original, source, target)
    header = f"# Made by `learnai init {name} --from {source}`; validate with `learnai config {target}`.\n"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        write_new(target, header + text)  # whole or not at all: a full disk leaves no empty file to block a retry
    except OSError as error:
        blocker = next((p for p in (directory, *directory.parents) if p.exists() and not p.is_dir()), None)
        if isinstance(error, FileExistsError) and not blocker:  # made meanwhile by another process
            raise UsageError(f"{target} exists already; choose another name or remove it") from None
        if blocker:
            raise UsageError(f"--dir {directory}: cannot write {target.name} there: {blocker} is a file, not a folder")
        raise UsageError(  # a full disk, a read-only folder
            f"--dir {directory}: cannot write {target.name} there: {error.strerror or error}; nothing was written. "
            "Free some space (or give a folder you can write to) and run the same command again"
        ) from None
    return target, _moved_paths(source_path, target)


def renamed_yaml(text: str, name: str, original: dict, source: str, target: Path) -> str:
    """The config's text with its top-level `name:` value replaced (or a `name:` added), everything else as it was,
    comments included: the value's own characters are found through the YAML parser's marks, never by a line
    pattern. What comes out must read as the source did with the new name, else it is refused."""
    events = list(yaml.parse(text, Loader=StrictLoader))
    new_value = name if load_text(name) == name else json.dumps(name)  # `123` or `true` would not stay text
    start, end, insert = _name_span(events)
    if start is not None:
        block = getattr(_scalar_at(events, start), "style", None) in ("|", ">")  # its text ended with a line break
        edited = text[:start] + new_value + "\n" * block + text[end:]
    elif events[2].flow_style:
        edited = f"{text[:insert]}name: {new_value}, {text[insert:]}"
    else:  # before the first key, at its indentation
        indent = text[text.rfind("\n", 0, insert) + 1 : insert]
        edited = f"{text[:insert]}name: {new_value}\n{indent}{text[insert:]}"
    try:
        same = load_text(edited) == {**original, "name": name}
    except (yaml.YAMLError, ValueError, RecursionError):
        same = False
    if not same:
        raise UsageError(
            f"--from {clip(source)}: its name cannot be changed without changing more of the file (the way its `name:` "
            f"is written, e.g. an anchor other keys refer to); copy it yourself (cp {clip(source)} {target}) and "
            "edit its name: line"
        )
    return edited


def _name_span(events: list) -> tuple[int | None, int | None, int]:
    """(start, end) of the top-level name's value text, or (None, None, where a `name:` key can go)."""
    root = events[2]  # StreamStart, DocumentStart, then the top-level mapping (read_yaml checked it is one)
    position, first_key = 3, None
    while not isinstance(events[position], yaml.MappingEndEvent):
        key = events[position]
        first_key = first_key or key
        position = _after_node(events, position)
        value = events[position]
        if isinstance(key, yaml.ScalarEvent) and key.value == "name" and isinstance(value, _SCALARS):
            return _value_start(value), value.end_mark.index, 0
        position = _after_node(events, position)
    if root.flow_style or first_key is None:
        return None, None, root.start_mark.index + 1
    return None, None, first_key.start_mark.index


_SCALARS = (yaml.ScalarEvent, yaml.AliasEvent)  # `name: *base` takes the new name in place of the alias


def _scalar_at(events: list, start: int):
    """The scalar event whose text starts at `start`."""
    return next(event for event in events if isinstance(event, _SCALARS) and _value_start(event) == start)


def _after_node(events: list, position: int) -> int:
    """The index of the event after the node that starts at `position` (a scalar, an alias, or a whole collection)."""
    depth = 0
    while True:
        event = events[position]
        position += 1
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        if depth == 0:
            return position


def _value_start(event) -> int:
    """Where a scalar's own text starts, after any anchor (`&a`) or tag (`!!str`) in front of it (kept)."""
    if isinstance(event, yaml.AliasEvent) or not (event.anchor or event.tag and not event.implicit[0]):
        return event.start_mark.index
    text = event.start_mark.buffer
    index = event.start_mark.index
    while text[index] in "&!":
        while text[index] not in " \t\n":
            index += 1
        while text[index] in " \t\n":
            index += 1
    return index


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
    if path.is_dir():
        raise UsageError(f"--from {clip(source)}: is a directory; give a config file or a shipped name: {listing}")
    if path.exists():  # /dev/null, a FIFO, a socket: reading one may never end or hold nothing
        raise UsageError(
            f"--from {clip(source)}: is {_kind_of(path)}, not a config file; give a config file or a shipped name: "
            f"{listing}"
        )
    raise UsageError(f"--from {clip(source)}: no shipped config and no file of that name. Shipped: {listing}")


def _kind_of(path: Path) -> str:
    mode = path.stat().st_mode
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else "not a regular file"


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
