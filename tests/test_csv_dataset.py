"""The generic `csv` dataset through the real CLI: header detection, target by name or index, inferred task,
class names, standardisation with the training split's statistics, and the errors a learner's own file hits."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from tests.conftest import CONFIGS


def write_config(tmp_path, data: dict, model: dict, loss: str, monitor: str = "val_loss", epochs: int = 3):
    config = {
        "name": "csv_test",
        "seed": 0,
        "data": {"name": "csv", "path": "table.csv", "val_split": 0.2, "test_split": 0.2, **data},
        "model": model,
        "loss": {"name": loss},
        "optimizer": {"name": "adam", "lr": 0.05},
        "train": {"epochs": epochs, "batch_size": 16, "monitor": monitor, "mode": "min"},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def species_table(tmp_path, rows: int = 90):
    """Two features; the species is decided by the first (setosa < 3.3 <= virginica), with a header row."""
    rng = np.random.default_rng(0)
    lines = ["length,width,species"]
    for _ in range(rows):
        length, width = rng.uniform(0, 6), rng.uniform(10, 20)
        lines.append(f"{length:.3f},{width:.3f},{'setosa' if length < 3.3 else 'virginica'}")
    (tmp_path / "table.csv").write_text("\n".join(lines) + "\n")


def regression_table(tmp_path, header: bool, rows: int = 80):
    """y = 3 x0 - 2 x1 + 100, target in the first column; x1 is large, so standardisation matters."""
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.normal(5, 2, rows), rng.normal(1000, 50, rows)])
    y = 3 * x[:, 0] - 2 * x[:, 1] / 50 + 100 + rng.uniform(-0.5, 0.5, rows)
    lines = (["price,size,area"] if header else []) + [f"{a:.4f},{b:.4f},{c:.4f}" for a, (b, c) in zip(y, x)]
    (tmp_path / "table.csv").write_text("\n".join(lines) + "\n")
    return x


MLP_TWO_CLASSES = {"name": "mlp", "in_features": 2, "hidden": [8], "out_features": 2}
LINEAR = {"name": "mlp", "in_features": 2, "hidden": [], "out_features": 1}


def test_header_and_categorical_target_by_name_give_class_names_in_predict(cli, tmp_path):
    species_table(tmp_path)
    config = write_config(tmp_path, {"target": "species"}, MLP_TWO_CLASSES, "cross_entropy", "val_accuracy", 20)
    payload = cli.json("train", config, "train.mode=max")
    assert payload["status"] == "completed" and payload["final"]["val_accuracy"] is not None
    result = cli("predict", payload["run_id"], "5.5,15", "--json")
    top = json.loads(result.stdout)["top"]
    assert sorted(t["class"] for t in top) == ["setosa", "virginica"]
    assert top[0]["class"] == "virginica"
    report = cli.json("eval", payload["run_id"])
    assert report["data_info"]["target_column"] == "species" and report["data_info"]["task"] == "classification"


def test_no_header_target_by_index_infers_regression(cli, tmp_path):
    regression_table(tmp_path, header=False)
    config = write_config(tmp_path, {"target": 0}, LINEAR, "mse", "val_mse", 40)
    payload = cli.json("train", config)
    assert payload["status"] == "completed" and payload["final"]["val_mse"] is not None
    report = cli.json("eval", payload["run_id"])
    assert report["data_info"]["task"] == "regression" and report["data_info"]["feature_columns"] == ["1", "2"]
    assert "mse" in report["metrics"]


def test_standardisation_uses_the_training_split_only_and_predict_applies_it(cli, tmp_path):
    from learnai_cli import config as config_module
    from learnai_cli.commands.evaluate import load_trained
    from learnai_cli.commands.predict import predict
    from learnai_cli.experiment import build_data
    from learnai_cli.rundir import resolve

    x = regression_table(tmp_path, header=True)
    config = write_config(tmp_path, {"target": "price"}, LINEAR, "mse", "val_mse")
    experiment_config = config_module.load(config)
    data, task = build_data(experiment_config)
    stats = data.info["standardization"]
    mean, std = torch.tensor(stats["mean"]), torch.tensor(stats["std"])
    assert task == "regression" and stats["features"] == ["size", "area"]
    raw_train = data.train.inputs * std + mean  # the training rows, unscaled: which rows of the file they are
    rows = torch.from_numpy(x).float()
    in_train = [bool(((rows - r).abs().max(dim=1).values < 1e-2).any()) for r in raw_train]
    assert all(in_train) and len(raw_train) == 48  # 80 rows less 16 val and 16 test
    expected = raw_train.double().mean(dim=0)
    assert mean.tolist() == pytest.approx(expected.tolist(), rel=1e-4)
    assert std.tolist() == pytest.approx(raw_train.double().std(dim=0, correction=0).tolist(), rel=1e-3)
    assert mean.tolist() != pytest.approx(rows.double().mean(dim=0).tolist(), rel=1e-6)  # not the whole file's
    assert data.train.inputs.mean(dim=0).abs().max() < 1e-4  # scaled with the same statistics
    assert data.val.inputs.mean(dim=0).abs().max() > 1e-4

    payload = cli.json("train", config)
    report = cli.json("eval", payload["run_id"])
    assert report["data_info"]["standardization"]["mean"] == pytest.approx(stats["mean"])
    assert "standardised" in cli("eval", payload["run_id"]).stdout
    run = resolve(cli.runs_dir, payload["run_id"])
    experiment, _, _ = load_trained(run)
    with torch.no_grad():
        expected_output = experiment.model((torch.tensor([[5.0, 1000.0]]) - mean) / std).item()
    assert predict(run, "5.0,1000.0")["prediction"][0] == pytest.approx(expected_output, rel=1e-5)
    result = cli("predict", payload["run_id"], "5.0")
    assert result.exit_code == 2 and "2 comma-separated numbers (size, area)" in result.output


def test_integer_targets_with_few_values_are_classes_named_by_value(tmp_path):
    from learnai_cli import registry

    (tmp_path / "t.csv").write_text("".join(f"{i % 7},{i % 3 + 1}\n" for i in range(30)))
    splits = registry.DATASETS.build("csv", {"path": str(tmp_path / "t.csv")})
    assert splits.task == "classification" and splits.class_names == ["1", "2", "3"]
    assert splits.train.targets.tolist()[:4] == [0, 1, 2, 0]
    forced = registry.DATASETS.build("csv", {"path": str(tmp_path / "t.csv"), "task": "regression"})
    assert forced.task == "regression" and forced.train.targets.shape == (30, 1)


@pytest.mark.parametrize(
    "content,data,expected",
    [
        ("a,b,y\n1,2,0\n3,4,1\n", {"target": "label"}, "has no column 'label'"),
        ("a,b,y\n1,2,0\n3,4,1\n", {"features": ["a", "c"]}, "Columns: a, b, y"),
        ("1,2,0\n3,4,1\n", {"target": 7}, "column index 7 is out of range"),
        ("a,b,y\n1,2,0\n3,oops,1\n", {}, "row 3, column 'b': 'oops' is not a number"),
        ("1,2,0\n3,,1\n", {}, "row 2, column index 1: '' is empty"),
        ("", {}, "is empty"),
        ("a,b,y\n", {}, "has a header (a, b, y) but no rows"),
        ("a,b,y\n1,2,yes\n3,4,yes\n", {}, "target column 'y' holds one class ('yes') in all 2 rows"),
        ("a,b,y\n1,2,yes\n3,4,no\n", {"task": "regression"}, "row 2, column 'y': 'yes' is not a number"),
        ("a,b,y\n1,2,0\n3,4,1,5\n", {}, "row 3 has 4 columns, but row 1 has 3"),
        # a gap in the target is refused, never made a class of its own nor a reason to switch task
        ("a,b,y\n1,2,0\n3,4,1\n5,6,nan\n", {}, "row 4, column 'y': the target is 'nan', not a finite number"),
        ("a,b,y\n1,2,0.5\n3,4,NaN\n5,6,1.5\n", {}, "row 3, column 'y': the target is 'NaN', not a finite"),
        ("a,b,y\n1,2,0.5\n3,4,-inf\n", {"task": "regression"}, "row 3, column 'y': the target is '-inf'"),
        ("a,b,y\n1,2,cat\n3,4,nan\n5,6,dog\n", {"task": "classification"}, "the target is 'nan', not a finite"),
        ("a,b,y\n1,2,0\n3,4,NA\n5,6,1\n", {}, "row 3, column 'y': the target is 'NA', a missing value"),
        ("a,b,y\n1,2,0.5\n3,4,null\n5,6,1\n", {}, "the target is 'null', a missing value in a column of numbers"),
        ("a,b,y\n1,2,0\n3,4,\n5,6,1\n", {}, "row 3, column 'y': the target is empty"),
        ("a,b,y\n1,2,0\n3,4,1e39\n", {}, "the target is '1e39', too large for float32"),
    ],
)
def test_errors_name_the_column_row_or_fix(cli, tmp_path, content, data, expected):
    (tmp_path / "table.csv").write_text(content)
    config = write_config(tmp_path, data, MLP_TWO_CLASSES, "cross_entropy")
    result = cli("train", config)
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split()), result.output


def test_monitor_may_name_any_task_metric_but_not_an_unknown_one(cli, tmp_path):
    species_table(tmp_path)
    assert cli("config", write_config(tmp_path, {}, MLP_TWO_CLASSES, "cross_entropy", "val_mae")).exit_code == 0
    result = cli("config", write_config(tmp_path, {}, MLP_TWO_CLASSES, "cross_entropy", "val_acc"))
    assert result.exit_code == 2 and "val_accuracy, val_mse, val_mae" in result.output


def test_the_example_config_reads_the_shipped_csv(cli):
    payload = cli.json("train", CONFIGS / "csv_example.yaml", "train.epochs=2")
    assert payload["status"] == "completed"
    result = json.loads(cli("predict", payload["run_id"], "--json", "--", "0,0,0,0,0,0,0,0").stdout)
    assert sorted(t["class"] for t in result["top"]) == ["0", "1"]


def test_predict_scales_with_the_statistics_recorded_at_training_after_the_csv_changed(cli, tmp_path, caplog):
    regression_table(tmp_path, header=True)
    config = write_config(tmp_path, {"target": "price"}, LINEAR, "mse", "val_mse")
    run_id = cli.json("train", config)["run_id"]
    before = cli.json("predict", run_id, "5.0,1000.0")["prediction"][0]
    recorded = json.loads((cli.runs_dir / run_id / "meta.json").read_text())["standardization"]
    assert recorded["features"] == ["size", "area"] and len(recorded["mean"]) == 2
    table = tmp_path / "table.csv"  # the user edits the file after training: every value of a column shifts
    lines = table.read_text().splitlines()
    table.write_text(
        "\n".join([lines[0]] + [f"{p},{float(s) + 100},{a}" for p, s, a in (r.split(",") for r in lines[1:])])
    )
    after = cli.json("predict", run_id, "5.0,1000.0")["prediction"][0]
    assert after == pytest.approx(before, rel=1e-6)  # as trained, not rescaled by the edited file
    assert "scaled with the recorded ones" in caplog.text


def test_a_nan_in_a_many_valued_regression_target_is_refused_not_made_one_class_per_value(cli, tmp_path):
    regression_table(tmp_path, header=True)
    with open(tmp_path / "table.csv", "a") as table:
        table.write("nan,5.0,1000.0\n")
    result = cli("train", write_config(tmp_path, {"target": "price"}, LINEAR, "mse"))
    assert result.exit_code == 2 and "row 82, column 'price': the target is 'nan'" in result.output, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8"])
@pytest.mark.parametrize("gzipped", [False, True])
def test_a_byte_order_mark_is_not_part_of_the_first_column_name(cli, tmp_path, encoding, gzipped):
    import gzip

    species_table(tmp_path)
    text = (tmp_path / "table.csv").read_text().replace("length,width,species", "species,width,length", 1)
    text = "\n".join([text.split("\n")[0]] + [",".join(line.split(",")[::-1]) for line in text.split("\n")[1:]])
    data = text.encode(encoding)
    name = "table.csv.gz" if gzipped else "table.csv"
    (tmp_path / name).write_bytes(gzip.compress(data) if gzipped else data)
    config = write_config(
        tmp_path, {"path": name, "target": "species", "features": ["width", "length"]}, MLP_TWO_CLASSES, "cross_entropy"
    )
    payload = cli.json("train", config, "train.epochs=1")
    assert payload["status"] == "completed", payload
    report = cli.json("eval", payload["run_id"])
    assert report["data_info"]["target_column"] == "species"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("odd", ["\x0c", "\x85", "\u2028", "\u2029", "\x1c", "\x0b"])
def test_only_newlines_end_a_row_other_unicode_line_breaks_are_text(cli, tmp_path, newline, odd):
    rows = [f"{i},{i % 5},{'tall' if i % 2 else 'sh' + odd + 'ort'}" for i in range(30)]
    (tmp_path / "table.csv").write_bytes(newline.join(["a,b,size"] + rows + [""]).encode())
    payload = cli.json("train", write_config(tmp_path, {}, MLP_TWO_CLASSES, "cross_entropy"), "train.epochs=1")
    assert payload["status"] == "completed" and payload["final"]["samples"] == 18, payload
    top = json.loads(cli("predict", payload["run_id"], "1,2", "--json").stdout)["top"]
    assert sorted(t["class"] for t in top) == ["sh" + odd + "ort", "tall"]
