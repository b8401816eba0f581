"""`learnai eval`'s error analysis: per-class precision/recall/F1, the most-confused pairs, the highest-loss examples
(and their gallery) for classifiers, the largest errors for a regression; old and damaged reports still read."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import CONFIGS

NAME = re.compile(r"^[A-Za-z .,;'-]+$")
EXAMPLE_KEYS = {"index", "true", "predicted", "probability", "true_probability", "loss"}


def trained(cli, *arguments: str) -> dict:
    result = cli("train", *arguments, "--json")
    assert result.exit_code == 0, result.output[-2000:]
    return json.loads(result.stdout)


def evaluated(cli, *arguments: str) -> tuple[dict, str]:
    """The eval's --json object and its text output (the same run, evaluated twice)."""
    text = cli("eval", "latest", *arguments)
    assert text.exit_code == 0, text.output[-2000:]
    return cli.json("eval", "latest", *arguments), text.stdout


def check_class_scores(report: dict) -> None:
    """Precision, recall, F1 and support as the confusion matrix says; macro averages over the classes present."""
    matrix, names = report["confusion_matrix"], report["class_names"]
    assert list(report["per_class"]) == names
    for i, name in enumerate(names):
        scores = report["per_class"][name]
        assert set(scores) == {"precision", "recall", "f1", "support"}
        support, predicted = sum(matrix[i]), sum(row[i] for row in matrix)
        assert scores["support"] == support and isinstance(support, int)
        assert scores["precision"] == (pytest.approx(matrix[i][i] / predicted) if predicted else None)
        assert scores["recall"] == (pytest.approx(matrix[i][i] / support) if support else None)
        assert scores["recall"] == report["per_class_accuracy"][name]
        if scores["precision"] and scores["recall"]:
            harmonic = 2 * scores["precision"] * scores["recall"] / (scores["precision"] + scores["recall"])
            assert scores["f1"] == pytest.approx(harmonic)
        elif support:
            assert scores["f1"] == 0.0
    present = [report["per_class"][name] for i, name in enumerate(names) if sum(matrix[i])]
    for key in ("precision", "recall", "f1"):
        expected = sum(scores[key] or 0.0 for scores in present) / len(present)
        assert report["macro_average"][key] == pytest.approx(expected)
    pairs = report["most_confused"]
    assert len(pairs) <= 5 and [p["count"] for p in pairs] == sorted((p["count"] for p in pairs), reverse=True)
    for pair in pairs:
        i, j = names.index(pair["true"]), names.index(pair["predicted"])
        assert i != j and pair["count"] == matrix[i][j] > 0
        assert pair["fraction"] == pytest.approx(matrix[i][j] / sum(matrix[i]))


def check_examples(report: dict, log_loss: bool = True) -> list[dict]:
    """Up to 16 examples, highest loss first, probabilities read as the model's outputs are."""
    examples = report["highest_loss"]
    assert 0 < len(examples) <= 16 and len(examples) == min(16, report["samples"])
    assert [e["loss"] for e in examples] == sorted((e["loss"] for e in examples), reverse=True)
    assert len({e["index"] for e in examples}) == len(examples)
    for example in examples:
        assert EXAMPLE_KEYS <= set(example) and 0 <= example["index"] < report["samples"]
        assert {example["true"], example["predicted"]} <= set(report["class_names"])
        assert 0 <= example["true_probability"] <= example["probability"] <= 1  # the predicted class is the likeliest
        if log_loss:  # a cross-entropy loss is -log(the probability of the true class)
            assert example["loss"] == pytest.approx(-math.log(example["true_probability"]), rel=1e-3, abs=1e-4)
        if example["true"] == example["predicted"]:
            assert example["probability"] == example["true_probability"]
    return examples


def check_gallery(report: dict, run: Path) -> Image.Image:
    gallery = run / "plots" / f"highest_loss_{Path(report['report']).stem}.png"
    assert report["plots"] == [str(run / "plots" / f"confusion_matrix_{Path(report['report']).stem}.png"), str(gallery)]
    assert gallery.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(gallery)
    image.verify()
    return Image.open(gallery)


