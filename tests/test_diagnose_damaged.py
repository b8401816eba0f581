"""`learnai diagnose`, `show`, `runs`, `diff` and `report` on runs whose files were damaged after training (issue
27): a baseline of the wrong shape in meta.json, epoch records lost from metrics.jsonl, no baseline at all. Each is
said for what it is (a damaged_run finding naming the file), never a traceback, never a false "ended before its
first epoch" or "it beats the trivial baseline"."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import CONFIGS

DAMAGED_BASELINES = [
    {"val": {"loss": "x"}},
    {"val": 5},
    {"val": {"accuracy": "high"}},
    {"val": {"loss": None}},
    "text",
    [1],
    {"val": {"loss": True, "samples": "many"}, "predictor": 7},
    {"val": {"accuracy": float("nan"), "samples": -3}},
    {"val": {"loss": float("inf"), "accuracy": 5}},
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """One tiny classifier and one tiny regression run, trained once; each test damages a copy of them."""
    from tests.conftest import Cli

    runs = tmp_path_factory.mktemp("trained") / "runs"
    cli = Cli(runs)
    classifier = cli.json("train", CONFIGS / "logistic_regression.yaml", "train.epochs=2")["run_id"]
    regression = cli.json("train", CONFIGS / "linear_regression.yaml", "train.epochs=2")["run_id"]
    return {"classifier": runs / classifier, "regression": runs / regression}


def _copy(source: Path, runs_dir: Path, name: str) -> Path:
    target = runs_dir / f"2026-12-08_00-00-00_{name}"
    shutil.copytree(source, target)
    return target


def _edit_meta(run: Path, **fields) -> None:
    meta = json.loads((run / "meta.json").read_text())
    for key, value in fields.items():
        if value is _DELETE:
            meta.pop(key, None)
        else:
            meta[key] = value
    (run / "meta.json").write_text(json.dumps(meta))


_DELETE = object()


def _codes(diagnosis: dict) -> list[str]:
    return [finding["code"] for finding in diagnosis["findings"]]


@pytest.mark.parametrize("baseline", DAMAGED_BASELINES, ids=lambda b: json.dumps(b)[:30])
def test_a_damaged_baseline_is_a_damaged_run_warning_in_diagnose_show_runs_diff_and_report(
    cli, runs_dir, trained, baseline
):
    run, sound = _copy(trained["classifier"], runs_dir, "damaged"), _copy(trained["classifier"], runs_dir, "sound")
    _edit_meta(run, baseline=baseline)
    result = cli("diagnose", run.name, "--json")
    assert result.exit_code == 0, result.output
    diagnosis = json.loads(result.stdout)
    damaged = [f for f in diagnosis["findings"] if f["code"] == "damaged_run"]
    assert len(damaged) == 1 and damaged[0]["severity"] == "warning", diagnosis
    assert "meta.json's baseline is damaged" in damaged[0]["message"] and damaged[0]["evidence"]["file"] == "meta.json"
    assert "no_better_than_baseline" not in _codes(diagnosis)  # nothing sound to compare with
    for argv in (["diagnose", run.name], ["show", run.name], ["runs", "--columns", "baseline,best"]):
        shown = cli(*argv)
        assert shown.exit_code == 0 and "Traceback" not in shown.output, (argv, shown.output)
    assert "damaged_run: meta.json's baseline is damaged" in cli("diagnose", run.name).stdout
    listed = {row["id"]: row for row in cli.json("runs", "--columns", "baseline")["runs"]}
    assert listed[run.name]["columns"]["baseline"] is None  # no damaged value passed on as a score
    assert listed[sound.name]["columns"]["baseline"] > 0
    compared = {row["metric"]: row for row in cli.json("diff", run.name, sound.name)["metrics"]}
    assert compared["baseline_val_loss"]["a"] is None and compared["baseline_val_loss"]["b"] > 0, compared
    assert cli("report", run.name, "-o", str(runs_dir / "page.html")).exit_code == 0


def test_a_partly_damaged_baseline_keeps_its_sound_scores(cli, runs_dir, trained):
    run = _copy(trained["classifier"], runs_dir, "partly")
    baseline = json.loads((run / "meta.json").read_text())["baseline"]
    _edit_meta(run, baseline={**baseline, "val": {**baseline["val"], "loss": "x"}})
    diagnosis = cli.json("diagnose", run.name)
    assert diagnosis["baseline"]["val"] == {k: v for k, v in baseline["val"].items() if k != "loss"}
    damaged = next(f for f in diagnosis["findings"] if f["code"] == "damaged_run")
    assert damaged["evidence"]["problems"] == ['baseline.val.loss is "x", not a finite number']
    assert "use what is sound in it" in damaged["message"]
    assert "baseline (val): accuracy" in cli("show", run.name).stdout


def _epoch_train_losses(run: Path, value) -> None:
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for record in lines:
        if record.get("type", "epoch") == "epoch":
            record["train_loss"] = value
    (run / "metrics.jsonl").write_text("".join(json.dumps(record) + "\n" for record in lines))


DAMAGED_METRICS = {
    "deleted": (lambda run: [(run / n).unlink() for n in ("metrics.jsonl", "metrics.csv")], "metrics.jsonl is missing"),
    "emptied": (lambda run: (run / "metrics.jsonl").write_text(""), "metrics.jsonl is empty"),
    "text_nan": (lambda run: _epoch_train_losses(run, "NaN"), "metrics.jsonl holds no readable epoch record"),
    "json_nan": (lambda run: _epoch_train_losses(run, float("nan")), "hold no finite train_loss"),
}


@pytest.mark.parametrize("damage", DAMAGED_METRICS)
def test_lost_epoch_records_are_a_damaged_run_problem_not_no_epochs(cli, runs_dir, trained, damage):
    run = _copy(trained["regression"], runs_dir, "metrics")
    spoil, said = DAMAGED_METRICS[damage]
    spoil(run)
    diagnosis = cli.json("diagnose", run.name)
    assert diagnosis["status"] == "completed" and "no_epochs" not in _codes(diagnosis), diagnosis
    damaged = next(f for f in diagnosis["findings"] if f["code"] == "damaged_run")
    assert damaged["severity"] == "problem" and damaged["evidence"]["file"] == "metrics.jsonl"
    assert said in damaged["message"], damaged
    assert damage == "json_nan" or "meta.json counts 2 completed epoch(s)" in damaged["message"]
    text = cli("diagnose", run.name).stdout
    assert "before its first epoch" not in text and "no problem found" not in text


def test_a_damaged_line_among_sound_ones_is_a_warning_and_the_rest_is_judged(cli, runs_dir, trained):
    run = _copy(trained["regression"], runs_dir, "oneline")
    lines = (run / "metrics.jsonl").read_text().splitlines()
    lines.insert(1, "{not json")
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    damaged = next(f for f in cli.json("diagnose", run.name)["findings"] if f["code"] == "damaged_run")
    assert damaged["severity"] == "warning" and "metrics.jsonl line 2 is not JSON" in damaged["message"]


def test_a_run_that_ended_before_its_first_epoch_is_still_no_epochs(cli, runs_dir, trained):
    run = _copy(trained["regression"], runs_dir, "early")
    (run / "metrics.jsonl").write_text("")
    _edit_meta(run, epochs_completed=0)
    assert "damaged_run" not in _codes(diagnosis := cli.json("diagnose", run.name))
    assert "no_epochs" in _codes(diagnosis)


def test_without_a_baseline_no_comparison_with_it_is_claimed(cli, runs_dir, trained):
    run = _copy(trained["regression"], runs_dir, "legacy")
    _edit_meta(run, baseline=_DELETE)
    (run / "metrics.jsonl").write_text(  # a plain, converged curve: no finding at all
        "".join(
            json.dumps({"type": "epoch", "epoch": e, "step": 10 * e, "train_loss": 0.1, "val_loss": 0.1}) + "\n"
            for e in (1, 2)
        )
    )
    diagnosis = cli.json("diagnose", run.name)
    assert diagnosis["baseline"] is None and diagnosis["findings"] == [], diagnosis
    text = cli("diagnose", run.name).stdout
    assert "no baseline was recorded to compare with" in text and "beats the trivial baseline" not in text
    page = runs_dir / "page.html"
    assert cli("report", run.name, "-o", str(page)).exit_code == 0
    assert "beats the trivial baseline" not in page.read_text() and "no baseline was recorded" in page.read_text()


def test_a_young_folder_without_meta_json_is_not_judged(cli, runs_dir, trained):
    run = _copy(trained["regression"], runs_dir, "young")
    (run / "meta.json").unlink()
    os.utime(run)  # just created: `learnai runs` shows it as starting
    diagnosis = cli.json("diagnose", run.name)
    assert diagnosis["status"] == "starting"
    text = cli("diagnose", run.name).stdout
    assert "no problem found" not in text and "not judged yet: it is starting" in text


def test_runs_baseline_column_is_the_baseline_of_the_metric_best_is_and_says_which(cli, runs_dir, trained):
    classifier = _copy(trained["classifier"], runs_dir, "classifier")
    regression = _copy(trained["regression"], runs_dir, "regression")
    scores = json.loads((classifier / "meta.json").read_text())["baseline"]["val"]
    rows = {row["id"]: row for row in cli.json("runs", "--columns", "baseline,best,baseline_val_accuracy")["runs"]}
    # best is the val loss (train.monitor): the baseline beside it is the baseline's val loss, not its accuracy
    assert rows[classifier.name]["columns"]["baseline"] == scores["loss"]
    assert rows[classifier.name]["labels"] == {"baseline": "val_loss"}
    assert rows[classifier.name]["columns"]["baseline_val_accuracy"] == scores["accuracy"]
    assert rows[regression.name]["columns"]["baseline_val_accuracy"] is None
    table = cli("runs", "--columns", "id,baseline,best").stdout
    assert f"val_loss {scores['loss']:.4g}" in table
    assert table.count(classifier.name) == 1  # the id is the table's first column already: not shown twice
    _edit_meta(classifier, best={"metric": "val_accuracy", "value": 0.5, "epoch": 1})
    row = next(r for r in cli.json("runs", "--columns", "baseline")["runs"] if r["id"] == classifier.name)
    assert row["columns"]["baseline"] == scores["accuracy"] and row["labels"] == {"baseline": "val_accuracy"}
