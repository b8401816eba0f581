"""How `--help` shows parameters: what to type, never a Python type.

Typer labels every parameter with its annotation (`--json <bool>`, `RUN_ID <str>`, `overrides <list[str]>`) and
writes required arguments as `{RUN_ID}` in the usage line. Here a flag shows nothing after its name, an argument
shows only its NAME (in the usage line too: `RUN_ID`, `[CONFIG]`, `[KEY=VALUE]...`), and an option that takes a
value shows the metavar its definition gives (tests/test_help.py checks every command for leftovers).
"""

from __future__ import annotations

import typer.core

__all__ = ["Command", "Group"]


class _NamedArgument(typer.core.TyperArgument):
    """An argument shown by its metavar alone: the name says what to type; `<str>` says nothing."""

    def display_type_rich(self, ctx) -> None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if not self.required:
            name = f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")


def _without_types(params: list) -> list:
    """The parameters of a command, each set to show no Python type in help."""
    for param in params:
        if isinstance(param, typer.core.TyperArgument):
            param.__class__ = _NamedArgument  # same state, only the two display methods differ
        elif getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""  # a flag takes no value: nothing to show after its name
    return params


class Command(typer.core.TyperCommand):
    """Every learnai command: help that shows what to type."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.help and not self.short_help:  # `learnai --help` lists the first paragraph re-wrapped, not its lines
            self.short_help = " ".join(self.help.split("\n\n")[0].split())

    def get_params(self, ctx) -> list:
        return _without_types(super().get_params(ctx))


class Group(typer.core.TyperGroup):
    """The `learnai` group: its own options (--version, --install-completion, --help) shown the same way."""

    def get_params(self, ctx) -> list:
        return _without_types(super().get_params(ctx))
