"""Tabular datasets from CSV files: the diabetes set shipped with learnai, or any numeric CSV."""

from __future__ import annotations

import gzip
import io
import math
import zlib
from importlib import resources
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from learnai_cli.data.splits import FLOAT32_MAX, DatasetSplits, TensorSplit
from learnai_cli.errors import DataError, DataNotHere, clip, short_repr
from learnai_cli.registry import DATASETS


def read_numeric_csv(path: Path, skip_header: int = 0) -> np.ndarray:
    """A 2-D float array from a (possibly gzipped) CSV; an unreadable file, or a cell that is not a finite
    number, is a DataError naming the file, the row and the column."""
    lines = _read_lines(path)[skip_header:]
    if not any(line.strip() for line in lines):
        raise DataError(f"CSV {_shown(path)} holds no rows of numbers")
    try:
        table = np.loadtxt(lines, delimiter=",", dtype=np.float32, ndmin=2)
    except ValueError as error:
        raise DataError(
            _first_bad_cell(path, lines, skip_header) or f"cannot read CSV {_shown(path)}: {clip(str(error), 300)}"
        ) from None
    if not np.isfinite(table).all():
        raise DataError(_first_bad_cell(path, lines, skip_header) or f"CSV {_shown(path)} holds NaN or infinite values")
    if table.shape[1] < 2:
        raise DataError(f"CSV {_shown(path)} needs at least one feature column and a label column")
    return table


def _read_lines(path: Path) -> list[str]:
    """The file's lines, ended only by \\n, \\r\\n or \\r (not the other Unicode line breaks str.splitlines knows)."""
    return [line.rstrip("\r\n") for line in io.StringIO(read_text(path), newline="")]


def read_text(path: Path) -> str:
    """A (possibly gzipped) UTF-8 file's text, without the byte-order mark Excel's "CSV UTF-8" writes first."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        problem = DataNotHere if isinstance(error, FileNotFoundError) else DataError
        raise problem(f"CSV {_shown(path)} cannot be read: {error.strerror or error}") from None
    if str(path).endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"CSV {_shown(path)} is not a complete gzip file: {error}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(
            f"CSV {_shown(path)} is not UTF-8 text (byte {error.start:,}); expected numbers separated by commas"
        ) from None


def _shown(path: Path) -> str:
    return clip(str(path), 300)


def _first_bad_cell(path: Path, lines: list[str], skip_header: int) -> str | None:
    """'CSV x: row 4, column 3: ...' for the first cell np.loadtxt refuses (or that is NaN/inf), or None."""
    width, first_row = None, 0
    for number, line in enumerate(lines, start=skip_header + 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = line.split("#")[0].split(",")
        if width is None:
            width, first_row = len(cells), number
        elif len(cells) != width:
            return f"CSV {_shown(path)}: row {number} has {len(cells)} columns, but row {first_row} has {width}"
        for column, cell in enumerate(cells, start=1):
            problem = _cell_problem(cell)
            if problem:
                return f"CSV {_shown(path)}: row {number}, column {column}: {short_repr(cell.strip())} {problem}"
    return None


def _cell_problem(cell: str) -> str | None:
    try:
        value = float(cell)
    except ValueError:
        return "is not a number" if cell.strip() else "is empty"
    if not math.isfinite(value) or abs(value) > FLOAT32_MAX:
        return "is not a finite number (NaN and infinities cannot be trained on)"
    return None


@DATASETS.register("diabetes", task="binary", paths=("path",))
def diabetes(path: Optional[str] = None) -> DatasetSplits:
    """758 patients, 8 normalised features, label 1 = diabetes, 0 = no diabetes (shipped; path= overrides).

    The shipped file is the curriculum's with its inverted label flipped back (see builtin/README.md).
    """
    source = Path(path) if path else resources.files("learnai_cli.data.builtin") / "diabetes.csv.gz"
    table = read_numeric_csv(source)
    inputs = torch.from_numpy(table[:, :-1].copy())
    targets = torch.from_numpy(table[:, -1:].copy())
    return DatasetSplits(train=TensorSplit(inputs, targets), class_names=["no diabetes", "diabetes"])
