"""The layout's rules, checked on the source: what may import what, and how big a module or function may grow."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "learnai_cli"
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60


def modules() -> dict[str, Path]:
    """learnai_cli.x.y -> its file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(path: Path) -> set[str]:
    """Every learnai_cli module a file imports, at the top or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith("learnai_cli")}


# Layer -> the packages/modules it must never import.
FORBIDDEN = {
    "learnai_cli.engine": ("learnai_cli.cli", "learnai_cli.commands", "learnai_cli.rundir", "learnai_cli.recorders"),
    "learnai_cli.recorders": ("learnai_cli.cli", "learnai_cli.commands"),
    "learnai_cli.commands": ("learnai_cli.cli",),
    "learnai_cli.models": ("learnai_cli.cli", "learnai_cli.commands", "learnai_cli.rundir", "learnai_cli.engine"),
    "learnai_cli.data": ("learnai_cli.cli", "learnai_cli.commands", "learnai_cli.rundir", "learnai_cli.engine"),
    "learnai_cli.plots": ("learnai_cli.commands", "learnai_cli.engine", "learnai_cli.cli"),
    "learnai_cli.compare_plots": ("learnai_cli.commands", "learnai_cli.engine", "learnai_cli.cli"),
    "learnai_cli.rundir": ("learnai_cli.commands", "learnai_cli.engine", "learnai_cli.cli"),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_import_rules(layer):
    broken = []
    for name, path in modules().items():
        if name == layer or name.startswith(layer + "."):
            for target in imported(path):
                if target.startswith(FORBIDDEN[layer]):
                    broken.append(f"{path.relative_to(REPO)} imports {target}")
    assert not broken, "\n".join(broken)


def test_run_file_names_are_spelled_only_in_the_run_directory_module():
    names = ("metrics.jsonl", "predictions.jsonl", "last.pt", "best.pt", "eval.json", "meta.json", "loss.png")
    spelled = [
        f"{path.relative_to(REPO)}: {name}"
        for module, path in modules().items()
        if module != "learnai_cli.rundir"
        for name in names
        if f'"{name}"' in path.read_text() or f'"checkpoints/{name}"' in path.read_text()
    ]
    assert not spelled, "\n".join(spelled)


def test_no_module_or_function_is_too_long():
    too_long = []
    for path in modules().values():
        source = path.read_text()
        if source.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(REPO)}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}() is {length} lines")
    assert not too_long, "\n".join(too_long)


@pytest.mark.parametrize("check", [["check"], ["format", "--check"]])
def test_ruff(check):
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")  # a dev dependency
    assert ruff, "ruff is missing: pip install -c constraints.txt -e '.[dev]'"
    done = subprocess.run([ruff, *check, "."], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


# What docs/extending.md shows a plugin author: these modules say what is public.
PUBLIC_API = ("learnai_cli.registry", "learnai_cli.data.splits", "learnai_cli.engine.callbacks", "learnai_cli.errors")


@pytest.mark.parametrize("name", PUBLIC_API)
def test_the_public_api_modules_declare_what_is_public(name):
    import importlib

    module = importlib.import_module(name)
    assert module.__all__ and all(hasattr(module, exported) for exported in module.__all__)
