"""The search space of `learnai tune`: `key=loguniform(a,b)` expressions, parsed, checked and sampled.

No optuna at import: the expressions are parsed and the space checked before optuna is even needed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

from learnai_cli.config.yaml_reading import split_top_level
from learnai_cli.errors import UsageError, clip, did_you_mean

__all__ = ["Param", "parse", "from_section", "merge", "suggest", "override", "grid_space", "corner_overrides"]

FUNCTIONS = {
    "loguniform": "a float drawn on a log scale between a and b (0 < a < b)",
    "uniform": "a float between a and b",
    "int": "an integer from a to b inclusive",
    "choice": "one of the listed values (YAML each: 32, relu, [64,32])",
}
EXAMPLES = "optimizer.lr=loguniform(1e-4,1e-1), model.dropout=uniform(0,0.5), train.batch_size=choice(32,64,128)"
EXPRESSION = re.compile(r"^\s*([A-Za-z_]+)\s*\((.*)\)\s*$", re.DOTALL)
STARTS_LIKE_A_FUNCTION = re.compile(r"^\s*(" + "|".join(FUNCTIONS) + r")\s*\(")  # loguniform(1e-3,1: unclosed


def is_expression(value: str) -> bool:
    """function(...) is searched, as is a known function left unclosed (an error then, not a plain value)."""
    return bool(EXPRESSION.match(value) or STARTS_LIKE_A_FUNCTION.match(value))


@dataclass(frozen=True)
class Param:
    """One searched config key: its distribution and bounds (low, high) or choices."""

    key: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    choices: tuple = ()
    text: str = ""  # the expression as given, for messages and the study's record
    source: str = "command line"  # where it was given: the command line, or a config file's search: section

    def corners(self) -> list[Any]:
        """The values a config is checked with before any trial: both bounds and a fractional value between them
        (so a float range over an integer key is caught), or every choice."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return [int(self.low), int(self.high)]
        return [self.low, self.high, self.low + (self.high - self.low) / math.pi]


def parse(spec: str, source: str = "command line") -> Param:
    """'optimizer.lr=loguniform(1e-4,1e-1)' -> Param; a UsageError names what is wrong and what is valid."""
    key, sep, expression = spec.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise UsageError(
            f"search expression '{clip(spec)}' ({source}) must look like key.path=function(...): {EXAMPLES}"
        )
    if key.split(".")[0] == "search":
        raise UsageError(
            f"search expression '{clip(spec)}' ({source}): the search: section itself is not searched; give a key of "
            "the experiment (optimizer.lr, model.hidden, train.batch_size, ...)"
        )
    param = _parse_expression(key, expression, f"search expression '{clip(spec)}' ({source})")
    return replace(param, source=source)


def _parse_expression(key: str, expression: str, where: str) -> Param:
    match = EXPRESSION.match(expression)
    if not match and STARTS_LIKE_A_FUNCTION.match(expression):
        raise UsageError(f"{where}: '{clip(expression)}' has no closing ')'; e.g. {EXAMPLES}")
    if not match:
        valid = ", ".join(f"{name}(...)" for name in FUNCTIONS)
        raise UsageError(f"{where}: '{clip(expression)}' is not a search function; valid: {valid} (e.g. {EXAMPLES})")
    function, arguments = match.group(1), match.group(2)
    if function not in FUNCTIONS:
        valid = "; ".join(f"{name}(...): {meaning}" for name, meaning in FUNCTIONS.items())
        raise UsageError(f"{where}: unknown function '{function}'.{did_you_mean(function, FUNCTIONS)} Valid: {valid}")
    parts = [part.strip() for part in split_top_level(arguments)]
    if function == "choice":
        return _choice(key, parts, where, expression)
    return _range(key, function, parts, where, expression)


def _choice(key: str, parts: list[str], where: str, expression: str) -> Param:
    from learnai_cli.config.yaml_reading import load_text

    if not parts or any(not part for part in parts):
        raise UsageError(f"{where}: choice(...) needs one or more values separated by commas, e.g. choice(32,64,128)")
    try:
        values = tuple(load_text(part) for part in parts)
    except Exception as error:  # a malformed YAML value: say which one
        raise UsageError(f"{where}: a choice is not valid YAML ({str(error).splitlines()[0]})") from None
    if len({override(key, value) for value in values}) != len(values):
        raise UsageError(f"{where}: choice(...) lists a value twice")
    return Param(key, "choice", choices=values, text=expression.strip())


