"""Value types for configs and builder signatures (bounded numbers, whole numbers that refuse true/false), and how
pydantic's errors about them read. Plugins use them from learnai_cli.registry."""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

__all__ = [
    "RealNumber",
    "NumberOrInfinity",
    "NonNegativeFloat",
    "PositiveFloat",
    "Fraction",
    "FractionBelow1",
    "WholeNumber",
    "PositiveCount",
    "SampleCount",
    "ImageSide",
    "MAX_SAMPLES",
    "merged_union_errors",
    "strict_numbers",
]

BOOLEAN_WORDS = "YAML also reads yes, no, on and off as true/false"
MAX_SAMPLES = 10_000_000  # generated datasets: far beyond a lesson, well inside memory for their index tensors
MAX_IMAGE_SIDE = 4096


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):  # pydantic would read true as 1: `epochs: yes` is a mistake, not one epoch
        raise ValueError(f"expected a whole number, not true/false ({BOOLEAN_WORDS})")
    return value


def _not_a_boolean_number(value: Any) -> Any:
    if isinstance(value, bool):  # `lr: on` is a mistake, not a learning rate of 1.0
        raise ValueError(f"expected a number, not true/false ({BOOLEAN_WORDS})")
    return value


# Numbers for configs and builder signatures: the registry checks them when a config is validated, so a value torch
# would reject (or that could never train) is a config error naming its key. Floats are finite and never booleans.
RealNumber = Annotated[float, BeforeValidator(_not_a_boolean_number), Field(allow_inf_nan=False)]
NumberOrInfinity = Annotated[float, BeforeValidator(_not_a_boolean_number)]  # a builder's own `= math.inf` default
NonNegativeFloat = Annotated[RealNumber, Field(ge=0)]
PositiveFloat = Annotated[RealNumber, Field(gt=0)]
Fraction = Annotated[RealNumber, Field(ge=0, le=1)]
FractionBelow1 = Annotated[RealNumber, Field(ge=0, lt=1)]

WholeNumber = Annotated[int, BeforeValidator(_not_a_boolean)]
PositiveCount = Annotated[WholeNumber, Field(gt=0, le=10**12)]
SampleCount = Annotated[WholeNumber, Field(gt=0, le=MAX_SAMPLES)]  # samples a dataset builder generates
ImageSide = Annotated[WholeNumber, Field(gt=0, le=MAX_IMAGE_SIDE)]  # pixels of an image's side after resizing


def merged_union_errors(errors: list[dict]) -> list[dict]:
    """pydantic's errors with each union's members folded into one per key. pydantic reports every member of a
    union (train.threads: 'auto' or a count) under locations such as `literal['auto']` or `constrained-int` that
    are no key of a config: the member the value had the shape of (a list for list[int]) keeps its errors, else one
    error says what each member wants."""
    grouped: dict[tuple, list[dict]] = {}
    for error in errors:
        location = tuple(error["loc"])
        member = next((i for i, part in enumerate(location) if _is_union_member(part)), None)
        grouped.setdefault(location[:member] if member is not None else location, []).append(error)
    merged = []
    for key, group in grouped.items():
        stripped = [{**e, "loc": tuple(p for p in e["loc"] if not _is_union_member(p))} for e in group]
        deeper = [e for e in stripped if len(e["loc"]) > len(key)]
        if len(group) == 1 or deeper:
            merged += deeper or stripped
            continue
        wanted = list(dict.fromkeys(e["msg"].removeprefix("Value error, ") for e in group))
        said = "Input should be "
        if all(w.startswith(said) for w in wanted):
            wanted = [said + " or ".join(w.removeprefix(said) for w in wanted)]
        merged.append({**stripped[0], "msg": "; or ".join(wanted)})
    return merged


def _is_union_member(part: Any) -> bool:
    """A location part naming a member of a union (`int`, `literal['auto']`, `list[...]`), not a key or index."""
    return isinstance(part, str) and (any(c in part for c in "[]-'") or part in ("int", "float", "bool", "str"))


def strict_numbers(annotation: Any) -> Any:
    """The annotation with every `int` in it (inside Optional, Union, list, tuple, dict, Annotated) refusing
    booleans, as the config's own counts do, and every `float` finite and refusing booleans."""
    if annotation is int:
        return WholeNumber
    if annotation is float:
        return RealNumber
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if not args:
        return annotation
    if origin is Annotated:
        return Annotated[(strict_numbers(args[0]), *annotation.__metadata__)]
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(strict_numbers(a) for a in args)]
    if origin in (list, tuple, dict, set, frozenset):
        return origin[tuple(strict_numbers(a) for a in args)]
    return annotation
