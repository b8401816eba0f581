"""A plugin's own code that raises (a model only in training mode, only after some steps, a loss on a later batch)
ends in the one-line error naming the user's file and line: exit 2 before training, 1 during, never a traceback."""

from __future__ import annotations

import textwrap

import pytest
import yaml

PLUGIN = """
import torch
from torch import nn
from learnai_cli.registry import LOSSES, MODELS


class Odd(nn.Module):
    def __init__(self, fail: str):
        super().__init__()
        self.lin, self.fail, self.calls = nn.Linear(2, 3), fail, 0

    def forward(self, x):
        self.calls += 1
        if self.fail == "training" and self.training:
            raise RuntimeError("odd fails in training mode")
        if self.fail == "later" and self.calls > 4:
            raise ValueError("odd fails after four calls")
        if self.fail == "always":
            raise KeyError("odd always fails")
        return self.lin(x)


@MODELS.register("odd_model_TAG")
def odd_model(fail: str = "never"):
    return Odd(fail)


@LOSSES.register("odd_loss_TAG", outputs="logits")
def odd_loss():
    calls = []

    def loss(outputs, targets):
        calls.append(1)
        if len(calls) > 3:
            raise ArithmeticError("odd loss gives up")
        return nn.functional.cross_entropy(outputs, targets)

    return loss
"""


def write(tmp_path, fail: str, loss: str = "cross_entropy"):
    """The plugin and a config using it; names unique to the test, as registries live as long as the process."""
    tag = "".join(c if c.isalnum() else "_" for c in tmp_path.name)
    (tmp_path / "odd.py").write_text(textwrap.dedent(PLUGIN).replace("TAG", tag))
    loss = loss.replace("odd_loss", f"odd_loss_{tag}")
    config = {
        "name": "odd",
        "plugins": ["odd.py"],
        "data": {"name": "toy_classes"},
        "model": {"name": f"odd_model_{tag}", "fail": fail},
        "loss": {"name": loss},
        "optimizer": {"name": "sgd", "lr": 0.1},
        "train": {"epochs": 3, "batch_size": 2},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    return tmp_path / "c.yaml"


@pytest.mark.parametrize(
    "fail, loss, code, raised",
    [
        ("training", "cross_entropy", 1, "RuntimeError: odd fails in training mode"),
        ("later", "cross_entropy", 1, "ValueError: odd fails after four calls"),
        ("never", "odd_loss", 1, "ArithmeticError: odd loss gives up"),
        ("always", "cross_entropy", 2, "odd always fails"),
    ],
)
@pytest.mark.parametrize("threads", ["auto", "1"])
def test_user_code_that_raises_names_its_own_line(cli, tmp_path, fail, loss, code, raised, threads):
    result = cli("train", write(tmp_path, fail, loss), f"train.threads={threads}")
    assert result.exit_code == code, result.output
    assert raised in result.output and "odd.py:" in result.output, result.output
    assert "Traceback" not in result.output


DATASET = """
import torch
from learnai_cli.data.splits import DatasetSplits, TensorSplit
from learnai_cli.registry import DATASETS


class Broken(torch.utils.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, index):
        raise IndexError(f"sample {index} cannot be read")


@DATASETS.register("broken_TAG", task="classification")
def broken():
    return DatasetSplits(train=Broken(), val=TensorSplit(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)))
"""


def test_a_dataset_that_raises_reading_its_samples_names_its_line(cli, tmp_path):
    tag = "".join(c if c.isalnum() else "_" for c in tmp_path.name)
    (tmp_path / "broken.py").write_text(DATASET.replace("TAG", tag))
    config = {
        "name": "broken",
        "plugins": ["broken.py"],
        "data": {"name": f"broken_{tag}"},
        "model": {"name": "mlp", "in_features": 2, "hidden": [], "out_features": 2},
        "loss": {"name": "cross_entropy"},
        "optimizer": {"name": "sgd", "lr": 0.1},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    result = cli("train", tmp_path / "c.yaml")
    assert result.exit_code == 2, result.output
    assert "failed reading its samples: IndexError: sample 0 cannot be read" in result.output
    assert "broken.py:" in result.output and "Traceback" not in result.output
