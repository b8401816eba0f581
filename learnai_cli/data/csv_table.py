"""Your own CSV as a dataset: `data: {name: csv, path: table.csv, target: price}`.

The header, the task (classification or regression) and the class names are read from the file; features are
standardised with the training split's statistics once train/val/test are carved.
"""

from __future__ import annotations

import csv
import functools
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional, Union

import numpy as np
import torch

from learnai_cli.data.splits import DatasetSplits, TensorSplit, parse_row, standardize_features
from learnai_cli.data.tabular import FLOAT32_MAX, _cell_problem, _shown, read_text
from learnai_cli.errors import DataError, did_you_mean, short_repr
from learnai_cli.registry import DATASETS, ArgumentError

# What spreadsheets and pandas write for a missing value; in a column of numbers such a cell is a gap, not a class.
MISSING_MARKERS = frozenset({"na", "n/a", "#n/a", "null", "none", "nil", "missing", "?", "-", "<na>"})

# An integer target with at most this many distinct values (and fewer than half the rows) is a class label.
MAX_INFERRED_CLASSES = 20

Column = Union[str, int]


@dataclass(frozen=True)
class Table:
    """A CSV's cells as text: column names (the header's, or "0", "1", ... without one) and numbered rows."""

    path: Path
    names: list[str]
    header: bool
    rows: list[tuple[int, list[str]]]  # (line number in the file, cells)

    def label(self, column: int) -> str:
        """How messages name a column: by its header name, else by its 0-based index (as configs do)."""
        return f"column {self.names[column]!r}" if self.header else f"column index {column}"

    def where(self, line: int, column: int) -> str:
        return f"CSV {_shown(self.path)}: row {line}, {self.label(column)}"


def read_table(path: Path) -> Table:
    """The cells of a CSV; the first row is a header when any of its cells is not a number. Only \\n, \\r\\n and \\r
    end a row (newline='' semantics: a form feed or U+2028 inside a cell is text), and a leading BOM is dropped."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    rows = [(reader.line_num, [c.strip() for c in cells]) for cells in reader if any(c.strip() for c in cells)]
    if not rows:
        raise DataError(f"CSV {_shown(path)} is empty: expected rows of comma-separated values (a header row first)")
    width = len(rows[0][1])
    for line, cells in rows:
        if len(cells) != width:
            raise DataError(
                f"CSV {_shown(path)}: row {line} has {len(cells)} columns, but row {rows[0][0]} has {width}"
            )
    header = any(_cell_problem(cell) == "is not a number" for cell in rows[0][1])
    names = rows[0][1] if header else [str(i) for i in range(width)]
    body = rows[1:] if header else rows
    if not body:
        raise DataError(f"CSV {_shown(path)} has a header ({', '.join(names)}) but no rows of data")
    if width < 2:
        raise DataError(f"CSV {_shown(path)} has one column; it needs at least one feature column and a target")
    return Table(Path(path), names, header, body)


def resolve_column(table: Table, column: Column, argument: str) -> int:
    """A column's index from its header name or its index (negative counts from the end)."""
    width = len(table.names)
    if isinstance(column, str) and column in table.names:
        return table.names.index(column)
    if isinstance(column, str) and not column.lstrip("-").isdigit():
        hint = "" if table.header else " (the file has no header row: give a 0-based index)"
        raise ArgumentError(
            argument,
            f"CSV {_shown(table.path)} has no column {short_repr(column)}{hint}.{did_you_mean(column, table.names)} "
            f"Columns: {', '.join(table.names)}",
        )
    index = int(column)
    if not -width <= index < width:
        raise ArgumentError(
            argument,
            f"column index {index} is out of range: CSV {_shown(table.path)} has {width} columns "
            f"(0 to {width - 1}, or -1 for the last): {', '.join(table.names)}",
        )
    return index % width


def feature_matrix(table: Table, columns: list[int]) -> torch.Tensor:
    """The feature cells as float32 (N, F); a cell that is not a finite number names its row and column."""
    cells = [[cells[i] for i in columns] for _, cells in table.rows]
    try:
        values = np.asarray(cells, dtype=np.float64)
        if np.isfinite(values).all() and (np.abs(values) <= FLOAT32_MAX).all():
            return torch.from_numpy(values.astype(np.float32))
    except ValueError:
        pass
    for line, row in table.rows:
        for column in columns:
            problem = _cell_problem(row[column])
            if problem:
                raise DataError(
                    f"{table.where(line, column)}: {short_repr(row[column])} {problem}; features must be numbers "
                    "(leave this column out with data.features, or encode it as numbers)"
                )
    raise DataError(f"CSV {_shown(table.path)} holds values that are not finite numbers")  # not reached