def _range(key: str, function: str, parts: list[str], where: str, expression: str) -> Param:
    if len(parts) != 2:
        raise UsageError(f"{where}: {function}(a,b) takes two numbers, got {len(parts)}")
    try:
        low, high = (int(p) if function == "int" else float(p) for p in parts)
    except ValueError:
        kind = "integers" if function == "int" else "numbers"
        raise UsageError(f"{where}: {function}(a,b) takes two {kind}, got {', '.join(parts)}") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise UsageError(f"{where}: {function}(a,b) needs finite a < b, got a={parts[0]}, b={parts[1]}")
    if function == "loguniform" and low <= 0:
        raise UsageError(f"{where}: loguniform(a,b) needs 0 < a (a log scale), got a={parts[0]}")
    return Param(key, function, low=low, high=high, text=expression.strip())


def from_section(section: Any, source: str) -> list[Param]:
    """The config file's `search:` section, {key.path: expression}."""
    if section in (None, {}):
        return []
    if not isinstance(section, dict) or not all(isinstance(v, str) for v in section.values()):
        raise UsageError(
            f"{source}: search: must map key paths to expressions, e.g. search: {{optimizer.lr: "
            "'loguniform(1e-4,1e-1)'}"
        )
    return [parse(f"{key}={expression}", f"{source}, search:") for key, expression in section.items()]


def merge(from_file: list[Param], from_command_line: list[Param]) -> list[Param]:
    """The file's space with the command line's expressions replacing or adding keys."""
    merged = {param.key: param for param in from_file}
    merged.update({param.key: param for param in from_command_line})
    return list(merged.values())


def suggest(trial, param: Param) -> Any:
    """The value an Optuna trial samples for `param` (choices are sampled by their YAML text, so lists work)."""
    if param.kind == "choice":
        labels = [override(param.key, value).split("=", 1)[1] for value in param.choices]
        return param.choices[labels.index(trial.suggest_categorical(param.key, labels))]
    if param.kind == "int":
        return trial.suggest_int(param.key, int(param.low), int(param.high))
    return trial.suggest_float(param.key, param.low, param.high, log=param.kind == "loguniform")


def override(key: str, value: Any) -> str:
    """'key=value' with the value written so the config's YAML reads it back as the same value (1e-05 -> 1.0e-05)."""
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=2**31).strip()
    return f"{key}={text.removesuffix('...').strip()}"


MAX_GRID_POINTS = 100_000  # far more trials than a study runs; a bigger grid only fills memory


def grid_space(params: list[Param]) -> dict[str, list[Any]]:
    """The grid sampler's space: every choice or every integer; a float range has no grid."""
    ranges = [p for p in params if p.kind in ("uniform", "loguniform")]
    if ranges:
        named = ", ".join(f"{p.key}={p.text}" for p in ranges)
        raise UsageError(f"--sampler grid needs choice(...) or int(a,b) for every key; {named} is a float range")
    sizes = {p.key: len(p.choices) if p.kind == "choice" else int(p.high) - int(p.low) + 1 for p in params}
    if math.prod(sizes.values()) > MAX_GRID_POINTS:  # the grid is listed whole, in memory, before any trial
        shown = " x ".join(f"{key} {size:,}" for key, size in sizes.items())
        raise UsageError(
            f"--sampler grid over {shown} is {math.prod(sizes.values()):,} points, more than the {MAX_GRID_POINTS:,} "
            "a grid may have: narrow the int(a,b) ranges, or search them with --sampler random or tpe"
        )
    return {
        p.key: [override(p.key, v).split("=", 1)[1] for v in p.choices]
        if p.kind == "choice"
        else list(range(int(p.low), int(p.high) + 1))
        for p in params
    }


def corner_overrides(params: list[Param]) -> list[list[str]]:
    """Override sets that together try every bound and every choice of the space (the rest at their first corner),
    so a bad key or a value the config cannot take is found before any trial trains."""
    first = [override(p.key, p.corners()[0]) for p in params]
    sets = [first]
    for index, param in enumerate(params):
        for value in param.corners()[1:]:
            sets.append([*first[:index], override(param.key, value), *first[index + 1 :]])
    return sets
