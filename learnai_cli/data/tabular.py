"""Tabular datasets from CSV files: the diabetes set shipped with learnai, or any numeric CSV."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from learnai_cli.data.splits import DatasetSplits, TensorSplit
from learnai_cli.errors import DataError
from learnai_cli.registry import DATASETS


def read_numeric_csv(path: Path, skip_header: int = 0) -> np.ndarray:
    """A 2-D float array from a (possibly gzipped) CSV; unreadable files are a DataError."""
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float32, skiprows=skip_header, ndmin=2)
    except (OSError, ValueError) as error:
        raise DataError(f"cannot read CSV {path}: {error}") from None
    if table.shape[1] < 2:
        raise DataError(f"CSV {path} needs at least one feature column and a label column")
    return table


@DATASETS.register("diabetes", task="binary")
def diabetes(path: Optional[str] = None) -> DatasetSplits:
    """758 patients, 8 normalised features, label 1 = diabetes, 0 = no diabetes (shipped; path= overrides).

    The shipped file is the curriculum's with its inverted label flipped back (see builtin/README.md).
    """
    source = Path(path) if path else resources.files("learnai_cli.data.builtin") / "diabetes.csv.gz"
    table = read_numeric_csv(source)
    inputs = torch.from_numpy(table[:, :-1].copy())
    targets = torch.from_numpy(table[:, -1:].copy())
    return DatasetSplits(train=TensorSplit(inputs, targets), class_names=["no diabetes", "diabetes"])