@pytest.mark.parametrize(
    "overrides",
    [
        [],  # a sigmoid ending with bce: the outputs are probabilities
        ["model.output_activation=none", "loss.name=bce_with_logits"],  # raw scores
    ],
    ids=["probabilities", "logits"],
)
def test_a_binary_run_never_predicting_a_class_gets_null_precision_and_its_rows_as_values(cli, runs_dir, overrides):
    run = (
        runs_dir / trained(cli, CONFIGS / "diabetes.yaml", "train.epochs=1", "optimizer.lr=1e-6", *overrides)["run_id"]
    )
    report, text = evaluated(cli)
    check_class_scores(report)
    assert report["per_class"]["diabetes"]["precision"] is None  # never predicted: no precision, no crash, no NaN
    assert report["per_class"]["diabetes"]["recall"] == 0.0 and report["per_class"]["diabetes"]["f1"] == 0.0
    assert report["most_confused"][0]["true"] == "diabetes" and report["most_confused"][0]["fraction"] == 1.0
    saved = (run / "eval" / "test-best.json").read_text()
    assert "NaN" not in saved and json.loads(saved)["per_class"] == report["per_class"]
    for example in check_examples(report):
        values = example["input"].split(", ")  # the 8 features' values, each named where the dataset names them
        assert len(values) == 8
        assert all(math.isfinite(float(value.rpartition("=")[2])) for value in values)
    check_gallery(report, run)
    assert "macro average" in text and "precision" in text and "most confused" in text
    count = report["most_confused"][0]["count"]
    assert f"diabetes -> no diabetes: {count} (100% of diabetes)" in text
    assert "most wrong: highest loss (5 of 16, all in the JSON and the gallery)" in text


def test_a_multi_class_run_lists_its_confused_pairs_and_examples(cli, runs_dir):
    run = runs_dir / trained(cli, CONFIGS / "toy_classes.yaml", "train.epochs=30", "optimizer.lr=0.1")["run_id"]
    report, text = evaluated(cli)
    check_class_scores(report)
    never = [name for name, scores in report["per_class"].items() if scores["precision"] is None]
    assert never and all(report["per_class"][name]["f1"] == 0.0 for name in never)
    assert report["macro_average"]["precision"] < max(s["precision"] or 0 for s in report["per_class"].values())
    examples = check_examples(report)
    assert all(re.fullmatch(r"-?\d+(\.\d+)?, -?\d+(\.\d+)?", e["input"]) for e in examples)  # 2 features
    check_gallery(report, run)
    for name in report["class_names"]:
        assert name in text
    pair = report["most_confused"][0]
    assert f"{pair['true']} -> {pair['predicted']}: {pair['count']} ({pair['fraction']:.0%} of {pair['true']})" in text
    # another split and checkpoint: a gallery of its own beside its confusion matrix
    val = cli.json("eval", "latest", "--split", "val", "--checkpoint", "last")
    assert Path(val["plots"][1]).name == "highest_loss_val-last.png" and Path(val["plots"][1]).is_file()


def test_an_image_run_draws_its_worst_images(cli, runs_dir, mnist_root):
    arguments = [f"data.root={mnist_root}", "data.download=false", "data.val_split=20", "train.epochs=1"]
    run = runs_dir / trained(cli, CONFIGS / "mnist_mlp.yaml", *arguments)["run_id"]
    report, text = evaluated(cli)
    check_class_scores(report)
    assert len(report["per_class"]) == 10 and report["samples"] == 40
    examples = check_examples(report)
    assert all("input" not in example and "image" not in example for example in examples)  # pixels only in the PNG
    image = check_gallery(report, run)
    assert image.width > 400 and image.height > 400  # a 4 x 4 grid of digits, not an empty canvas
    assert len(np.unique(np.asarray(image.convert("L")))) > 20
    assert "highest loss" in text and "input" not in text.split("highest loss", 1)[1].split("\n", 3)[2]


def test_a_sequence_run_shows_its_worst_names_as_text(cli, runs_dir):
    run = runs_dir / trained(cli, CONFIGS / "names_gru.yaml", "data.limit=300", "train.epochs=1")["run_id"]
    report, text = evaluated(cli)
    check_class_scores(report)
    assert len(report["per_class"]) == 18
    examples = check_examples(report)
    assert all(NAME.match(example["input"]) for example in examples)
    worst = examples[0]
    predicted = cli.json("predict", "latest", worst["input"])["top"][0]  # the same name, read back by predict
    assert predicted["class"] == worst["predicted"]
    assert predicted["probability"] == pytest.approx(worst["probability"], abs=1e-3)
    check_gallery(report, run)
    for language in report["class_names"]:
        assert language in text
    assert worst["input"] in text
    shown = [line for line in text.splitlines() if not line.startswith("wrote ")]  # paths are as long as they are
    assert max(len(line) for line in shown) <= 100  # 18 languages: still a compact table


