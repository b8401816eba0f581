"""Batches for the loop: in-memory splits are indexed on the device; other datasets use a DataLoader.

Both remember the shuffle generator's state at the start of each pass, so a checkpoint
taken mid-epoch can replay the same order and skip the batches already trained.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from learnai_cli.data.splits import Split, TensorSplit
from learnai_cli.errors import DataError


class ResumableOrder:
    """The shuffle generator and its state at the start of the current pass."""

    def __init__(self, seed: int):
        self.generator = torch.Generator().manual_seed(seed)
        self.pass_start_state = self.generator.get_state()

    def begin_pass(self) -> None:
        self.pass_start_state = self.generator.get_state()

    def resume_state(self, mid_epoch: bool) -> torch.Tensor:
        """Mid-epoch: replay this pass's order; at a boundary: the next pass starts from the current state."""
        return self.pass_start_state if mid_epoch else self.generator.get_state()

    def restore_state(self, state: torch.Tensor) -> None:
        self.generator.set_state(state)


class TensorBatches(ResumableOrder):
    """Batches of a TensorSplit moved to the device once and sliced by a shuffled index (no workers, no collation)."""

    def __init__(
        self,
        split: TensorSplit,
        batch_size: int,
        shuffle: bool,
        device: torch.device,
        seed: int,
        limit: int | None = None,
        channels_last: bool = False,
        shard: tuple[int, int] = (0, 1),
    ):
        super().__init__(seed)
        self.rank, self.world_size = shard  # distributed: this rank trains on its slice of every global batch
        if limit is not None and not shuffle:  # only the rows it will read go to the device (e.g. start-up checks)
            split = TensorSplit(split.inputs[: limit * batch_size], split.targets[: limit * batch_size])
        self.inputs, self.targets = resident(split, device, channels_last)
        self.batch_size = batch_size
        self.shuffle = shuffle
        # Distributed runs drop a last partial batch: every rank needs a slice of the same size.
        self.batches = len(split) // batch_size if self.world_size > 1 else math.ceil(len(split) / batch_size)
        if limit is not None:
            self.batches = min(self.batches, limit)

    def __len__(self) -> int:
        return self.batches

    def __iter__(self):
        return self.iterate()

    def iterate(self, skip: int = 0):
        """One pass; `skip` batches at the start are not produced (resuming mid-epoch)."""
        count = self.targets.shape[0]
        if self.batches == 1 and self.world_size == 1 and skip == 0 and self.batch_size >= count:
            yield self.inputs, self.targets  # the whole split in one batch: its order changes nothing but rounding
            return
        self.begin_pass()
        order = torch.randperm(count, generator=self.generator).to(self.inputs.device) if self.shuffle else None
        local = self.batch_size // self.world_size
        for start in range(skip * self.batch_size, self.batches * self.batch_size, self.batch_size):
            start, stop = (
                (start + self.rank * local, start + (self.rank + 1) * local)
                if self.world_size > 1
                else (start, start + self.batch_size)
            )
            if order is None:
                yield self.inputs[start:stop], self.targets[start:stop]
            else:
                index = order[start:stop]
                yield self.inputs[index], self.targets[index]


def resident(split: TensorSplit, device: torch.device, channels_last: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The split's tensors on the device, once; a split too big for the GPU is a message saying how to stream it."""
    try:
        inputs = split.inputs.to(device)
        if channels_last and inputs.dim() == 4:
            inputs = inputs.contiguous(memory_format=torch.channels_last)  # once, not per batch
        return inputs, split.targets.to(device)
    except torch.cuda.OutOfMemoryError:
        size = (split.inputs.nbytes + split.targets.nbytes) / 2**30
        raise DataError(
            f"the data ({len(split)} samples, {size:.2f} GiB) does not fit in the memory of {device}; set "
            "data.num_workers=2 to stream it through a DataLoader instead of keeping it on the GPU"
        ) from None


class LoaderBatches(ResumableOrder):
    """Batches of a file-backed Dataset through a DataLoader, copied to the device without blocking."""

    def __init__(
        self,
        dataset,
        batch_size: int,
        shuffle: bool,
        device: torch.device,
        seed: int,
        limit: int | None = None,
        num_workers: int = 0,
        channels_last: bool = False,
        collate_fn=None,
        shard: tuple[int, int] = (0, 1),
    ):
        super().__init__(seed)
        self.device = device
        self.memory_format = torch.channels_last if channels_last else torch.preserve_format
        rank, world_size = shard
        # Distributed: each rank reads its own part of the data; set_epoch reshuffles every pass.
        self.sampler = (
            DistributedSampler(dataset, world_size, rank, shuffle=shuffle, seed=seed, drop_last=True)
            if world_size > 1
            else None
        )
        self.passes = 0
        self.loader = DataLoader(
            dataset,
            batch_size=batch_size // world_size,
            shuffle=shuffle and self.sampler is None,
            sampler=self.sampler,
            generator=self.generator,
            num_workers=num_workers,
            pin_memory=device.type == "cuda",
            persistent_workers=num_workers > 0,
            collate_fn=collate_fn,
        )
        self.batches = len(self.loader) if limit is None else min(len(self.loader), limit)

    def __len__(self) -> int:
        return self.batches

    def __iter__(self):
        return self.iterate()

    def iterate(self, skip: int = 0):
        self.begin_pass()
        if self.sampler is not None:
            self.sampler.set_epoch(self.passes)
        self.passes += 1
        for inputs, targets in itertools.islice(self.loader, skip, self.batches):
            if inputs.dim() == 4:
                inputs = inputs.to(self.device, non_blocking=True, memory_format=self.memory_format)
            yield inputs.to(self.device, non_blocking=True), targets.to(self.device, non_blocking=True)

    def resume_state(self, mid_epoch: bool) -> dict:
        """The generator (single process) and the pass count (the sampler's epoch) to replay or continue the order."""
        return {"generator": super().resume_state(mid_epoch), "passes": self.passes - 1 if mid_epoch else self.passes}

    def restore_state(self, state) -> None:
        super().restore_state(state["generator"])
        self.passes = state["passes"]


def make_batches(
    split: Split,
    batch_size: int,
    shuffle: bool,
    device: torch.device,
    seed: int,
    limit: int | None = None,
    num_workers: int = 0,
    channels_last: bool = False,
    collate_fn=None,
    shard: tuple[int, int] = (0, 1),
):
    """In-memory splits are sliced on the device; asking for DataLoader workers sends them through a DataLoader
    instead."""
    if isinstance(split, TensorSplit):
        if num_workers == 0:
            return TensorBatches(split, batch_size, shuffle, device, seed, limit, channels_last, shard)
        split = TensorDataset(split.inputs, split.targets)  # the curriculum's Dataset + DataLoader path, as asked
    return LoaderBatches(split, batch_size, shuffle, device, seed, limit, num_workers, channels_last, collate_fn, shard)
