"""Batches for the loop: in-memory splits are indexed on the device; other datasets use a DataLoader."""

from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader

from learnai_cli.data.splits import Split, TensorSplit


class TensorBatches:
    """Batches of a TensorSplit moved to the device once and sliced by a shuffled index (no workers, no collation)."""

    def __init__(self, split: TensorSplit, batch_size: int, shuffle: bool, device: torch.device, seed: int, limit: int | None = None):
        self.inputs = split.inputs.to(device)
        self.targets = split.targets.to(device)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)
        self.batches = math.ceil(len(split) / batch_size)
        if limit is not None:
            self.batches = min(self.batches, limit)

    def __len__(self) -> int:
        return self.batches

    def __iter__(self):
        count = self.targets.shape[0]
        order = torch.randperm(count, generator=self.generator).to(self.inputs.device) if self.shuffle else None
        for start in range(0, self.batches * self.batch_size, self.batch_size):
            if order is None:
                yield self.inputs[start : start + self.batch_size], self.targets[start : start + self.batch_size]
            else:
                index = order[start : start + self.batch_size]
                yield self.inputs[index], self.targets[index]


class LoaderBatches:
    """Batches of a file-backed Dataset through a DataLoader, copied to the device without blocking."""

    def __init__(self, dataset, batch_size: int, shuffle: bool, device: torch.device, seed: int, limit: int | None = None, num_workers: int = 0):
        self.generator = torch.Generator().manual_seed(seed)
        self.device = device
        self.loader = DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            generator=self.generator,
            num_workers=num_workers,
            pin_memory=device.type == "cuda",
            persistent_workers=num_workers > 0,
        )
        self.batches = len(self.loader) if limit is None else min(len(self.loader), limit)

    def __len__(self) -> int:
        return self.batches

    def __iter__(self):
        for index, (inputs, targets) in enumerate(self.loader):
            if index >= self.batches:
                break
            yield inputs.to(self.device, non_blocking=True), targets.to(self.device, non_blocking=True)


def make_batches(split: Split, batch_size: int, shuffle: bool, device: torch.device, seed: int, limit: int | None = None):
    if isinstance(split, TensorSplit):
        return TensorBatches(split, batch_size, shuffle, device, seed, limit)
    return LoaderBatches(split, batch_size, shuffle, device, seed, limit)