def test_a_regression_lists_its_largest_errors_and_draws_nothing(cli):
    trained(cli, CONFIGS / "linear_regression.yaml", "train.epochs=2")
    report, text = evaluated(cli)
    errors = report["largest_errors"]
    assert len(errors) == 16 and set(errors[0]) == {"index", "target", "prediction", "absolute_error"}
    assert [e["absolute_error"] for e in errors] == sorted((e["absolute_error"] for e in errors), reverse=True)
    for error in errors:
        assert isinstance(error["index"], int) and 0 <= error["index"] < report["samples"]
        assert error["absolute_error"] == pytest.approx(abs(error["target"] - error["prediction"]), rel=1e-5)
    assert report["plots"] == [] and not {"per_class", "highest_loss", "most_confused"} & set(report)
    assert "furthest off: largest errors (5 of 16, all in the JSON)" in text and f"{errors[0]['target']:.4g}" in text


def test_per_step_labels_get_class_scores_without_a_sample_ranking(cli, runs_dir):
    run = runs_dir / trained(cli, CONFIGS / "rnn_hello.yaml", "train.epochs=5")["run_id"]
    report, text = evaluated(cli)
    check_class_scores(report)
    assert "per_class" in report and "most_confused" in report and "highest_loss" not in report
    # the text shows the per-class table and the confused pairs as for any classifier, beside the predicted text
    assert "per class (recall = accuracy on that class" in text and "macro average" in text
    assert "most confused (true -> predicted):" in text and "predicted: " in text
    for name in report["class_names"]:
        assert f"│ {name} " in text
    assert not list((run / "plots").glob("highest_loss*"))


def test_old_and_damaged_reports_are_still_read_by_plot_runs_and_show(cli, runs_dir):
    run = runs_dir / trained(cli, CONFIGS / "toy_classes.yaml", "train.epochs=5")["run_id"]
    report, _ = evaluated(cli)
    new_keys = {"per_class", "macro_average", "most_confused", "highest_loss"}
    old = {key: value for key, value in report.items() if key not in new_keys | {"ok", "plots"}}
    (run / "eval" / "test-best.json").write_text(json.dumps(old))  # as learnai wrote it before this analysis
    (run / "eval" / "val-last.json").write_text('{"split": "val", "per_class": ')  # cut short
    (run / "eval.json").write_text(json.dumps({**old, "per_class": "not a table", "highest_loss": [1, None]}))
    plotted = cli("plot", "latest")
    assert plotted.exit_code == 0, plotted.output
    assert (run / "plots" / "confusion_matrix_test-best.png").is_file()
    for command in (["runs"], ["show", "latest"], ["runs", "--json"], ["show", "latest", "--json"]):
        result = cli(*command)
        assert result.exit_code == 0 and "Traceback" not in result.output, (command, result.output)


def test_a_csv_table_shows_its_rows_as_the_file_had_them_and_many_classes_stay_compact(cli, runs_dir, tmp_path):
    rng = np.random.default_rng(0)
    pairs = sorted({(int(w), int(h)) for w, h in rng.integers(0, 1000, (400, 2))})
    rows = {(w, h, f"kind{i % 40:02d}") for i, (w, h) in enumerate(pairs)}
    table = tmp_path / "shapes.csv"
    table.write_text("width,height,kind\n" + "".join(f"{w},{h},{kind}\n" for w, h, kind in sorted(rows)))
    arguments = [f"data.path={table}", "data.task=classification", "model.in_features=2", "model.out_features=40"]
    run = runs_dir / trained(cli, CONFIGS / "csv_example.yaml", *arguments, "train.epochs=1")["run_id"]
    report, text = evaluated(cli)
    check_class_scores(report)
    assert len(report["per_class"]) == 40
    for example in check_examples(report):
        width, height = re.fullmatch(r"width=(\d+), height=(\d+)", example["input"]).groups()  # not standardised
        assert (int(width), int(height), example["true"]) in rows
    check_gallery(report, run)
    assert "the 15 classes of lowest F1 (all 40 in the JSON)" in text
    listed = text.split("lowest F1", 1)[1].split("macro average", 1)[0]
    assert sum(f"kind{k:02d}" in listed for k in range(40)) == 15


