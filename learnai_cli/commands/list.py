"""`learnai list`: what configs can name. The built-in builders are read from their source without importing
them (importing imports torch, seconds; `ast` takes milliseconds); with plugins, from the live registries.
A test checks the source listing against the live registries.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Any, Optional

from learnai_cli import registry
from learnai_cli.errors import UsageError, did_you_mean

# The variable each registry has in the builder modules (MODELS...) and its `learnai list` kind (models...).
REGISTRY_KINDS = {
    variable: kind
    for kind, found in registry.REGISTRIES.items()
    for variable, value in vars(registry).items()
    if value is found
}


def list_builders(kind: Optional[str], plugin_specs: list[str]) -> dict[str, list[dict[str, Any]]]:
    """{kind: [{name, arguments, summary}]} for one kind or all of them."""
    kinds = list(registry.REGISTRIES)
    if kind is not None and kind not in kinds:
        raise UsageError(f"unknown kind '{kind}'.{did_you_mean(kind, kinds)} Valid: {', '.join(kinds)}")
    chosen = [kind] if kind else kinds
    if not plugin_specs:
        provided = {name: found.provided for name, found in registry.REGISTRIES.items()}
        catalog = builtin_catalog(registry.builtin_locations(), provided)
        return {name: catalog[name] for name in chosen}
    from learnai_cli.registry import (
        plugins,  # plugins must be imported to be seen; they (and so the built-ins) import torch
    )

    _, problems = plugins.load_all(plugin_specs, Path.cwd())
    if problems:
        raise UsageError("cannot load plugins", problems)
    return {name: _describe_registry(registry.REGISTRIES[name]) for name in chosen}


def _describe_registry(found: registry.Registry) -> list[dict[str, Any]]:
    entries = [found.get(name) for name in found.names()]
    return [{"name": e.name, "arguments": e.describe_arguments(), "summary": e.summary} for e in entries]


def builtin_catalog(modules: tuple[str, ...], provided: dict[str, tuple[str, ...]]) -> dict[str, list[dict]]:
    """{kind: [{name, arguments, summary}]} for every builder registered in `modules`, sorted by name."""
    catalog: dict[str, list[dict]] = {kind: [] for kind in REGISTRY_KINDS.values()}
    for module in modules:
        for kind, entry in _entries(_source_path(module), provided):
            catalog[kind].append(entry)
    return {kind: sorted(entries, key=lambda e: e["name"]) for kind, entries in catalog.items()}


def _source_path(module: str) -> Path:
    spec = importlib.util.find_spec(module)  # imports only the (light) parent packages
    return Path(spec.origin)


def _entries(path: Path, provided: dict[str, tuple[str, ...]]):
    tree = ast.parse(path.read_text(), filename=str(path))
    aliases = _type_aliases(tree)
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            registry_name, name = _registration(decorator, node.name)
            if registry_name in REGISTRY_KINDS:
                kind = REGISTRY_KINDS[registry_name]
                arguments = _arguments(node, set(provided.get(kind, ())), aliases)
                summary = (ast.get_docstring(node) or "").strip().splitlines()
                yield kind, {"name": name, "arguments": arguments, "summary": summary[0] if summary else ""}


def _registration(decorator: ast.expr, function_name: str) -> tuple[str | None, str]:
    """('MODELS', 'basic_cnn') for `@MODELS.register("basic_cnn", ...)`."""
    if not (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr == "register"
    ):
        return None, function_name
    owner = decorator.func.value
    first = decorator.args[0] if decorator.args else None
    name = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else function_name
    return (owner.id if isinstance(owner, ast.Name) else None), name


def _type_aliases(tree: ast.Module) -> dict[str, str]:
    """Module-level `Activation = Literal[...]` assignments, so listings show what an alias allows."""
    aliases = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            aliases[node.targets[0].id] = ast.unparse(node.value)
    return aliases


def _arguments(function: ast.FunctionDef, hidden: set[str], aliases: dict[str, str]) -> list[str]:
    positional = function.args.posonlyargs + function.args.args
    defaults = [None] * (len(positional) - len(function.args.defaults)) + list(function.args.defaults)
    pairs = list(zip(positional, defaults)) + list(zip(function.args.kwonlyargs, function.args.kw_defaults))
    described = []
    for argument, default in pairs:
        if argument.arg in hidden:
            continue
        text = argument.arg
        if argument.annotation is not None:
            annotation = ast.unparse(argument.annotation)
            text += f": {aliases.get(annotation, annotation)}"
        if default is not None:
            text += f" = {_default_text(default, aliases)}"
        described.append(text)
    return described


def _default_text(default: ast.expr, constants: dict[str, str]) -> str:
    """A default as a config would write it: module constants resolved, tuples shown as YAML lists."""
    source = constants.get(default.id, default.id) if isinstance(default, ast.Name) else ast.unparse(default)
    try:
        value = ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return source
    return repr(list(value)) if isinstance(value, tuple) else repr(value)
