"""`learnai list`: what a config can name (models, datasets, losses, ...), with arguments and defaults."""

from __future__ import annotations

from typing import Any, List, Optional

import typer
from rich.table import Table
from rich.text import Text

from learnai_cli.cli._shared import JsonOption, PluginOption, emit, reporting_errors, stdout

KINDS_HELP = "One of: models, datasets, losses, optimizers, schedulers, metrics. All when left out."


def list_builders(
    kind: Optional[str] = typer.Argument(None, help=KINDS_HELP, metavar="KIND"),
    plugin: Optional[List[str]] = PluginOption,
    json_output: bool = JsonOption,
) -> None:
    """Show what configs can name: registered builders, their arguments with defaults, one line of docs."""
    from learnai_cli.commands.list import list_builders as listing

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
