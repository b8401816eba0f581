"""`learnai init`, `schema` and `list`: starting a config and finding what it can name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.table import Table
from rich.text import Text

from learnai_cli.cli._shared import JsonOption, PluginOption, emit, print_json, reporting_errors, stderr, stdout

KINDS_HELP = "One of: models, datasets, losses, optimizers, schedulers, metrics. All when left out."


def init(
    name: str = typer.Argument(
        ..., help="Name of the new experiment (and of its file, DIR/NAME.yaml).", metavar="NAME", show_default=False
    ),
    template: str = typer.Option(
        "linear_regression",
        "--from",
        help="A shipped config's name (see the error for the list) or a path to a config file of yours.",
        metavar="NAME|PATH",
    ),
    directory: Path = typer.Option(Path("configs"), "--dir", help="Where to write the new config.", metavar="DIR"),
    json_output: bool = JsonOption,
) -> None:
    """Write a new config from a shipped one or from a config file of yours, comments included."""
    from learnai_cli.commands.init import init_config

    with reporting_errors(json_output):
        path, warnings = init_config(name, template, directory)
        emit({"config": str(path), "warnings": warnings}, json_output, _render_init)


def _render_init(result: dict[str, Any]) -> None:
    for warning in result["warnings"]:
        stderr.print(Text("warning: ", style="bold yellow") + Text(warning))
    stdout.print(Text(f"wrote {result['config']}; try: learnai config {result['config']}"))


def schema(json_output: bool = JsonOption) -> None:
    """Print the config file's JSON Schema (for editors: YAML language server's `# yaml-language-server:
    $schema=...`)."""
    from learnai_cli.config import config_schema

    if json_output:  # the one JSON object of --json, like every other command
        print_json({"ok": True, "schema": config_schema()})
    else:
        print(json.dumps(config_schema(), indent=2))


def list_builders(
    kind: Optional[str] = typer.Argument(None, help=KINDS_HELP, metavar="KIND"),
    plugin: Optional[List[str]] = PluginOption,
    json_output: bool = JsonOption,
) -> None:
    """Show what configs can name: registered builders, their arguments with defaults, one line of docs."""
    from learnai_cli.commands.listing import list_builders as listing

    with reporting_errors(json_output):
        emit(listing(kind, plugin or []), json_output, _render_listing)


def _render_listing(listing: dict[str, Any]) -> None:
    for kind, entries in listing.items():
        table = Table(title=kind, show_lines=False)
        table.add_column("name", style="bold")
        table.add_column("arguments")
        table.add_column("description")
        for entry in entries:  # Text: no markup in [brackets]
            table.add_row(Text(entry["name"]), Text("\n".join(entry["arguments"])), Text(entry["summary"]))
        stdout.print(table)
