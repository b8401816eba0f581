"""Batches: in-memory splits sliced on the device, or a DataLoader when workers are asked for."""

from __future__ import annotations


def test_num_workers_sends_in_memory_data_through_a_dataloader(cli):
    from learnai_cli import config as config_module
    from learnai_cli.engine.batches import LoaderBatches, TensorBatches
    from learnai_cli.experiment import build_experiment
    from tests.conftest import CONFIGS

    fast = build_experiment(config_module.load(CONFIGS / "diabetes.yaml"))
    assert isinstance(fast.batches("train", shuffle=True), TensorBatches)
    loader = build_experiment(config_module.load(CONFIGS / "diabetes.yaml", ["data.num_workers=2"]))
    assert isinstance(loader.batches("train", shuffle=True), LoaderBatches)
    assert cli.json("train", CONFIGS / "diabetes.yaml", "data.num_workers=2", "train.epochs=2")["status"] == "completed"


def _split(count: int):
    import torch

    from learnai_cli.data.splits import TensorSplit

    return TensorSplit(torch.arange(count * 2, dtype=torch.float32).view(count, 2), torch.arange(count))


def test_a_split_that_fits_one_batch_is_that_batch_every_pass_and_leaves_the_shuffle_order_untouched():
    import torch

    from learnai_cli.engine.batches import TensorBatches

    batches = TensorBatches(_split(6), batch_size=6, shuffle=True, device=torch.device("cpu"), seed=0)
    before = batches.generator.get_state()
    for _ in range(3):
        ((inputs, targets),) = list(batches)
        assert inputs is batches.inputs and targets is batches.targets  # no copy, no reordering
    assert torch.equal(batches.generator.get_state(), before)  # a resume replays the same (absent) order
    bigger = TensorBatches(_split(6), batch_size=8, shuffle=True, device=torch.device("cpu"), seed=0)
    ((inputs, targets),) = list(bigger)
    assert torch.equal(targets, torch.arange(6))


def test_two_or_more_batches_are_still_shuffled_every_pass_and_cover_the_split_once():
    import torch

    from learnai_cli.engine.batches import TensorBatches

    batches = TensorBatches(_split(12), batch_size=6, shuffle=True, device=torch.device("cpu"), seed=0)
    orders = [torch.cat([targets for _, targets in batches]) for _ in range(3)]
    assert all(sorted(order.tolist()) == list(range(12)) for order in orders)
    assert any(not torch.equal(order, torch.arange(12)) for order in orders)
    assert not torch.equal(orders[0], orders[1])
