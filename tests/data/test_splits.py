"""Carving train/val/test: seeded, stratified, disjoint; official splits kept."""

from __future__ import annotations

import pytest
import torch

from learnai_cli.data.splits import DatasetSplits, TensorSplit, carve
from learnai_cli.errors import ConfigError


def test_carve_is_seeded_stratified_and_disjoint():
    inputs = torch.arange(100).float().view(-1, 1)
    targets = torch.arange(100) % 4
    splits = DatasetSplits(train=TensorSplit(inputs, targets))
    first = carve(splits, 0.2, 0.2, None, seed=1, stratify=True)
    second = carve(splits, 0.2, 0.2, None, seed=1, stratify=True)
    assert torch.equal(first.val.inputs, second.val.inputs)
    assert (len(first.train), len(first.val), len(first.test)) == (60, 20, 20)
    assert torch.bincount(first.val.targets).tolist() == [5, 5, 5, 5]
    seen = torch.cat([first.train.inputs, first.val.inputs, first.test.inputs]).view(-1).sort().values
    assert torch.equal(seen, inputs.view(-1))
    other = carve(splits, 0.2, 0.2, None, seed=2, stratify=True)
    assert not torch.equal(first.val.inputs, other.val.inputs)


def test_carve_keeps_official_splits_and_limits():
    official = DatasetSplits(
        train=TensorSplit(torch.zeros(50, 1), torch.zeros(50)), test=TensorSplit(torch.ones(10, 1), torch.ones(10))
    )
    carved = carve(official, 5, 0.5, limit=8, seed=0, stratify=False)
    assert torch.equal(carved.test.inputs, torch.ones(8, 1))  # the official test split, only limited
    assert (len(carved.train), len(carved.val)) == (8, 5)


def test_carve_refuses_to_leave_nothing_to_train_on():
    splits = DatasetSplits(train=TensorSplit(torch.zeros(10, 1), torch.zeros(10)))
    with pytest.raises(ConfigError, match="data.test_split: holding out 10 of 10"):
        carve(splits, 0.1, 10, None, seed=0, stratify=False)


@pytest.mark.parametrize(
    "counts,held",
    [([5, 5], 1), ([5, 5], 3), ([1, 1, 1], 1), ([100, 3, 1], 10), ([7, 11, 13, 2], 5), ([4, 4, 4], 1)],
)
def test_a_stratified_hold_out_is_never_empty_and_each_class_gives_its_share(counts, held):
    from learnai_cli.data.splits import _stratified_indices

    targets = torch.cat([torch.full((n,), label) for label, n in enumerate(counts)])
    taken, kept = _stratified_indices(targets, held, torch.Generator().manual_seed(0))
    assert len(taken) >= 1 and len(taken) + len(kept) == len(targets)
    assert sorted(torch.cat([taken, kept]).tolist()) == list(range(len(targets)))  # each sample in one split
    for label, n in enumerate(counts):  # every class held out within one sample of its share
        assert abs((targets[taken] == label).sum().item() - n * held / len(targets)) <= 1
