"""`learnai init`: a new config from a shipped one or one of yours, comments kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from learnai_cli.cli._shared import JsonOption, emit, reporting_errors, stderr, stdout


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
