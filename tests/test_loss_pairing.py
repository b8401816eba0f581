"""Configs that cannot learn are config errors naming the fix; legal but doubtful pairings warn before training."""

from __future__ import annotations

import pytest

from tests.conftest import CONFIGS

TOY, DIABETES = CONFIGS / "toy_classes.yaml", CONFIGS / "diabetes.yaml"


@pytest.mark.parametrize(
    "config, overrides, expected",
    [
        (TOY, ["model.out_features=1"], "cross_entropy needs one output per class"),
        (TOY, ["loss.name=nll"], "loss nll expects log-probabilities"),
        (TOY, ["loss.name=nll", "model.output_activation=softmax"], "loss nll expects log-probabilities"),
        (DIABETES, ["model.output_activation=none"], "loss bce expects probabilities in [0, 1]"),
        (DIABETES, ["model.output_activation=log_softmax"], "over 1 output, which is constant"),
        (DIABETES, ["model.output_activation=softmax"], "over 1 output, which is constant"),
    ],
)
@pytest.mark.parametrize("command", ["train", "config"])
def test_a_config_that_cannot_learn_is_refused_with_the_fix(cli, runs_dir, config, overrides, expected, command):
    result = cli(command, config, *overrides, "train.epochs=1")
    assert result.exit_code == 2 and expected in result.stderr and "Traceback" not in result.stderr
    assert "model.output_activation" in result.stderr or "cross_entropy" in result.stderr  # says what to change
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


@pytest.mark.parametrize(
    "config, overrides",
    [(TOY, ["model.output_activation=softmax"]), (DIABETES, ["loss.name=bce_with_logits"])],
)
def test_a_doubtful_pairing_warns_before_the_first_epoch_and_trains(cli, runs_dir, config, overrides, caplog):
    result = cli("train", config, *overrides, "train.epochs=2", "--no-progress")
    assert result.exit_code == 0 and "applies its own on raw outputs" in caplog.text
    train_log = next(runs_dir.iterdir()) / "train.log"
    assert "applies its own" not in train_log.read_text().split("epoch 1/2")[-1]  # it came before the first epoch


@pytest.mark.parametrize("name", ["toy_classes", "diabetes", "logistic_regression", "names_gru", "rnn_hello"])
def test_the_shipped_pairings_pass_quietly(cli, name):
    result = cli("config", CONFIGS / f"{name}.yaml")
    assert result.exit_code == 0 and "applies its own" not in result.stderr
