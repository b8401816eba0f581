"""What a model's outputs are (raw scores, probabilities, log-probabilities, or estimates of the targets) follows
from its last layer and the loss, the same way for every metric, best.pt's choice, eval and predict; and a loss,
label and output combination that cannot learn the task is refused (or, when it is only wasteful, warned about)
before anything trains."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from torch import nn

from learnai_cli.experiment.outputs import (
    LOG_PROBABILITIES,
    LOGITS,
    PROBABILITIES,
    TARGET_VALUES,
    output_kind,
    probabilities,
)
from learnai_cli.rundir import RunDir
from tests.conftest import CONFIGS

LINEAR = nn.Sequential(nn.Linear(2, 1))


@pytest.mark.parametrize(
    "loss_meta, model, kind",
    [
        ({"outputs": LOGITS}, LINEAR, LOGITS),
        ({"outputs": TARGET_VALUES}, LINEAR, TARGET_VALUES),
        ({"outputs": TARGET_VALUES}, nn.Sequential(nn.Linear(2, 1), nn.Sigmoid()), PROBABILITIES),
        ({"outputs": LOGITS}, nn.Sequential(nn.Linear(2, 1), nn.Sigmoid()), PROBABILITIES),  # the ending says it
        ({"outputs": LOG_PROBABILITIES}, nn.Sequential(nn.Linear(2, 3), nn.LogSoftmax(dim=1)), LOG_PROBABILITIES),
        ({}, nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1)), PROBABILITIES),  # a plugin loss that says nothing
        ({}, LINEAR, LOGITS),
        ({"from_logits": True}, LINEAR, LOGITS),  # the older registration flag
        ({"from_logits": False}, nn.Sequential(nn.Linear(2, 3), nn.LogSoftmax(dim=1)), LOG_PROBABILITIES),
    ],
)
def test_the_kind_follows_the_last_layer_then_the_loss(loss_meta, model, kind):
    assert output_kind(loss_meta, model) == kind


@pytest.mark.parametrize(
    "outputs, task, kind, expected",
    [
        ([0.0], "binary", LOGITS, [0.5, 0.5]),
        ([0.8], "binary", PROBABILITIES, [0.2, 0.8]),
        ([0.8], "binary", TARGET_VALUES, [0.2, 0.8]),  # an estimate of the 0/1 label: no second sigmoid
        ([1.3], "binary", TARGET_VALUES, [0.0, 1.0]),  # estimates stray past the labels: clipped
        ([-0.2], "binary", TARGET_VALUES, [1.0, 0.0]),
        ([0.0, 0.0], "classification", LOGITS, [0.5, 0.5]),
        ([0.25, 0.75], "classification", PROBABILITIES, [0.25, 0.75]),
        ([-0.693147, -0.693147], "classification", LOG_PROBABILITIES, [0.5, 0.5]),
        ([-1.0, 3.0], "classification", TARGET_VALUES, [0.0, 1.0]),
    ],
)
def test_probabilities_read_each_kind_of_output(outputs, task, kind, expected):
    got = probabilities(torch.tensor(outputs), task, kind)
    assert torch.allclose(got, torch.tensor(expected), atol=1e-4) and abs(float(got.sum()) - 1) < 1e-5


def _outputs_on(run: RunDir, split: str):
    """The best checkpoint's raw outputs and the labels of a split, computed here from the run's own files."""
    from learnai_cli.commands.evaluate import load_trained

    experiment, _, _ = load_trained(run, "best")
    experiment.model.eval()
    inputs, labels = zip(*[(x, y) for x, y in experiment.batches(split)])
    with torch.no_grad():
        return torch.cat([experiment.model(x) for x in inputs]).view(-1), torch.cat(labels).view(-1)


@pytest.mark.parametrize("loss", ["mse", "l1", "huber", "smooth_l1"])
def test_a_sigmoid_binary_model_trained_with_a_regression_loss_is_scored_at_one_half(cli, runs_dir, loss):
    """The diabetes model ends in a sigmoid: its outputs are probabilities whatever the loss, so accuracy, best.pt
    and predict threshold them at 0.5 (they used to be read as raw scores: accuracy 0.316, "diabetes" for all)."""
    trained = cli.json("train", CONFIGS / "diabetes.yaml", f"loss.name={loss}", "train.epochs=15")
    run = RunDir(runs_dir / trained["run_id"])
    outputs, labels = _outputs_on(run, "val")
    best_epoch = trained["best"]["epoch"]
    recorded = next(r for r in run.metrics() if r.get("epoch") == best_epoch and "val_accuracy" in r)
    assert recorded["val_accuracy"] == pytest.approx(float(((outputs > 0.5).long() == labels.long()).float().mean()))
    row = ",".join(["1", "120", "70", "20", "80", "30", "0.5", "40"])
    predicted = json.loads(cli("predict", trained["run_id"], row, "--json").stdout)
    single = _single_output(run, row)
    diabetes = next(p["probability"] for p in predicted["top"] if p["class"] == "diabetes")
    assert diabetes == pytest.approx(min(max(single, 0.0), 1.0), abs=1e-3)  # the sigmoid's output, once (3 digits)


def _single_output(run: RunDir, row: str) -> float:
    from learnai_cli.commands.evaluate import load_trained
    from learnai_cli.commands.predict import _encode

    experiment, _, _ = load_trained(run, "best")
    experiment.model.eval()
    with torch.no_grad():
        return float(experiment.model(_encode(experiment, row, run.meta()).unsqueeze(0)).view(-1)[0])


def _three_classes(tmp_path, model: dict, loss: str):
    rows = ["length,width,species"] + [f"{i % 9}.5,{(i * 7) % 5}.25,{('a', 'b', 'c')[i % 3]}" for i in range(60)]
    (tmp_path / "table.csv").write_text("\n".join(rows) + "\n")
    config = {
        "name": "three",
        "data": {"name": "csv", "path": "table.csv", "target": "species", "val_split": 0.2},
        "model": {"name": "mlp", "in_features": 2, "hidden": [4], **model},
        "loss": {"name": loss},
        "optimizer": {"name": "adam", "lr": 0.01},
        "train": {"epochs": 2, "batch_size": 8},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    return tmp_path / "c.yaml"


@pytest.mark.parametrize("loss", ["mse", "l1", "huber", "smooth_l1"])
@pytest.mark.parametrize("outputs", [1, 3, 5])
def test_a_regression_loss_on_class_labels_is_refused_with_the_fix(cli, tmp_path, loss, outputs):
    config = _three_classes(tmp_path, {"out_features": outputs}, loss)
    result = cli("train", config)
    assert result.exit_code == 2, result.output
    if outputs == 1:  # class labels want an output per class, whatever the loss
        assert "needs one output per class" in result.output and "set model.out_features=3 with loss" in result.output
    else:
        assert f"loss {loss} compares each output with its target" in result.output
        assert "cross_entropy with 3 outputs" in result.output
    assert "Traceback" not in result.output
    assert "UserWarning" not in result.output  # torch's broadcasting warning never reaches the user


def test_a_regression_loss_on_yes_no_labels_needs_one_output(cli):
    result = cli("train", CONFIGS / "diabetes.yaml", "loss.name=mse", "model.out_features=2")
    assert result.exit_code == 2 and "give the model 1 output" in result.output, result.output


@pytest.mark.parametrize("outputs, seed", [(2, 0), (2, 3), (1, 0)])
def test_too_few_outputs_for_the_classes_is_named_as_such_whatever_the_check_batch(cli, tmp_path, outputs, seed):
    """The label set is checked as a whole before the loss runs on the two-sample check batch, so the message is
    about outputs and classes, never about input features."""
    config = _three_classes(tmp_path, {"out_features": outputs}, "cross_entropy")
    result = cli("train", config, f"seed={seed}")
    assert result.exit_code == 2, result.output
    if outputs == 1:
        assert "needs one output per class" in result.output
    else:
        assert "3 classes" in result.output and "set model.out_features=3" in result.output
        assert "Each sample has" not in result.output  # not the input-size message


@pytest.mark.parametrize("outputs", [4, 10])
def test_more_outputs_than_classes_trains_with_a_warning_naming_the_class_count(cli, tmp_path, outputs, caplog):
    config = _three_classes(tmp_path, {"out_features": outputs}, "cross_entropy")
    result = cli("train", config)
    assert result.exit_code == 0, result.output
    said = result.output + caplog.text
    assert f"gives {outputs} outputs but data 'csv' has 3 classes" in said and "set model.out_features=3" in said


def test_predict_names_the_outputs_beyond_the_classes_instead_of_failing(cli, tmp_path):
    config = _three_classes(tmp_path, {"out_features": 5}, "cross_entropy")
    run_id = cli.json("train", config)["run_id"]
    answer = cli("predict", run_id, "1.5,2.25", "--top", "5", "--json")
    assert answer.exit_code == 0, answer.output
    classes = [entry["class"] for entry in json.loads(answer.stdout)["top"]]
    assert {"a", "b", "c"} <= set(classes) and any(name.endswith("(no class)") for name in classes)


@pytest.mark.parametrize("loss", ["bce_with_logits", "bce", "mse", "cross_entropy"])
def test_one_output_on_a_two_class_table_is_refused_naming_the_output_size(cli, loss):
    extra = ["model.output_activation=sigmoid"] if loss == "bce" else []
    result = cli("train", CONFIGS / "csv_example.yaml", f"loss.name={loss}", "model.out_features=1", *extra)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "output per class" in result.output and "Each sample has" not in result.output