def target_values(table: Table, column: int, task: str) -> tuple[torch.Tensor, Optional[list[str]], str]:
    """(targets, class names or None, task): class ids for classification, floats (N, 1) for regression."""
    cells = [(line, row[column]) for line, row in table.rows]
    numeric = [_number(cell) for _, cell in cells]
    _refuse_missing_targets(table, column, cells, numeric)
    if task == "auto":
        task = _inferred_task(numeric)
    if task == "regression":
        for (line, cell), value in zip(cells, numeric):
            if value is None:
                problem = _cell_problem(cell) or "is not a number"
                raise DataError(
                    f"{table.where(line, column)}: {short_repr(cell)} {problem}; a regression target must be a number "
                    "(set data.task: classification for class labels)"
                )
        return torch.tensor(numeric, dtype=torch.float32).view(-1, 1), None, task
    if all(value is not None for value in numeric):
        classes = sorted(set(numeric))
        names, index = [_number_text(v) for v in classes], {v: i for i, v in enumerate(classes)}
        ids = [index[v] for v in numeric]
    else:
        names = sorted({cell for _, cell in cells})
        index = {name: i for i, name in enumerate(names)}
        ids = [index[cell] for _, cell in cells]
    if len(names) < 2:
        raise DataError(
            f"CSV {_shown(table.path)}: target {table.label(column)} holds one class ({names[0]!r}) in all "
            f"{len(cells)} rows, so there is nothing to tell apart; pick another data.target"
        )
    return torch.tensor(ids, dtype=torch.long), names, task


def _refuse_missing_targets(table: Table, column: int, cells: list, numeric: list[Optional[float]]) -> None:
    """An empty, NaN or infinite target, or a missing-value marker (NA, null, ...) among numbers, is a gap in the
    data: training on it would make it a class of its own (or turn a regression into one class per value)."""
    among_numbers = all(
        value is not None or cell.lower() in MISSING_MARKERS for (_, cell), value in zip(cells, numeric)
    )
    for line, cell in cells:
        gap = _missing_kind(cell, among_numbers)
        if gap:
            raise DataError(
                f"{table.where(line, column)}: the target {gap}; every row needs a target value (remove the row, "
                "or fill it in)"
            )


def _missing_kind(cell: str, among_numbers: bool) -> Optional[str]:
    if not cell:
        return "is empty"
    try:
        value = float(cell)
    except ValueError:
        marker = among_numbers and cell.lower() in MISSING_MARKERS
        return f"is {short_repr(cell)}, a missing value in a column of numbers" if marker else None
    if not math.isfinite(value):
        return f"is {short_repr(cell)}, not a finite number (NaN and infinities mark missing values)"
    if abs(value) > FLOAT32_MAX:
        return f"is {short_repr(cell)}, too large for float32 (at most about 3.4e38)"
    return None


def _number(cell: str) -> Optional[float]:
    return None if _cell_problem(cell) else float(cell)


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _inferred_task(numeric: list[Optional[float]]) -> str:
    """Classification for text labels, or integers with few distinct values (<= 20, fewer than half the rows)."""
    if any(value is None for value in numeric):
        return "classification"
    distinct = set(numeric)
    few = len(distinct) <= MAX_INFERRED_CLASSES and len(distinct) < len(numeric) / 2
    return "classification" if few and all(value.is_integer() for value in distinct) else "regression"


@DATASETS.register("csv", task="auto", paths=("path",))
def csv_table(
    path: str,
    target: Column = -1,
    features: Optional[list[Column]] = None,
    task: Literal["auto", "classification", "regression"] = "auto",
    standardize: bool = True,
) -> DatasetSplits:
    """Your own CSV: target column by name or 0-based index (default: the last), features (default: the others).

    A first row with text is a header. task auto: text or few distinct integers make a classification (class names
    sorted), else regression. standardize scales features by the training split's mean and std."""
    table = read_table(Path(path))
    target_column = resolve_column(table, target, "target")
    if features is None:
        columns = [i for i in range(len(table.names)) if i != target_column]
    else:
        columns = list(dict.fromkeys(resolve_column(table, column, "features") for column in features))
        if target_column in columns or not columns:
            problem = "includes the target column" if columns else "is empty"
            raise ArgumentError("features", f"features {problem}; list the columns to learn from")
    inputs = feature_matrix(table, columns)
    targets, class_names, chosen = target_values(table, target_column, task)
    feature_names = [table.names[i] for i in columns]
    info = {"target_column": table.names[target_column], "feature_columns": feature_names, "task": chosen}
    return DatasetSplits(
        train=TensorSplit(inputs, targets),
        class_names=class_names,
        info=info,
        task=chosen,
        encode_input=functools.partial(parse_row, feature_names=feature_names),
        after_carve=functools.partial(standardize_features, feature_names=feature_names) if standardize else None,
    )
