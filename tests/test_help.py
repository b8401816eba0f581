"""Every command's --help shows what to type: flags with nothing after them, options with their metavar, arguments by
NAME (in the usage line too), never a Python type such as `<bool>`, `<str>` or `<list[str]>`."""

from __future__ import annotations

import re

import pytest
import typer.main
from typer.testing import CliRunner

from learnai_cli.cli import app

GROUP = typer.main.get_command(app)
COMMANDS = sorted(GROUP.commands)
# What Typer writes when a parameter has no metavar: its annotation in angle brackets.
TYPE_LABEL = re.compile(r"<(bool|str|int|float|path|file|uuid|datetime|choice|tuple|list\[[^>]*\]|(int|float) range)>")


def help_text(*words: str) -> str:
    result = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_shows_no_python_types(command):
    text = help_text(*([command] if command else []))
    assert not TYPE_LABEL.search(text), f"learnai {command} --help shows {TYPE_LABEL.search(text).group()}:\n{text}"
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert "{" not in usage and "}" not in usage, usage


@pytest.mark.parametrize("command", COMMANDS)
def test_every_argument_has_an_upper_case_name_and_every_value_option_a_metavar(command):
    """The same, from the parameters: a new option without a metavar would show Typer's `<str>`."""
    for param in GROUP.commands[command].params:
        if param.param_type_name == "argument":
            assert param.metavar and param.metavar == param.metavar.upper(), f"{command}: argument {param.name}"
        elif not param.is_flag:
            assert param.metavar, f"learnai {command} {param.opts[0]} needs a metavar (what to type, e.g. N or DIR)"


@pytest.mark.parametrize("command", ["train", "plot"])
def test_short_help_option_works_like_help(command):
    result = CliRunner().invoke(app, [command, "-h"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "Usage:" in result.output and help_text(command) == result.output
