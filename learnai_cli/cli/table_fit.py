"""Tables that keep every run id whole: on a terminal too narrow for all columns the least needed go (a note says
which) instead of every column being squeezed to nothing, and where not even the id and one more column fit each
run is printed as a few lines; off a terminal (a pipe, a log) the table is as wide as its contents."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from learnai_cli.cli._shared import stdout

WRAPPED_WIDTH = 24  # a long cell (a damaged run's reason) wraps to this rather than pushing columns out


def print_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    drop_order: Sequence[str] = (),
    right_aligned: Sequence[str] = (),
) -> None:
    """Print rows under headers; the first column (run ids) never wraps. `drop_order` names the columns a narrow
    terminal loses first; `right_aligned` the columns of numbers."""
    shown = list(headers)
    if stdout.is_terminal:
        for header in drop_order:
            if _needed_width(headers, rows, shown) <= stdout.width:
                break
            shown.remove(header)
        if _needed_width(headers, rows, shown[:2]) > stdout.width:
            _print_records(title, headers, rows)
            return
    table = Table(title=title)
    for header in shown:
        justify = "right" if header in right_aligned else "left"
        # the id stays on one line; other cells wrap whole, never cut off with an ellipsis
        table.add_column(header, no_wrap=header == headers[0], overflow="fold", justify=justify)
    keep = [headers.index(h) for h in shown]
    for row in rows:
        table.add_row(*(Text(row[i]) for i in keep))
    if stdout.is_terminal:
        stdout.print(table)
    else:
        _print_unsqueezed(table, _needed_width(headers, rows, shown, wrapped=None))
    hidden = [h for h in headers if h not in shown]
    if hidden:
        stdout.print(
            f"(left out on this narrow terminal: {', '.join(hidden)}; --json has every field)", highlight=False
        )


def _print_unsqueezed(table: Table, width: int) -> None:
    """Off a terminal, the table at least as wide as its cells (a log line may be long; a cut cell is lost)."""
    usual = stdout.width
    stdout.width = max(usual, width)  # Console.print(width=) cannot go past the console's own width
    try:
        stdout.print(table)
    finally:
        stdout.width = usual


def _print_records(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Each row as its id on a line of its own, then a line per other cell: for terminals narrower than an id and a
    cell."""
    stdout.print(title, style="italic", highlight=False)
    for row in rows:
        stdout.print(Text(row[0], style="bold"), highlight=False)
        for header, cell in zip(headers[1:], row[1:]):
            if cell:
                stdout.print(Text(f"  {header}: {cell}"), highlight=False)


def _needed_width(
    headers: Sequence[str], rows: Sequence[Sequence[str]], shown: Sequence[str], wrapped: int | None = WRAPPED_WIDTH
) -> int:
    """Characters a table of these columns needs: the ids whole, other cells whole up to `wrapped` (None: all
    whole), padding and rules."""
    width = 1
    for header in shown:
        column = headers.index(header)
        longest = max([len(header)] + [len(line) for row in rows for line in row[column].splitlines() or [""]])
        if column and wrapped is not None:
            longest = min(longest, max(len(header), wrapped))
        width += longest + 3
    return width
