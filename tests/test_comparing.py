"""Comparing runs through the real CLI: `diff`, `runs --columns/--sort/--filter`, and `plot --compare --metric` with
a sweep or study id standing for its runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from learnai_cli.rundir import RunDir
from tests.conftest import CONFIGS, Cli

TOY = CONFIGS / "toy_classes.yaml"


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A two-point sweep over the learning rate, and an Adam run that was evaluated and tagged as a study's trial
    (as `learnai tune` tags its runs in meta.json)."""
    cli = Cli(tmp_path_factory.mktemp("compare") / "runs")
    sweep = cli.json("sweep", TOY, "optimizer.lr=0.01,0.5", "train.epochs=3")
    adam = cli.json("train", TOY, "train.epochs=2", "optimizer.name=adam")
    evaluated = cli.json("eval", adam["run_id"])
    RunDir(Path(adam["run_dir"])).update_meta(study="study_lr", trial=0)
    low, high = (next(r["run_id"] for r in sweep["rows"] if r["optimizer.lr"] == lr) for lr in ("0.01", "0.5"))
    return cli, sweep["sweep_id"], low, high, adam["run_id"], evaluated


def test_runs_columns_show_last_epoch_test_config_and_meta_values(compared):
    cli, sweep_id, low, high, adam, evaluated = compared
    listed = cli.json("runs", "--columns", "val_accuracy,test_accuracy,duration,optimizer.lr,sweep")
    columns = {row["id"]: row["columns"] for row in listed["runs"]}
    last = RunDir(cli.runs_dir / low).epoch_records()[-1]
    assert columns[low]["val_accuracy"] == last["val_accuracy"] and columns[low]["optimizer.lr"] == 0.01
    assert columns[adam]["test_accuracy"] == evaluated["metrics"]["accuracy"] and columns[low]["test_accuracy"] is None
    assert columns[high]["sweep"] == sweep_id and columns[adam]["sweep"] is None
    assert all(isinstance(c["duration"], float) for c in columns.values())
    table = cli("runs", "--columns", "val_loss,test_accuracy").stdout
    assert "val_loss" in table and "test_accuracy" in table and "started" not in table


def test_runs_sort_by_any_column_with_missing_values_last(compared):
    cli, sweep_id, low, high, adam, _ = compared
    rows = cli.json("runs", "--sort", "val_loss", "--columns", "val_loss")["runs"]
    losses = [row["columns"]["val_loss"] for row in rows]
    assert losses == sorted(losses) and len(rows) == 3
    descending = [row["id"] for row in cli.json("runs", "--sort", "val_loss", "--desc")["runs"]]
    assert descending == [row["id"] for row in reversed(rows)]
    for direction in ([], ["--desc"]):  # only the evaluated run has a test result: first either way
        assert cli.json("runs", "--sort", "test_accuracy", *direction)["runs"][0]["id"] == adam


def test_runs_filter_by_sweep_study_config_and_meta(compared):
    cli, sweep_id, low, high, adam, _ = compared

    def ids(*filters: str) -> set[str]:
        return {row["id"] for row in cli.json("runs", *(f for spec in filters for f in ("--filter", spec)))["runs"]}

    assert ids(f"sweep={sweep_id}") == {low, high}
    assert ids("study=study_lr") == {adam} and ids("trial=0") == {adam}
    assert ids("optimizer.lr=5e-1") == {high} and ids(f"sweep={sweep_id}", "optimizer.lr=0.01") == {low}
    assert ids("status=completed") == {low, high, adam} and ids("sweep=sweep_other") == set()


