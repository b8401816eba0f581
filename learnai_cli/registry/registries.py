"""Registries of named builders (models, datasets, losses, ...) with signature-checked kwargs."""

from __future__ import annotations

import functools
import importlib
import inspect
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from pydantic import ConfigDict, ValidationError, create_model

from learnai_cli.errors import ConfigError, LearnaiError, clip, short_repr
from learnai_cli.registry.suggestions import suggestion
from learnai_cli.registry.value_types import (  # re-exported: plugins annotate their builders with them
    NumberOrInfinity,
    merged_union_errors,
    strict_numbers,
)


@dataclass(frozen=True)
class Entry:
    """One registered builder: its name, the callable, and metadata such as a dataset's task."""

    name: str
    builder: Callable[..., Any]
    provided: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def parameters(self) -> list[inspect.Parameter]:
        """The arguments a config may set: the signature minus what the framework passes."""
        signature = inspect.signature(self.builder, eval_str=True)
        return [
            p
            for p in signature.parameters.values()
            if p.name not in self.provided and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    @functools.cached_property
    def accepts_any_kwargs(self) -> bool:
        signature = inspect.signature(self.builder)
        return any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())

    @functools.cached_property
    def schema(self):
        """A pydantic model of the arguments, so YAML values are type-checked before building."""
        fields = {
            p.name: (
                _checked_type(p),
                ... if p.default is inspect.Parameter.empty else p.default,
            )
            for p in self.parameters
        }
        extra = "allow" if self.accepts_any_kwargs else "forbid"
        config = ConfigDict(extra=extra, arbitrary_types_allowed=True, validate_default=True)
        return create_model(f"{self.name}_arguments", __config__=config, **fields)

    @functools.cached_property
    def path_arguments(self) -> tuple[str, ...]:
        """Arguments that name files or folders: meta `paths=`, or annotated `Path` / `Optional[Path]`."""
        annotated = [p.name for p in self.parameters if _is_path_type(p.annotation)]
        return tuple(dict.fromkeys([*self.meta.get("paths", ()), *annotated]))

    @property
    def summary(self) -> str:
        """The first line of the builder's docstring (shown by `learnai list`)."""
        doc = inspect.getdoc(self.builder) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""

    def describe_arguments(self) -> list[str]:
        """'name: type = default' for each configurable argument."""
        described = []
        for p in self.parameters:
            text = p.name
            if p.annotation is not inspect.Parameter.empty:
                text += f": {inspect.formatannotation(p.annotation)}"
            if p.default is not inspect.Parameter.empty:
                text += f" = {p.default!r}"
            described.append(text)
        return described


