"""Reading config YAML strictly: safe tags only, no duplicate keys, merge keys checked, bounded size and depth.

Every way a YAML text can be wrong becomes a ConfigError naming the file (or override) and the line, and no
message echoes a huge value back.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from learnai_cli.errors import ConfigError, clip, kind_name, short_repr

MAX_DEPTH, MAX_NODES = 32, 100_000
MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping names one key twice; plain YAML would silently keep the last value."""

    def __init__(self, key: Any, first: yaml.Mark, again: yaml.Mark):
        super().__init__(None, None, f"duplicate key {short_repr(key)}", again)
        self.first_line = first.line + 1


class StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses duplicate keys (merged keys `<<` may still be overridden, as YAML intends)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    first = seen.setdefault(key, key_node.start_mark)
                except TypeError:
                    continue  # unhashable: the base class reports it
                if first is not key_node.start_mark:
                    raise DuplicateKeyError(key, first, key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


# YAML 1.2 floats: PyYAML (YAML 1.1) reads 1e-3 and 1e6 as text; a learner writes them as numbers.
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def load_text(text: str) -> Any:
    """YAML text as data, with StrictLoader; raises yaml.YAMLError, ValueError or RecursionError."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader


MAX_CONFIG_BYTES = 10 * 2**20  # far beyond any config; a search space or a grid is a few kilobytes


def read_yaml(path: Path) -> dict[str, Any]:
    """The file's top-level mapping; missing, empty or malformed files are ConfigErrors."""
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    if path.is_dir():
        raise ConfigError(f"config path is a directory, not a YAML file: {path}")
    try:
        with path.open("rb") as file:  # a device or a pipe may never end: read no more than a config could be
            data = file.read(MAX_CONFIG_BYTES + 1)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path} is larger than {MAX_CONFIG_BYTES // 2**20} MB (or never ends, like /dev/zero): not a config file"
        )
    return parse_yaml(text, str(path))


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    if not text.strip():
        raise ConfigError(f"{source}: the config file is empty; start from one in configs/")
    try:
        data = load_text(text)
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        raise ConfigError(f"{source}: {describe_yaml_error(error)}") from None
    if data is None:
        raise ConfigError(f"{source}: the config file holds no settings (only comments?)")
    check_structure(data, source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections, not {kind_name(type(data))}")
    return data


def describe_yaml_error(error: Exception) -> str:
    """What went wrong reading YAML, and where."""
    if isinstance(error, RecursionError):
        return "the YAML is nested too deeply"
    if isinstance(error, ValueError):  # raised inside PyYAML: an int past Python's digit limit, a bad date
        if "digits" in str(error):
            return "a number has too many digits to read (at most 4300)"
        return f"a value cannot be read: {clip(str(error), 200)}"
    if not isinstance(error, yaml.MarkedYAMLError):  # e.g. a control character the reader refuses
        return f"not valid YAML: {clip(str(error), 300)}"
    mark = error.problem_mark or error.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
    problem = error.problem or error.context or str(error)
    if isinstance(error, DuplicateKeyError):
        return (
            f"{problem} at {where} (first at line {error.first_line}); a key may appear once in a mapping "
            "(YAML would silently keep the last value)"
        )
    if isinstance(error, yaml.constructor.ConstructorError):
        if "could not determine a constructor" in problem:
            return (
                f"YAML tags that build Python objects are not allowed in configs ({where}): configs are data; "
                "code enters only through plugins"
            )
        if "merging" in problem:
            return f"bad merge key '<<' at {where}: {problem}; '<<' takes a mapping (or a list of mappings) to copy in"
        return f"{problem} at {where}"
    return f"YAML syntax error at {where}: {problem}"


def check_structure(data: Any, source: str) -> None:
    """Refuse recursive anchors, absurd nesting and anchor bombs before anything walks the data."""
    seen: set[int] = set()
    stack = [(data, 0, frozenset())]
    while stack:
        node, depth, ancestors = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        if id(node) in ancestors:
            raise ConfigError(
                f"{source}: a YAML anchor refers to itself (recursive structure); configs must be plain trees"
            )
        if depth > MAX_DEPTH:
            raise ConfigError(f"{source}: the YAML is nested more than {MAX_DEPTH} levels deep")
        if id(node) in seen:
            continue
        seen.add(id(node))
        if len(seen) > MAX_NODES:
            raise ConfigError(
                f"{source}: the YAML holds more than {MAX_NODES:,} lists and mappings; configs are small files"
            )
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1, ancestors | {id(node)}) for child in children)


def split_top_level(text: str) -> list[str]:
    """'1,[2,3],{a: 4}' -> ['1', '[2,3]', '{a: 4}']: commas inside brackets or braces stay."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "[{("
        depth -= char in "]})"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current] if (parts or current.strip()) else []
