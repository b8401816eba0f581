"""Tabular datasets from CSV files: the diabetes set shipped with learnai, or any numeric CSV."""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import zlib
from importlib import resources
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import torch

from learnai_cli.data.splits import FLOAT32_MAX, DatasetSplits, TensorSplit
from learnai_cli.errors import DataError, DataNotHere, clip, short_repr
from learnai_cli.log import logger
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


DIABETES_FEATURES = ["pregnancies", "glucose", "blood_pressure", "skin_thickness", "insulin", "bmi", "pedigree", "age"]
# SHA-256 of the numbers (float32, row by row) of the two diabetes files known to learnai, whatever their compression
# or line endings: the copy shipped here (1 = diabetes) and the course curriculum's (0 = diabetes; builtin/README.md).
KNOWN_DIABETES_FILES = {
    "3fbef9935b2398843ef1fb3acb4539e2cb618683770f7a6b4d9a23a6c00265c9": ("learnai's shipped diabetes data", 1),
    "5e8ed3431dd0d8919154a45a779a84b6c9955890fd5324f4259ee2f9bc674ae4": ("the course's diabetes.csv", 0),
}


@DATASETS.register("diabetes", task="binary", paths=("path",))
def diabetes(path: Optional[str] = None, positive_label: Optional[Literal[0, 1]] = None) -> DatasetSplits:
    """758 patients, 8 normalised features, label 1 = diabetes, 0 = no diabetes (shipped; path= overrides).

    positive_label: which value of a path= file's last column means diabetes. Left out, the two known files (the
    shipped one and the course's, whose labels are inverted: see builtin/README.md) are recognised by their
    contents; any other file is read with 1 = diabetes. Either way the model's output is the chance of diabetes.
    """
    source = Path(path) if path else resources.files("learnai_cli.data.builtin") / "diabetes.csv.gz"
    table = read_numeric_csv(source)
    labels = table[:, -1]
    if not np.isin(labels, (0.0, 1.0)).all():
        row = int(np.flatnonzero(~np.isin(labels, (0.0, 1.0)))[0]) + 1
        raise DataError(
            f"CSV {_shown(source)}: row {row}: the last column is the label and must be 0 or 1 "
            f"(got {labels[row - 1]:g})"
        )
    positive = _diabetes_label(table, positive_label, str(source) if path else None)
    inputs = torch.from_numpy(table[:, :-1].copy())
    targets = torch.from_numpy((labels if positive == 1 else 1 - labels)[:, None].copy())  # inside: 1 = diabetes
    names = DIABETES_FEATURES if inputs.shape[1] == len(DIABETES_FEATURES) else None
    info = {"positive_label": positive, **({"feature_columns": names} if names else {})}
    return DatasetSplits(train=TensorSplit(inputs, targets), class_names=["no diabetes", "diabetes"], info=info)


def _diabetes_label(table: np.ndarray, asked: Optional[int], path: Optional[str]) -> int:
    """The label value that means diabetes: the config's, checked against a file recognised by its contents."""
    from learnai_cli.registry import ArgumentError

    known = KNOWN_DIABETES_FILES.get(hashlib.sha256(np.ascontiguousarray(table).tobytes()).hexdigest())
    if known is not None:
        what, value = known
        if asked is not None and asked != value:
            raise ArgumentError(
                "positive_label",
                f"{'data.path' if path else 'the data'} is {what} (recognised by its contents), where {value} means "
                "diabetes; "
                f"positive_label={asked} would call every diabetic patient 'no diabetes': leave positive_label out, "
                f"or set it to {value}",
            )
        if path is not None:
            logger.info(
                f"data.path is {what} (recognised by its contents): label {value} means diabetes there, and is read "
                "so (the model's output is the chance of diabetes)"
            )
        return value
    if asked is None:
        logger.info(
            f"data.path {clip(path or '', 200)}: label 1 is read as diabetes and 0 as no diabetes; if 0 means diabetes "
            "in this file, set data.positive_label: 0"
        )
        return 1
    return asked
