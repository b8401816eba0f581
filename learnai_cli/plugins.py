"""Plugins: user modules or .py files, named by a config, whose decorators register builders.

Plugins run code by design; they are imported only when a config's `plugins:` names them.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import traceback
from pathlib import Path
from typing import Any

from learnai_cli.errors import clip

_loaded_files: dict[Path, str] = {}


def load_all(specs: Any, base_dir: Path) -> tuple[list[str], list[str]]:
    """Import each plugin once; returns the specs as they resolve (files made absolute) and problems."""
    if specs is None:
        return [], []
    if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
        return [], []  # the schema reports the wrong type
    resolved, problems = [], []
    for spec in specs:
        try:
            resolved.append(load(spec, base_dir))
        except Exception as error:  # a plugin's own bug must read as a config problem, not a crash
            frame = traceback.extract_tb(error.__traceback__)[-1]
            problems.append(
                f"plugins: cannot load '{clip(spec)}': {type(error).__name__}: {clip(str(error), 300)} "
                f"({frame.filename}:{frame.lineno})"
            )
    return resolved, problems


def load(spec: str, base_dir: Path) -> str:
    """Import a module name (`my_pkg.models`) or a file path (`models.py`, relative to the config)."""
    if spec.endswith(".py"):
        path = (base_dir / spec).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"no such file {path}")
        _import_file(path)
        return str(path)
    importlib.import_module(spec)
    return spec


def _import_file(path: Path) -> None:
    if path in _loaded_files:
        return  # already registered its builders; importing again would register them twice
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    module_name = f"learnai_plugin_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    _loaded_files[path] = module_name


def resolve_reference(reference: str, base_dir: Path) -> tuple[str, object]:
    """'module:name' or 'file.py:name' -> (the reference with the file made absolute, the object it names)."""
    location, _, attribute = reference.rpartition(":")
    if not location or not attribute:
        raise ValueError(f"'{reference}' must look like module:name or file.py:name")
    resolved = load(location, base_dir)
    module = (
        sys.modules[_loaded_files[Path(resolved)]] if resolved.endswith(".py") else importlib.import_module(resolved)
    )
    if not hasattr(module, attribute):
        raise AttributeError(f"{location} has no '{attribute}'")
    return f"{resolved}:{attribute}", getattr(module, attribute)
