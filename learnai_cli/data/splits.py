"""What a dataset builder returns, and the seeded train/val/test carving of it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional, Union

import torch
from torch.utils.data import Dataset, Subset

from learnai_cli.errors import ConfigError

__all__ = ["TensorSplit", "DatasetSplits", "Split", "carve", "split_targets", "cache_in_memory"]


@dataclass(frozen=True)
class TensorSplit:
    """A split held in memory as two tensors; batched by index, never through a DataLoader."""

    inputs: torch.Tensor
    targets: torch.Tensor

    def __len__(self) -> int:
        return self.targets.shape[0]

    def take(self, index: torch.Tensor) -> "TensorSplit":
        return TensorSplit(self.inputs[index], self.targets[index])


Split = Union[TensorSplit, Dataset]


@dataclass(frozen=True)
class DatasetSplits:
    """A builder's result: train, plus val/test where the dataset has official ones."""

    train: Split
    val: Optional[Split] = None
    test: Optional[Split] = None
    class_names: Optional[list[str]] = None
    info: dict[str, Any] = field(default_factory=dict)  # facts a report may show, e.g. true coefficients
    collate_fn: Optional[Callable] = None  # how a DataLoader joins samples into a batch (e.g. per-batch padding)
    # How `learnai predict` turns one raw input (a surname, an image file's path) into a batch of one;
    # None means a comma-separated row of numbers, for tabular inputs.
    encode_input: Optional[Callable[[str], torch.Tensor]] = None


def carve(
    splits: DatasetSplits, val_split: float | int, test_split: float | int, limit: int | None, seed: int, stratify: bool
) -> DatasetSplits:
    """Fill missing val/test from train with a seeded (stratified for classes) split, then apply `limit`."""
    generator = torch.Generator().manual_seed(seed)
    train, val, test = splits.train, splits.val, splits.test
    total = len(train)  # fractions are of the whole dataset, not of what is left
    if test is None:
        train, test = _hold_out(train, _count(test_split, total, "data.test_split"), generator, stratify)
    if val is None:
        train, val = _hold_out(train, _count(val_split, total, "data.val_split"), generator, stratify)
        if len(train) == 0:
            raise ConfigError(
                f"data.val_split and data.test_split together hold out all {total} samples; make them smaller"
            )
    if limit is not None:
        train, val, test = (_first(part, limit) for part in (train, val, test))
    return replace(splits, train=train, val=val, test=test)


def split_targets(split: Split) -> Optional[torch.Tensor]:
    """The labels of a split without loading its inputs: tensors, Subsets, and Datasets with a .targets list."""
    if isinstance(split, TensorSplit):
        return split.targets
    if isinstance(split, Subset):
        parent = split_targets(split.dataset)
        return None if parent is None else parent[torch.as_tensor(split.indices, dtype=torch.long)]
    targets = getattr(split, "targets", None)
    return None if targets is None else torch.as_tensor(targets)


def _hold_out(split: Split, count: int, generator: torch.Generator, stratify: bool):
    total = len(split)
    targets = split_targets(split)
    if stratify and targets is not None and targets.dtype == torch.long:
        held, kept = _stratified_indices(targets, count, generator)
    else:
        order = torch.randperm(total, generator=generator)
        held, kept = order[:count], order[count:]
    return _take(split, kept), _take(split, held)


def _count(size: float | int, total: int, key: str) -> int:
    if isinstance(size, float) and not 0 < size < 1:
        raise ConfigError(f"{key}: a fraction must be between 0 and 1 (got {size})")
    count = round(size * total) if isinstance(size, float) else size
    if not 1 <= count < total:
        raise ConfigError(
            f"{key}: holding out {count} of {total} samples leaves no data to train on; use a smaller value"
        )
    return count


def _stratified_indices(targets: torch.Tensor, count: int, generator: torch.Generator):
    """Hold out about the same fraction of every class, so rare classes appear in each split."""
    fraction = count / len(targets)
    held, kept = [], []
    for label in targets.unique():
        members = (targets == label).nonzero().view(-1)
        members = members[torch.randperm(len(members), generator=generator)]
        n_held = round(len(members) * fraction)
        held.append(members[:n_held])
        kept.append(members[n_held:])
    held, kept = torch.cat(held), torch.cat(kept)
    # Shuffle across classes so the first `limit` samples are not all one class.
    return held[torch.randperm(len(held), generator=generator)], kept[torch.randperm(len(kept), generator=generator)]


def _take(split: Split, index: torch.Tensor) -> Split:
    return split.take(index) if isinstance(split, TensorSplit) else Subset(split, index.tolist())


def _first(split: Split, limit: int) -> Split:
    if len(split) <= limit:
        return split
    return _take(split, torch.arange(limit))


def cache_in_memory(splits: DatasetSplits, budget_mb: int, num_workers: int = 0) -> DatasetSplits:
    """Decode file-backed splits once into tensors when all of them fit the memory budget (then no DataLoader per
    epoch)."""
    file_backed = {
        name: getattr(splits, name) for name in ("train", "val", "test") if getattr(splits, name) is not None
    }
    file_backed = {name: split for name, split in file_backed.items() if not isinstance(split, TensorSplit)}
    if not file_backed or budget_mb <= 0 or splits.collate_fn is not None:  # variable-length samples stay as they are
        return splits
    sample, _ = next(iter(file_backed.values()))[0]
    needed = sum(len(split) for split in file_backed.values()) * sample.numel() * sample.element_size()
    if needed > budget_mb * 2**20:
        return splits
    return replace(splits, **{name: _decode(split, num_workers) for name, split in file_backed.items()})


def _decode(split: Dataset, num_workers: int) -> TensorSplit:
    from torch.utils.data import DataLoader

    inputs, targets = [], []
    for batch_inputs, batch_targets in DataLoader(split, batch_size=256, num_workers=num_workers):
        inputs.append(batch_inputs)
        targets.append(torch.as_tensor(batch_targets))
    return TensorSplit(torch.cat(inputs), torch.cat(targets))