def test_list_values_are_filtered_as_yaml_and_shown_as_json(compared):
    cli, sweep_id, low, high, adam, _ = compared
    for spec in ("optimizer.betas=[0.9, 0.999]", "optimizer.betas=[0.9,0.999]", "optimizer.betas=[9e-1, 0.999]"):
        assert [row["id"] for row in cli.json("runs", "--filter", spec)["runs"]] == [adam], spec
    assert cli.json("runs", "--filter", "optimizer.betas=[0.9]")["runs"] == []
    assert cli.json("runs", "--filter", "optimizer.betas=(0.9, 0.999)")["runs"] == []  # not a YAML list
    table = cli("runs", "--columns", "optimizer.betas", "--filter", "study=study_lr").stdout
    assert "[0.9, 0.999]" in table, table


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--columns", "val_acuracy"], "Did you mean 'val_accuracy'?"),
        (["--sort", "val_los"], "Did you mean 'val_loss'?"),
        (["--filter", "sweeep=x"], "Did you mean 'sweep'?"),
        (["--filter", "sweep"], "must look like KEY=VALUE"),
        (["--columns", ","], "--columns needs one or more names"),
    ],
)
def test_runs_refuses_unknown_names_and_malformed_filters(compared, arguments, message):
    cli = compared[0]
    result = cli("runs", *arguments)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert cli.json("runs", *arguments)["ok"] is False


def test_diff_names_the_config_keys_that_differ_and_shows_results_side_by_side(compared):
    cli, _, low, high, adam, evaluated = compared
    diffed = cli.json("diff", low, high)
    assert diffed["runs"] == [low, high]
    assert diffed["config"] == [{"key": "optimizer.lr", "a": 0.01, "b": 0.5}]
    metrics = {row["metric"]: (row["a"], row["b"]) for row in diffed["metrics"]}
    finals = [RunDir(cli.runs_dir / run).epoch_records()[-1]["val_loss"] for run in (low, high)]
    assert metrics["final_val_loss"] == tuple(finals) and metrics["status"] == ("completed", "completed")
    assert metrics["best_val_accuracy"][0] is not None and metrics["epochs"] == (3, 3)

    against_adam = cli.json("diff", low, adam)
    keys = {row["key"]: row for row in against_adam["config"]}
    assert keys["optimizer.name"]["a"] == "sgd" and keys["optimizer.name"]["b"] == "adam"
    assert keys["optimizer.betas"]["missing_in"] == "a" and keys["train.epochs"]["b"] == 2
    assert {row["metric"]: row["b"] for row in against_adam["metrics"]}["test_accuracy"] == evaluated["metrics"][
        "accuracy"
    ]
    text = cli("diff", low, adam).stdout
    assert "config keys that differ" in text and "(absent)" in text and "final_val_loss" in text


def test_diff_of_an_unknown_run_is_a_usage_error(compared):
    cli, _, low, *_ = compared
    result = cli("diff", low, "no-such-run")
    assert result.exit_code == 2 and "no run 'no-such-run'" in result.stderr


def test_plot_compare_a_metric_over_a_sweep_and_a_study(compared, tmp_path):
    cli, sweep_id, *_ = compared
    drawn = cli.json("plot", sweep_id, "study_lr", "--compare", "--metric", "val_accuracy", "-o", tmp_path / "acc.png")
    assert Path(drawn["plots"][0]).stat().st_size > 0
    default = cli.json("plot", sweep_id, "--compare")["plots"][0]
    assert Path(default) == cli.runs_dir / "comparison.png" and Path(default).stat().st_size > 0
    typo = cli("plot", sweep_id, "--compare", "--metric", "val_acc")
    assert typo.exit_code == 2 and "Did you mean 'val_accuracy'?" in typo.stderr
    alone = cli("plot", sweep_id, "--metric", "val_accuracy")
    assert alone.exit_code == 2 and "add --compare" in alone.stderr
    unknown = cli("plot", "sweep_nope", "--compare")
    assert unknown.exit_code == 2 and "no run, sweep or study 'sweep_nope'" in unknown.stderr