class Registry:
    """Named builders of one kind; a config section `{name: x, **kwargs}` picks and configures one.

    `locations` are the modules whose import registers the built-in builders; they are imported
    the first time the registry is used (they import torch, so never earlier).
    """

    def __init__(
        self,
        kind: str,
        provided: tuple[str, ...] = (),
        required_meta: tuple[str, ...] = (),
        allow_references: bool = False,
        locations: tuple[str, ...] = (),
    ):
        self.kind = kind
        self.provided = provided
        self.required_meta = required_meta
        self.allow_references = allow_references  # names like my_losses.py:focal_loss, imported on demand
        self.locations = locations
        self._entries: dict[str, Entry] = {}
        self._references: dict[str, Entry] = {}
        self._imported = not locations

    def import_locations(self) -> None:
        """Import the built-in builder modules once (a plugin registering a taken name then fails clearly)."""
        if self._imported:
            return
        self._imported = True  # first: those modules call register(), which calls this again
        for module in self.locations:
            importlib.import_module(module)

    def register(self, name: str | None = None, **meta: Any) -> Callable:
        """Decorator: `@MODELS.register("basic_cnn")`. Registering a name twice is an error."""
        missing = [key for key in self.required_meta if key not in meta]
        if missing:
            raise TypeError(f"{self.kind} registration needs {', '.join(missing)}")
        self.import_locations()

        def decorate(builder: Callable) -> Callable:
            key = name or builder.__name__
            if key in self._entries:
                existing = self._entries[key].builder
                raise ConfigError(
                    f"{self.kind} '{key}' is registered twice: by {_where(existing)} and by {_where(builder)}; "
                    "rename one of them"
                )
            self._entries[key] = Entry(key, builder, self.provided, dict(meta))
            return builder

        return decorate

    def names(self) -> list[str]:
        self.import_locations()
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        self.import_locations()
        return name in self._entries or (self.allow_references and ":" in name)

    def get(self, name: str) -> Entry:
        """The entry for `name`; an unknown name lists what exists and the closest match."""
        self.import_locations()
        if self.allow_references and ":" in name:
            if name not in self._references:  # only validate() resolves references: it knows the config's plugins
                raise ConfigError(f"{self.kind} reference {short_repr(name)} was not checked against a config")
            return self._references[name]
        if name not in self._entries:
            raise ConfigError(self.unknown_name_message(name))
        return self._entries[name]

    def reference(self, name: str, base_dir: Path = Path("."), plugins: Sequence[str] = ()) -> Entry:
        """A builder named by file.py:name (beside the config) or module:name (a module in `plugins`).

        A class is built with the kwargs, a function used as is. Checked on every call: the config's plugins decide.
        """
        from learnai_cli.registry import plugins as plugin_loader

        try:
            resolved, target = plugin_loader.resolve_reference(name, base_dir, plugins)
        except plugin_loader.ReferenceRefused as error:
            raise ConfigError(f"{self.kind} {short_repr(name)}: {error}") from None
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # the user's file may fail in any way (even sys.exit): a config problem
            raise ConfigError(
                f"cannot load {self.kind} {short_repr(name)}: {plugin_loader.describe_exception(error)}"
            ) from None
        if resolved not in self._references:
            builder = target if inspect.isclass(target) else _function_builder(target)
            self._references[resolved] = Entry(resolved, builder, self.provided, {})
        return self._references[resolved]

    def unknown_name_message(self, name: str) -> str:
        names = self.names()
        return f"unknown {self.kind} '{clip(name)}'.{suggestion(name, names)} Valid: {', '.join(names)}"

    def check(self, name: str, kwargs: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Validate kwargs against the builder's signature.

        Returns the resolved kwargs (defaults filled, YAML-friendly values) and a list of
        (argument, problem) pairs; an empty list means the section is valid.
        """
        entry = self.get(name)
        try:
            validated = entry.schema.model_validate(kwargs)
        except ValidationError as error:
            return {}, [_describe_argument_error(entry, e) for e in merged_union_errors(error.errors())]
        return validated.model_dump(mode="json"), []

    def build(self, name: str, kwargs: dict[str, Any], **provided: Any) -> Any:
        """Call the builder with validated kwargs plus whatever framework values it declares.

        Whatever the builder raises (any type: plugins are arbitrary code) becomes a BuildFailed naming it.
        """
        entry = self.get(name)
        values = dict(entry.schema.model_validate(kwargs))
        declared = inspect.signature(entry.builder).parameters
        arguments = {**values, **{key: value for key, value in provided.items() if key in declared}}
        try:
            return entry.builder(**arguments)
        except (KeyboardInterrupt, LearnaiError):
            raise
        except BaseException as error:
            raise BuildFailed(self.kind, entry, values, error) from None


class ArgumentError(ValueError):
    """Raised by a builder whose arguments do not work together; `argument` is the one the message blames."""

    def __init__(self, argument: str, message: str):
        super().__init__(message)
        self.argument = argument


class BuildFailed(ConfigError):
    """A builder raised: the message names the builder, its arguments and the exception; `argument` is the
    configurable argument to blame when one can be told (an ArgumentError's, or the one the message mentions)."""

    def __init__(self, kind: str, entry: Entry, values: dict[str, Any], error: BaseException):
        from learnai_cli.registry.plugins import describe_exception

        module = getattr(entry.builder, "__module__", "") or ""
        where = "" if module.startswith("learnai_cli.") else f" (from {_source_file(entry.builder)})"
        if isinstance(error, ArgumentError):  # the builder's own words about its arguments say it all
            super().__init__(f"{kind} '{entry.name}'{where}: {error}")
        else:
            settings = ", ".join(f"{key}={short_repr(value)}" for key, value in values.items())
            super().__init__(
                f"{kind} '{entry.name}'{where} cannot be built with ({settings}): {describe_exception(error)}"
            )
        self.argument = getattr(error, "argument", None) or _blamed_argument(str(error), list(values))


def _blamed_argument(message: str, arguments: list[str]) -> str | None:
    """The configurable argument a builder's error message names first, if any (whole words, any case)."""
    found = [(m.start(), a) for a in arguments if (m := re.search(rf"\b{re.escape(a)}\b", message, re.IGNORECASE))]
    return min(found)[1] if found else None


def _checked_type(parameter: inspect.Parameter) -> Any:
    """What a config value for this builder argument must be: its annotation with strict numbers, except that a
    float argument whose own default is infinite (`clip: float = math.inf`, 'no limit') may be given inf too."""
    if parameter.annotation is inspect.Parameter.empty:
        return Any
    default = parameter.default
    if isinstance(default, float) and not math.isfinite(default) and parameter.annotation is float:
        return NumberOrInfinity
    return strict_numbers(parameter.annotation)


def _source_file(builder: Callable) -> str:
    try:
        return Path(inspect.getsourcefile(builder) or "?").name
    except TypeError:
        return getattr(builder, "__module__", "?")


def _function_builder(function: Callable) -> Callable:
    """A builder for a plain loss function f(outputs, targets, **options): the options become its arguments."""
    signature = inspect.signature(function)

    def build(**options):
        return functools.partial(function, **options) if options else function

    build.__signature__ = signature.replace(parameters=list(signature.parameters.values())[2:])
    build.__doc__ = function.__doc__
    return build


def _describe_argument_error(entry: Entry, error: dict) -> tuple[str, str]:
    argument = ".".join(str(part) for part in error["loc"]) or "?"
    valid = [p.name for p in entry.parameters]
    if error["type"] == "extra_forbidden":
        listing = ", ".join(valid) if valid else "(it takes no arguments)"
        return argument, (
            f"unknown argument for {entry.name}.{suggestion(str(error['loc'][0]), valid)} Valid: {listing}"
        )
    if error["type"] == "missing":
        return argument, f"required argument of {entry.name} is missing"
    hint = ""
    if error["type"] == "literal_error" and isinstance(error["input"], str):  # activation: ReLU
        hint = suggestion(error["input"], re.findall(r"'([^']*)'", str((error.get("ctx") or {}).get("expected"))))
    return argument, f"{error['msg'].removeprefix('Value error, ')} (got {short_repr(error['input'])}).{hint}".rstrip(
        "."
    )


def _is_path_type(annotation: Any) -> bool:
    if annotation is Path:
        return True
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and Path in typing.get_args(annotation)


def _where(builder: Callable) -> str:
    return f"{getattr(builder, '__module__', '?')}.{getattr(builder, '__qualname__', builder)}"


# The registries, each with the modules that fill it with built-in builders.
MODELS = Registry(
    "model",
    locations=tuple(
        f"learnai_cli.models.{family}" for family in ("regression", "mlp", "cnn", "inception", "resnet", "zoo", "rnn")
    ),
)
DATASETS = Registry(
    "dataset",
    provided=("seed",),
    required_meta=("task",),
    locations=tuple(
        f"learnai_cli.data.{source}"
        for source in ("synthetic", "tabular", "csv_table", "vision", "folders", "sequences")
    ),
)
LOSSES = Registry("loss", allow_references=True, locations=("learnai_cli.losses",))
OPTIMIZERS = Registry("optimizer", provided=("params",), locations=("learnai_cli.optim",))
SCHEDULERS = Registry(
    "scheduler",
    provided=("optimizer", "epochs", "steps_per_epoch", "mode"),
    required_meta=("interval",),
    locations=("learnai_cli.optim",),
)
METRICS = Registry(
    "metric", provided=("predicted", "outputs", "targets"), locations=("learnai_cli.metrics",)
)  # all passed in

# `learnai list KIND` names; config sections name theirs in config.BUILDER_SECTIONS.
REGISTRIES = {
    "models": MODELS,
    "datasets": DATASETS,
    "losses": LOSSES,
    "optimizers": OPTIMIZERS,
    "schedulers": SCHEDULERS,
    "metrics": METRICS,
}


def builtin_locations() -> tuple[str, ...]:
    """Every module that registers built-in builders, each once."""
    return tuple(dict.fromkeys(module for found in REGISTRIES.values() for module in found.locations))
