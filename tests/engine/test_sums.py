"""Running sums of a loop: numbers on the CPU (no tensor arithmetic per step), exact metric counts, and a
checkpoint that carries either kind of sum."""

from __future__ import annotations

import math

import torch

from learnai_cli.engine.device import weighted_loss
from learnai_cli.engine.train_state import TrainState
from learnai_cli.metrics import MetricAccumulator


def test_a_cpu_loss_is_weighted_as_a_number_and_keeps_its_value():
    loss = torch.tensor(0.25, requires_grad=True) * 2
    weighted = weighted_loss(loss, 8)
    assert isinstance(weighted, float) and weighted == 4.0


def test_a_train_state_with_number_sums_round_trips_through_its_checkpoint_form():
    state = TrainState(epoch=3, step=12, batches_done=2, epoch_loss=5.5, epoch_samples=11, interval_loss=None)
    restored = TrainState.from_dict(state.to_dict(), torch.device("cpu"))
    assert restored == state
    tensors = TrainState(epoch_loss=torch.tensor(2.0), interval_loss=torch.tensor(1.0))
    back = TrainState.from_dict(tensors.to_dict(), torch.device("cpu"))
    assert float(back.epoch_loss) == 2.0 and float(back.interval_loss) == 1.0  # checkpoints written before


def test_metrics_over_several_batches_equal_the_metrics_of_the_whole_split():
    torch.manual_seed(0)
    logits, labels = torch.randn(50, 4), torch.randint(0, 4, (50,))
    accumulated = MetricAccumulator("classification", from_logits=True)
    for start in range(0, 50, 16):  # uneven last batch
        accumulated.update(logits[start : start + 16], labels[start : start + 16])
    assert accumulated.compute()["accuracy"] == (logits.argmax(1) == labels).sum().item() / 50  # exact counts
    outputs, targets = torch.randn(30, 1), torch.randn(30)
    regression = MetricAccumulator("regression", from_logits=False)
    for start in range(0, 30, 7):
        regression.update(outputs[start : start + 7], targets[start : start + 7])
    result = regression.compute()
    assert math.isclose(result["mse"], (outputs.view(-1) - targets).pow(2).mean().item(), rel_tol=1e-6)
    assert math.isclose(result["mae"], (outputs.view(-1) - targets).abs().mean().item(), rel_tol=1e-6)
