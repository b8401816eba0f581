"""`learnai config` (validate a config, print it resolved) and `learnai schema` (its JSON Schema)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List, Optional

import typer

from learnai_cli.cli._shared import (
    OVERRIDES_HELP,
    JsonOption,
    PluginOption,
    emit,
    print_json,
    reporting_errors,
    stdout,
)


def config(
    config_path: Path = typer.Argument(..., help="Experiment YAML file.", metavar="CONFIG"),
    overrides: Optional[List[str]] = typer.Argument(None, help=OVERRIDES_HELP, show_default=False, metavar="KEY=VALUE"),
    plugin: Optional[List[str]] = PluginOption,
    json_output: bool = JsonOption,
) -> None:
    """Validate a config without training: build the model (and, when the data is at hand, check one batch through
    it); print it resolved."""
    from learnai_cli.commands.validate import check_config

    with reporting_errors(json_output):
        emit(check_config(config_path, overrides or [], plugin or []), json_output, _render_config)


def _render_config(result: dict[str, Any]) -> None:
    import yaml

    stdout.print(yaml.safe_dump(result["config"], sort_keys=False), highlight=False, end="")
    stdout.print(f"# model parameters: {result['parameters']:,}; {result['data_check']}", highlight=False)


def schema(json_output: bool = JsonOption) -> None:
    """Print the config file's JSON Schema (for editors: YAML language server's `# yaml-language-server:
    $schema=...`)."""
    from learnai_cli.config import config_schema

    if json_output:  # the one JSON object of --json, like every other command
        print_json({"ok": True, "schema": config_schema()})
    else:
        print(json.dumps(config_schema(), indent=2))