def test_plot_compare_names_a_run_without_the_metric_instead_of_an_empty_line(compared, tmp_path):
    from learnai_cli.plots import compare as compare_plots

    cli, sweep_id, low, *_ = compared
    regression = cli.json("train", CONFIGS / "linear_regression.yaml", "train.epochs=2")["run_id"]
    drawn = cli.json("plot", low, regression, "--compare", "--metric", "val_accuracy", "-o", tmp_path / "acc.png")
    assert Path(drawn["plots"][0]).stat().st_size > 0
    figure = compare_plots.compare_metric_figure([RunDir(cli.runs_dir / r) for r in (low, regression)], "val_accuracy")
    axis = figure.axes[0]
    drawn_lines = [line for line in axis.get_lines() if len(line.get_xdata())]
    assert len(drawn_lines) == 1, "one run has val_accuracy: one line"
    legend = [text.get_text() for text in axis.get_legend().get_texts()]
    assert any(text.endswith("(no val_accuracy recorded)") for text in legend), legend
    cli("rm", regression, "--yes")  # the module's other tests count the runs they list


def test_plot_compare_labels_runs_by_their_resolved_configs(compared):
    from learnai_cli.plots.compare import run_labels

    cli, sweep_id, low, high, adam, _ = compared  # adam's command line says optimizer.name=adam train.epochs=2
    labels, shared = run_labels([RunDir(cli.runs_dir / run) for run in (low, high, adam)])
    assert labels == [  # "…": train.epochs and each optimizer's own arguments differ too
        "optimizer.name=sgd optimizer.lr=0.01 …",
        "optimizer.name=sgd optimizer.lr=0.5 …",
        "optimizer.name=adam optimizer.lr=0.01 …",
    ]
    assert shared[:3] == ["data.name=toy_classes", "model.name=mlp", "loss.name=cross_entropy"]
    labels, shared = run_labels([RunDir(cli.runs_dir / run) for run in (low, high)])
    assert labels == ["optimizer.lr=0.01", "optimizer.lr=0.5"] and shared[0] == "train.epochs=3"


def test_plot_compare_shows_a_one_epoch_run_beside_longer_ones(cli, tmp_path):
    from learnai_cli.plots.compare import compare_figure
    from tests.test_plots import lines_of, pixels_of

    short = cli.json("train", TOY, "train.epochs=1", "train.log_every_steps=1")["run_id"]
    longer = cli.json("train", TOY, "train.epochs=6", "optimizer.lr=0.5")["run_id"]
    assert cli.json("plot", short, longer, "--compare", "-o", tmp_path / "c.png")["plots"] == [str(tmp_path / "c.png")]
    axis = compare_figure([RunDir(cli.runs_dir / run) for run in (short, longer)]).axes[0]
    first = lines_of(axis)[0]  # the 1-epoch run's train loss: one point, so a dot
    assert axis.get_xlabel() == "epoch" and first[0] == [1] and first[4] == "o"
    assert pixels_of(axis, first[2]) > 20


def test_comparing_reads_run_files_without_importing_torch(compared):
    from tests.test_safety import run_cli_checking_torch_stays_unimported

    cli, sweep_id, low, high, *_ = compared
    root = ["--runs-dir", str(cli.runs_dir)]
    for argv in (["diff", low, high], ["runs", "--columns", "optimizer.lr,val_loss", "--filter", f"sweep={sweep_id}"]):
        done = run_cli_checking_torch_stays_unimported([*argv, *root])
        assert done.returncode == 0 and low in done.stdout, done.stderr
    chart = cli.runs_dir.parent / "labelled.svg"  # labels read each run's config.yaml: still no torch
    done = run_cli_checking_torch_stays_unimported(["plot", low, high, "--compare", "-o", str(chart), *root])
    assert done.returncode == 0 and chart.read_bytes().startswith(b"<?xml"), done.stderr


def test_a_misspelt_metric_is_matched_to_its_nearest_name_everywhere(cli, tmp_path):
    # val_mea is one swap from val_mae and two changes from val_mse: difflib alone ties them and says val_mse.
    run = cli.json("train", CONFIGS / "linear_regression.yaml", "train.epochs=1")["run_id"]
    for arguments in (
        ["plot", run, run, "--compare", "--metric", "val_mea", "-o", tmp_path / "mae.png"],
        ["runs", "--columns", "val_mea"],
        ["runs", "--sort", "val_mea"],
        ["config", CONFIGS / "linear_regression.yaml", "train.monitor=val_mea"],
    ):
        result = cli(*arguments)
        assert result.exit_code == 2 and "Did you mean 'val_mae'?" in result.stderr, (arguments, result.stderr)


