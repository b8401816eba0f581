"""Losses: the built-ins and custom ones named by reference (file.py:function or a class)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.conftest import CONFIGS

CUSTOM_LOSSES = """
import torch
from torch import nn


def mean_cubed_error(outputs, targets, power: int = 3):
    '''|outputs - targets| ** power, averaged.'''
    return (outputs - targets).abs().pow(power).mean()


class ScaledMSE(nn.Module):
    '''MSE times a constant.'''

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale = scale

    def forward(self, outputs, targets):
        return self.scale * nn.functional.mse_loss(outputs, targets)
"""


@pytest.mark.parametrize(
    ("loss", "options"),
    [("my_losses.py:mean_cubed_error", ["loss.power=4"]), ("my_losses.py:ScaledMSE", ["loss.scale=2.0"])],
)
def test_custom_loss_by_reference(cli, tmp_path, loss, options):
    (tmp_path / "my_losses.py").write_text(CUSTOM_LOSSES)
    config = tmp_path / "linear.yaml"
    config.write_text((CONFIGS / "linear_regression.yaml").read_text())
    payload = cli.json("train", config, f"loss.name={loss}", *options, "train.epochs=3", "data.n=500")
    assert payload["status"] == "completed"
    saved = (Path(payload["run_dir"]) / "config.yaml").read_text()
    assert str(tmp_path / "my_losses.py") in saved  # made absolute, so eval finds it from anywhere
    assert cli.json("eval", payload["run_id"])["metrics"]["loss"] >= 0


def test_custom_loss_reference_errors(cli, tmp_path):
    (tmp_path / "my_losses.py").write_text(CUSTOM_LOSSES)
    config = tmp_path / "linear.yaml"
    config.write_text((CONFIGS / "linear_regression.yaml").read_text())
    missing = cli("train", config, "loss.name=my_losses.py:nothing_here")
    assert missing.exit_code == 2 and "has no 'nothing_here'" in missing.stderr
    wrong_option = cli("train", config, "loss.name=my_losses.py:ScaledMSE", "loss.scael=2")
    assert wrong_option.exit_code == 2 and "Did you mean 'scale'?" in wrong_option.stderr


def test_a_loss_that_cannot_train_is_refused_before_the_run_and_names_the_check(cli, tmp_path):
    (tmp_path / "bad_losses.py").write_text(
        "def vector(outputs, targets):\n    return (outputs - targets) ** 2\n\n"
        "def detached(outputs, targets):\n    return ((outputs - targets) ** 2).mean().detach()\n"
    )
    config = tmp_path / "linear.yaml"
    config.write_text((CONFIGS / "linear_regression.yaml").read_text())
    for name, words in (("vector", "not a scalar"), ("detached", "no grad path")):
        result = cli("train", config, f"loss.name=bad_losses.py:{name}")
        assert result.exit_code == 2 and words in result.stderr, result.stderr
    assert not cli.runs_dir.exists()


def test_the_loss_check_changes_no_weights_and_no_random_state():
    from learnai_cli import config as config_module
    from learnai_cli.experiment import build_experiment, build_model

    experiment_config = config_module.load(CONFIGS / "linear_regression.yaml", ["data.n=64"])
    expected = {k: v.clone() for k, v in build_model(experiment_config).state_dict().items()}
    expected_rng = torch.get_rng_state()
    experiment = build_experiment(experiment_config, with_optimizer=False)
    assert torch.equal(torch.get_rng_state(), expected_rng)
    for key, value in experiment.model.state_dict().items():
        assert torch.equal(value, expected[key])
    assert all(p.grad is None for p in experiment.model.parameters())
