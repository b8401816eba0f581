"""Batches: in-memory splits sliced on the device, or a DataLoader when workers are asked for."""

from __future__ import annotations


def test_num_workers_sends_in_memory_data_through_a_dataloader(cli):
    from learnai_cli import config as config_module
    from learnai_cli.commands.experiment import build_experiment
    from learnai_cli.engine.batches import LoaderBatches, TensorBatches
    from tests.conftest import CONFIGS

    fast = build_experiment(config_module.load(CONFIGS / "diabetes.yaml"))
    assert isinstance(fast.batches("train", shuffle=True), TensorBatches)
    loader = build_experiment(config_module.load(CONFIGS / "diabetes.yaml", ["data.num_workers=2"]))
    assert isinstance(loader.batches("train", shuffle=True), LoaderBatches)
    assert cli.json("train", CONFIGS / "diabetes.yaml", "data.num_workers=2", "train.epochs=2")["status"] == "completed"