@pytest.mark.parametrize("arguments", [["--status", "prunned"], ["--filter", "status=prunned"]])
def test_runs_refuses_a_status_no_run_can_have(compared, arguments):
    cli = compared[0]
    result = cli("runs", *arguments)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "prunned" in result.stderr and "Did you mean 'pruned'?" in result.stderr, result.stderr
    assert "Valid: running, starting, completed, pruned, failed" in result.stderr
    assert cli.json("runs", *arguments)["ok"] is False
    valid = arguments[0], arguments[1].replace("prunned", "pruned")  # a real status no listed run has: no rows
    assert cli.json("runs", *valid)["runs"] == []


def test_a_metrics_record_of_the_wrong_shape_is_skipped_with_a_warning(cli, caplog):
    trained = cli.json("train", TOY, "train.epochs=2")
    run = RunDir(Path(trained["run_dir"]))
    last = run.epoch_records()[-1]
    lines = len(run.metrics_path.read_text().splitlines())
    with run.metrics_path.open("a") as file:  # JSON objects all, but no epoch records a reader can use
        file.write('{"type": "epoch", "epoch": "x"}\n{"type": "epoch", "epoch": 3, "val_loss": "low"}\n')
        file.write('{"type": "step", "epoch": 3, "step": true, "train_loss": 0.1}\n{"epoch": null}\n')
    columns = cli.json("runs", "--columns", "epoch,val_loss")["runs"][0]["columns"]
    assert columns == {"epoch": 2, "val_loss": last["val_loss"]}  # the last whole epoch, not the damaged one
    for number, says in enumerate(
        ['whose epoch is "x", not a whole number', 'whose val_loss is "low", not a number', "whose step is true"],
        start=lines + 1,
    ):
        assert f"line {number} is a" in caplog.text and says in caplog.text, caplog.text
    assert f"line {lines + 4} is an epoch record whose epoch is null" in caplog.text
    diffed = {row["metric"]: row["a"] for row in cli.json("diff", run.id, run.id)["metrics"]}
    assert diffed["final_val_loss"] == last["val_loss"] and cli("plot", run.id).exit_code == 0


def test_sort_orders_lists_of_numbers_item_by_item(cli):
    for hidden in ("[128, 64]", "[4]", "[16, 8]"):  # as text: [128, 64] < [16, 8] < [4]
        cli.json("train", TOY, "train.epochs=1", f"model.hidden={hidden}")
    for direction, expected in (([], [[4], [16, 8], [128, 64]]), (["--desc"], [[128, 64], [16, 8], [4]])):
        rows = cli.json("runs", "--sort", "model.hidden", "--columns", "model.hidden", *direction)["runs"]
        assert [row["columns"]["model.hidden"] for row in rows] == expected


def test_duration_is_shown_as_seconds_of_training(cli):
    run = RunDir(Path(cli.json("train", TOY, "train.epochs=1")["run_dir"]))
    run.update_meta(duration_s=0.047)  # a tiny run: its loop took 0.047 s, its command about a second
    columns = cli.json("runs", "--columns", "duration,duration_s")["runs"][0]["columns"]
    assert columns == {"duration": 0.047, "duration_s": 0.047}
    assert "duration (s)" in cli("runs", "--columns", "duration,val_loss").stdout  # the bare 0.047 gets its unit
    listed = cli("runs").stdout
    assert "train time" in listed and "0.047s" in listed and "0.0s" not in listed
    assert "1 epochs in 0.047s of training" in cli("show", run.id).stdout
    assert {row["metric"]: row["a"] for row in cli.json("diff", run.id, run.id)["metrics"]}["duration_s"] == 0.047