LOSSES_BY_REFERENCE = '''
import torch
from torch import nn


def plain_cross_entropy(outputs, targets):
    return nn.functional.cross_entropy(outputs, targets)


class MeanOnly(nn.Module):
    """A loss with a `reduction` it does not take "none" for."""

    def __init__(self):
        super().__init__()
        self.reduction = "mean"

    def forward(self, outputs, targets):
        if self.reduction != "mean":
            raise ValueError("only mean")
        return nn.functional.cross_entropy(outputs, targets)
'''


@pytest.mark.parametrize("loss", ["plain_cross_entropy", "MeanOnly"])
def test_a_loss_with_no_per_sample_form_is_taken_one_sample_at_a_time(cli, config_copy, loss):
    config = config_copy("toy_classes")
    (config.parent / "my_losses.py").write_text(LOSSES_BY_REFERENCE)
    trained(cli, config, f"loss.name=my_losses.py:{loss}", "train.epochs=30", "optimizer.lr=0.1")
    report, _ = evaluated(cli)
    check_examples(report)  # each loss is -log(the true class's probability), as cross-entropy's is


def test_class_names_with_dollar_signs_are_drawn_as_written(cli, runs_dir, tmp_path):
    table = tmp_path / "prices.csv"
    table.write_text("a,b,price\n" + "".join(f"{i % 7},{i % 5},{'$1' if i % 3 else 'a$_$b'}\n" for i in range(60)))
    arguments = [f"data.path={table}", "data.task=classification", "model.in_features=2", "train.epochs=1"]
    run = runs_dir / trained(cli, CONFIGS / "csv_example.yaml", *arguments)["run_id"]
    report, text = evaluated(cli)
    assert report["class_names"] == ["$1", "a$_$b"] and "a$_$b" in text  # not maths to matplotlib
    check_gallery(report, run)


@pytest.mark.parametrize("budget", ["0", "64"], ids=["read-from-files", "cached-in-memory"])
def test_an_image_folder_run_draws_its_worst_colour_images(cli, runs_dir, tmp_path, budget):
    from tests.test_images import make_tree

    make_tree(tmp_path / "images", per_class=10)
    arguments = [f"data.root={tmp_path / 'images'}", "data.num_workers=0", f"data.memory_budget_mb={budget}"]
    run = runs_dir / trained(cli, CONFIGS / "image_folder.yaml", *arguments, "train.epochs=1")["run_id"]
    report, _ = evaluated(cli)
    check_class_scores(report)
    assert report["class_names"] == ["cat", "dog"]
    check_examples(report)
    image = check_gallery(report, run)
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 20  # the photos themselves, in colour


def test_feature_rows_are_shown_as_the_user_gave_them_without_rounding_noise():
    """Standardised, stored as float32 and scaled back, a 0 comes back as -5e-11 and 33.6 as 33.6000023: shown as
    the integer within float32's noise, else 6 significant digits."""
    import torch

    from learnai_cli.commands.error_analysis import _feature_text, user_number

    raw = torch.tensor([[0.0, 33.6, 148.0, 0.627], [6.0, 26.6, 85.0, 0.351], [1.0, 23.3, 183.0, 0.672]])
    mean, std = raw.double().mean(dim=0), raw.double().std(dim=0)
    info = {"standardization": {"features": ["pregnancies", "bmi", "glucose", "pedigree"]}}
    info["standardization"].update(mean=mean.tolist(), std=std.tolist())
    stored = ((raw.double() - mean) / std).float()  # as the training split holds them
    assert _feature_text(stored[0], info) == "pregnancies=0, bmi=33.6, glucose=148, pedigree=0.627"
    assert _feature_text(torch.tensor([1.0, 2.5]), {}) == "1, 2.5"
    assert [user_number(v) for v in (-5e-11, 3.0000000004, 2.5, 1234567.0, 0.000123456789, -7.25)] == [
        "0",
        "3",
        "2.5",
        "1234567",
        "0.000123457",
        "-7.25",
    ]
