"""Helpers shared by the hostile-input tests (tests/test_hostile_*.py): run the CLI, snapshot files, check refusals."""

from __future__ import annotations

import traceback
from pathlib import Path

import yaml

from learnai_cli.cli import app

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"


def invoke(cli, *args) -> tuple[int, str]:
    """Run `learnai ARGS` in-process; an exception that escapes the CLI is returned as a traceback in the output."""
    result = cli.runner.invoke(
        app, [str(a) for a in args], env={"LEARNAI_RUNS_DIR": str(cli.runs_dir)}, catch_exceptions=True
    )
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        output += "\nTraceback (most recent call last):\n" + "".join(traceback.format_exception(result.exception))
    return result.exit_code, output


def assert_refused(code: int, output: str, needles, expected: int | tuple[int, ...] = 2) -> None:
    """Exit in `expected`, no traceback, and the message holds one of `needles` (each a str or tuple of alternatives)."""
    expected = expected if isinstance(expected, tuple) else (expected,)
    tail = output[-4000:]
    assert "Traceback" not in output, f"a traceback reached the user (exit {code}):\n{tail}"
    assert code in expected, f"exit {code}, expected {expected}:\n{tail}"
    lowered = output.lower()
    for needle in needles:
        options = needle if isinstance(needle, tuple) else (needle,)
        assert any(o.lower() in lowered for o in options), f"message names none of {options}:\n{tail}"


def snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    """Every file (size, mtime) under the folders, bytecode caches aside."""
    files = {}
    for folder in folders:
        if folder.exists():
            for path in folder.rglob("*"):
                if path.is_file() and "__pycache__" not in path.parts:
                    stat = path.stat()
                    files[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return files


def tiny_config(folder: Path, base: str, changes: dict, name: str = "cfg") -> Path:
    """A shipped config with some sections changed, written to folder/<name>.yaml."""
    raw = yaml.safe_load((CONFIGS / f"{base}.yaml").read_text())
    for section, values in changes.items():
        if isinstance(values, dict) and isinstance(raw.get(section), dict):
            raw[section] = {**raw[section], **values}
        else:
            raw[section] = values
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path
