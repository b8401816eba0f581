"""Tables that keep run ids whole: on a terminal too narrow for all columns the least needed go (a note says which)
instead of every column being squeezed to nothing, and where not even the columns that must stay fit each row is
printed as a few lines; off a terminal (a pipe, a log) the table is as wide as its contents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from learnai_cli.cli._shared import stdout

WRAPPED_WIDTH = 24  # a long cell (a damaged run's reason) wraps to this rather than pushing columns out


@dataclass
class Layout:
    """How a table gives way: `whole` is the column never wrapped (the run ids), `drop_order` the columns a narrow
    terminal loses first, `right_aligned` the columns of numbers, `styles` one Rich style (or None) per row."""

    whole: str = "id"
    drop_order: Sequence[str] = ()
    right_aligned: Sequence[str] = ()
    styles: Sequence[str | None] = ()


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], layout: Layout) -> None:
    """Print rows under headers, as wide as the terminal allows without cutting a cell."""
    shown = list(headers)
    if stdout.is_terminal:
        for header in layout.drop_order:
            if _needed_width(headers, rows, shown, layout.whole) <= stdout.width:
                break
            shown.remove(header)
        if _needed_width(headers, rows, shown, layout.whole) > stdout.width:
            _print_records(title, headers, rows, layout.whole)
            return
    table = Table(title=title)
    for header in shown:
        justify = "right" if header in layout.right_aligned else "left"
        # the ids stay on one line; other cells wrap whole, never cut off with an ellipsis
        table.add_column(header, no_wrap=header == layout.whole, overflow="fold", justify=justify)
    keep = [headers.index(h) for h in shown]
    for number, row in enumerate(rows):
        style = layout.styles[number] if number < len(layout.styles) else None
        table.add_row(*(Text(row[i]) for i in keep), style=style)
    if stdout.is_terminal:
        stdout.print(table)
    else:
        _print_unsqueezed(table, _needed_width(headers, rows, shown, layout.whole, wrapped=None))
    hidden = [h for h in headers if h not in shown]
    if hidden:
        note = f"(left out on this narrow terminal: {', '.join(hidden)}; --json has every field)"
        stdout.print(note, highlight=False, soft_wrap=False)  # wrapped at a word, within the terminal


def _print_unsqueezed(table: Table, width: int) -> None:
    """Off a terminal, the table at least as wide as its cells (a log line may be long; a cut cell is lost)."""
    usual = stdout.width
    stdout.width = max(usual, width)  # Console.print(width=) cannot go past the console's own width
    try:
        stdout.print(table)
    finally:
        stdout.width = usual


def _print_records(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], whole: str) -> None:
    """Each row as its id on a line of its own, then a line per other cell: for terminals narrower than the
    columns that must stay."""
    stdout.print(title, style="italic", highlight=False)
    first = headers.index(whole)
    for row in rows:
        stdout.print(Text(row[first], style="bold"), highlight=False, soft_wrap=True)  # the id whole, for copying
        for header, cell in zip(headers, row):
            if cell and header != whole:
                stdout.print(Text(f"  {header}: {cell}"), highlight=False)


def _needed_width(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    shown: Sequence[str],
    whole: str,
    wrapped: int | None = WRAPPED_WIDTH,
) -> int:
    """Characters a table of these columns needs: the ids whole, other cells whole up to `wrapped` (None: all
    whole), padding and rules."""
    width = 1
    for header in shown:
        column = headers.index(header)
        lines = [line for row in rows for line in row[column].splitlines() or [""]]
        longest = max([cell_len(header)] + [cell_len(line) for line in lines])  # wide characters take two cells
        if header != whole and wrapped is not None:
            longest = min(longest, max(cell_len(header), wrapped))
        width += longest + 3
    return width
