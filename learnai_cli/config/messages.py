"""How config problems read: one line per problem naming its key, what was wrong, what is valid, and the
override that set it."""

from __future__ import annotations

from typing import Any

from learnai_cli.errors import clip, short_repr
from learnai_cli.registry.suggestions import SYNONYMS, suggestion

__all__ = ["describe_schema_error", "located", "kind_of"]


def describe_schema_error(error: dict, origins: dict[str, str], sections: dict[str, Any]) -> str:
    """One schema problem as a line: the key, what is wrong and valid, and the override it came from. `sections`:
    the config's section models by key, for their valid keys."""
    loc = [str(part) for part in error["loc"]]
    path = ".".join(loc)
    parent, key = ".".join(loc[:-1]), loc[-1] if loc else ""
    if error["type"] == "extra_forbidden":
        valid = list(sections[parent].model_fields) if parent in sections else []
        listing = f" Valid keys{' in ' + parent if parent else ''}: {', '.join(valid)}" if valid else ""
        what = "section" if not parent else "key"
        hint = suggestion(clip(key), valid) or _elsewhere(key, parent)
        return located(path, f"unknown {what}.{hint}{listing}", origins)
    if error["type"] == "missing":
        return located(path, "required key is missing", origins)
    if error["type"] == "string_pattern_mismatch" and path == "device":
        return located(path, f"expected auto, cpu, cuda or cuda:N (got {short_repr(error['input'])})", origins)
    if error["type"] == "string_pattern_mismatch" and path == "name":
        return located(
            path,
            f"use letters, digits, '.', '_' or '-' only; it names the run directory (got {short_repr(error['input'])})",
            origins,
        )
    if error["type"] in ("model_type", "dict_type"):  # `optimizer=adam`, `train=5`: a value where a section goes
        return located(path, _not_a_section(path, error.get("input"), sections), origins)
    message = error["msg"].removeprefix("Value error, ")
    return located(path, f"{message} (got {short_repr(error.get('input'))})", origins)


# Optimizer settings people put beside the other training settings: (folded key, the key it belongs to).
_OPTIMIZER_KEYS = ("lr", "momentum", "weight_decay", "betas", "eps", "nesterov")


def _elsewhere(key: str, parent: str) -> str:
    """' It belongs in optimizer: optimizer.lr' for train.learning_rate and the like; else ''."""
    folded = key.casefold().replace("-", "").replace("_", "")
    found = SYNONYMS.get(folded, folded)
    found = found if isinstance(found, str) else found[0]
    owner = next((name for name in _OPTIMIZER_KEYS if name.replace("_", "") == found.replace("_", "")), None)
    if owner is None or parent == "optimizer":
        return ""
    return f" It is an optimizer setting: set optimizer.{owner}."


def _not_a_section(path: str, given: Any, sections: dict[str, Any]) -> str:
    got = f"not a single value (got {short_repr(given)})"
    if path in sections:
        keys = list(sections[path].model_fields)
        return (
            f"is a section (keys such as {', '.join(keys[:4])}), {got}; set one of its keys, e.g. {path}.{keys[0]}=..."
        )
    example = f"{path}.name={given}" if isinstance(given, str) else f"{path}.name=..."
    return f"is a section (name: and its settings), {got}; to choose one, set {example}"


def located(path: str, message: str, origins: dict[str, str]) -> str:
    """The message prefixed by its key, and suffixed by the override that set that key (or a key around it)."""
    related = lambda key: path == key or path.startswith(key + ".") or key.startswith(path + ".")  # noqa: E731
    source = origins.get(path) or next((o for key, o in origins.items() if related(key)), None)
    suffix = f" [from override '{clip(source)}']" if source else ""
    return f"{clip(path)}: {message}{suffix}"


def kind_of(value: Any) -> str:
    """'a number', 'a list', ... for messages (not Python's type names)."""
    if isinstance(value, bool):
        return f"{value} (true/false)"
    kinds = {int: "a whole number", float: "a number", str: "text", list: "a list"}
    return f"{short_repr(value)}, {next((k for t, k in kinds.items() if isinstance(value, t)), 'a value')}"
