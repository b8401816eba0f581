"""Plugins: user modules or .py files, named by a config, whose decorators register builders.

Plugins run code by design; they are imported only when a config's `plugins:` (or `--plugin`) names them, or when
a loss names a file beside the config (`my_losses.py:focal`). A `module:name` reference never imports anything:
its module must already be one of the config's plugins.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
import traceback
from pathlib import Path
from typing import Any, Sequence

from learnai_cli.errors import clip, short_repr

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
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # a plugin's own bug (even sys.exit) must read as a config problem
            problems.append(f"plugins: cannot load '{clip(spec)}': {describe_exception(error)}")
    return resolved, problems


def describe_exception(error: BaseException) -> str:
    """ "KeyError: 'x' (my_plugin.py:12)": the exception, its message and the line of the user's code that raised it
    (frames of Python, installed packages and learnai itself are left out)."""
    message = (str(error).strip().splitlines() or [""])[0]
    text = f"{type(error).__name__}: {short_repr(message) if len(message) > 300 else message}".rstrip(": ")
    own = [f for f in traceback.extract_tb(error.__traceback__) if is_user_file(f.filename)]
    return text + (f" ({own[-1].filename}:{own[-1].lineno})" if own else "")


def is_user_file(filename: str) -> bool:
    system = (sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(__file__).parents[1]))
    return not filename.startswith("<") and not any(filename.startswith(prefix) for prefix in system)


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


class ReferenceRefused(ValueError):
    """A `module:name` reference outside the code the user opted into, or to something that module did not define."""


def resolve_reference(reference: str, base_dir: Path, plugin_specs: Sequence[str] = ()) -> tuple[str, object]:
    """'module:name' or 'file.py:name' -> (the reference with the file made absolute, the function or class it names).

    `module` must be one of `plugin_specs` (already imported by the config's `plugins:`); it is never imported here.
    A `file.py` (relative to the config's folder) is imported: naming it opts into its code, as `plugins:` does.
    The object must be a function or class defined in that module, not one it merely imported.
    """
    location, _, attribute = reference.rpartition(":")
    if not location or not attribute.isidentifier():
        raise ReferenceRefused(f"{short_repr(reference)} must look like file.py:name or module:name")
    if location.endswith(".py"):
        resolved = load(location, base_dir)
        module = sys.modules[_loaded_files[Path(resolved)]]
        where = location
    else:
        modules = [spec for spec in plugin_specs if not spec.endswith(".py")]
        if location not in modules:
            raise ReferenceRefused(
                f"module {short_repr(location)} is not one of the config's plugins, so nothing is imported from it; "
                "name a function or class defined in a file beside the config (my_losses.py:name) or in a module "
                f"listed in plugins: ({', '.join(modules) or 'none listed'})"
            )
        resolved, module, where = location, sys.modules.get(location) or importlib.import_module(location), location
    target = vars(module).get(attribute)
    if target is None:
        raise ReferenceRefused(f"{short_repr(where)} has no '{attribute}'")
    defined = inspect.isfunction(target) or inspect.isclass(target)
    if not defined or target.__module__ != module.__name__:
        origin = f"it comes from {short_repr(target.__module__)}" if defined else f"it is a {type(target).__name__}"
        raise ReferenceRefused(
            f"'{attribute}' is not a function or class defined in {short_repr(where)} ({origin}); only what the "
            "plugin itself defines can be named"
        )
    return f"{resolved}:{attribute}", target
