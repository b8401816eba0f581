"""Fitting the tools users have: show, runs filters, rm, gc, init, schema, TensorBoard, completion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import CONFIGS


@pytest.fixture
def two_runs(cli):
    good = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=2")
    bad = cli(
        "train",
        CONFIGS / "linear_regression.yaml",
        "optimizer.name=sgd",
        "optimizer.lr=1e6",
        "train.epochs=2",
        "train.log_every_steps=1",
    )
    assert bad.exit_code == 1
    return good["run_id"], next(r["id"] for r in cli.json("runs")["runs"] if r["id"] != good["run_id"])


def test_show_and_filters(cli, two_runs):
    good, bad = two_runs
    shown = cli.json("show", good)
    assert shown["status"] == "completed" and shown["config"]["name"] == "toy_classes"
    assert {"config.yaml", "meta.json", "checkpoints/last.pt"} <= {f["path"] for f in shown["files"]}
    assert "best val_accuracy" in cli("show", good).stdout
    assert [r["id"] for r in cli.json("runs", "--status", "diverged")["runs"]] == [bad]
    assert [r["id"] for r in cli.json("runs", "--name", "toy")["runs"]] == [good]


def test_rm_and_gc_ask_first_and_take_yes(cli, runs_dir, two_runs):
    good, bad = two_runs
    refused = cli("rm", good)
    assert refused.exit_code == 2 and "--yes" in refused.stderr and (runs_dir / good).exists()
    assert cli.json("rm", good, "--yes")["removed"] == [good] and not (runs_dir / good).exists()
    cli("train", CONFIGS / "toy_classes.yaml", "train.epochs=1")
    removed = cli.json("gc", "--keep-last", "1", "--yes")["removed"]
    assert removed == [bad] and len(cli.json("runs")["runs"]) == 1


def test_init_writes_a_valid_config_with_comments(cli, tmp_path):
    made = cli.json("init", "my_fit", "--from", "generalfit", "--dir", str(tmp_path))
    text = Path(made["config"]).read_text()
    assert yaml.safe_load(text)["name"] == "my_fit" and "# GeneralFit" in text
    assert cli("config", made["config"]).exit_code == 0
    again = cli("init", "my_fit", "--from", "generalfit", "--dir", str(tmp_path))
    assert again.exit_code == 2 and "exists already" in again.stderr
    assert "Shipped: bilstm_padding" in cli("init", "x", "--from", "nope", "--dir", str(tmp_path)).stderr


def test_schema_is_json_schema_of_the_config(cli):
    schema = json.loads(cli("schema").stdout)
    assert schema["title"] == "learnai experiment config"
    assert {"data", "model", "loss", "optimizer", "train"} <= set(schema["properties"])
    assert set(schema["required"]) >= {"name", "data", "model", "loss", "optimizer"}


def test_tensorboard_logger_writes_event_files(cli):
    payload = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=2", "train.loggers=[csv, tensorboard]")
    events = list((Path(payload["run_dir"]) / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    assert (Path(payload["run_dir"]) / "metrics.csv").exists()  # CSV stays the record


def test_run_id_completion(cli, two_runs):
    from tests.test_completion import completions

    offered = completions("learnai show ", cli.runs_dir)  # as the shell asks (bash's protocol), from LEARNAI_RUNS_DIR
    assert offered[0] == "latest" and set(two_runs) <= set(offered)
    assert completions("learnai show " + two_runs[0][:19] + "_toy", cli.runs_dir) == [two_runs[0]]


def test_no_progress_gives_plain_epoch_lines(cli):
    result = cli.runner.invoke(
        __import__("learnai_cli.cli", fromlist=["app"]).app,
        ["train", str(CONFIGS / "toy_classes.yaml"), "train.epochs=2", "--no-progress"],
        env={"LEARNAI_RUNS_DIR": str(cli.runs_dir)},
    )
    assert (
        result.exit_code == 0
        and "\x1b[" not in result.stderr
        and "epoch 1/2" in result.stderr
        and "epoch 2/2" in result.stderr
    )


@pytest.mark.slow
def test_shell_example_uses_exit_codes(tmp_path):
    import os
    import shutil
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {
        **os.environ,
        "LEARNAI_RUNS_DIR": str(tmp_path / "runs"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    if shutil.which("learnai", path=env["PATH"]) is None:
        pytest.skip("the learnai script is not installed next to this python")
    ok = subprocess.run(
        ["bash", str(REPO / "examples/ci/train.sh"), str(CONFIGS / "toy_classes.yaml")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and "trained: " in ok.stdout and "accuracy" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [\n")
    refused = subprocess.run(
        ["bash", str(REPO / "examples/ci/train.sh"), str(bad)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "fix the config first" in refused.stderr


@pytest.mark.parametrize(
    "arguments",
    [
        ["runs"],
        ["runs", "--json"],
        ["show", "latest"],
        ["list", "models", "--json"],
        ["list"],
        ["nosuchcommand", "--json"],
    ],
)
def test_a_reader_that_closes_stdout_early_gets_exit_141_and_no_traceback(two_runs, runs_dir, arguments):
    # `learnai runs --json | head -c 10`: the reader is gone before learnai writes; a shell reports SIGPIPE as 141.
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    environment = {**os.environ, "LEARNAI_RUNS_DIR": str(runs_dir), "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "learnai_cli", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
    )
    process.stdout.close()
    errors = process.stderr.read().decode()
    code = process.wait(timeout=60)
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors
    assert code == (2 if arguments[0] == "nosuchcommand" else 141), errors


def test_runs_shows_ids_whole_even_beside_a_long_problem(cli):
    from tests.conftest import CONFIGS

    name = "a_rather_long_experiment_name_" + "x" * 40
    run_id = cli.json("train", CONFIGS / "linear_regression.yaml", f"name={name}", "train.epochs=1")["run_id"]
    (cli.runs_dir / run_id / "config.yaml").write_text("{{{{: [\n")  # damaged: a long status cell
    shown = cli("runs").stdout
    assert run_id in shown and "damage" in shown
    assert cli("runs", "--columns", "epochs").stdout.count(run_id) == 1


def test_runs_off_a_terminal_keeps_every_cell_whole(cli):
    name = "a_rather_long_experiment_name_" + "y" * 45
    run_id = cli.json("train", CONFIGS / "toy_classes.yaml", f"name={name}", "train.epochs=1")["run_id"]
    shown = cli("runs").stdout
    assert shown.count(run_id) == 1 and name in shown.replace(run_id, ""), shown  # the name cell too, on one line
    assert "…" not in shown and all(h in shown for h in ("status", "best", "train time", "started")), shown


def _terminal_table(monkeypatch, width: int, rows: list[tuple[str, ...]]) -> str:
    """What `runs` prints to a terminal `width` columns wide."""
    import io

    from rich.console import Console

    from learnai_cli.cli import table_fit

    screen = io.StringIO()
    monkeypatch.setattr(
        table_fit, "stdout", Console(file=screen, force_terminal=True, width=width, color_system=None, soft_wrap=True)
    )
    headers = ("id", "name", "status", "epochs", "best", "test", "train time", "started")
    drop_order = ("name", "started", "train time", "test", "epochs", "best")
    table_fit.print_table("runs in here", headers, rows, table_fit.Layout(drop_order=drop_order))
    return screen.getvalue()


LONG_ID = "2026-12-06_03-02-24_" + "a_very_long_experiment_name_" * 2
ROW = (LONG_ID, LONG_ID[20:], "completed", "2", "val_accuracy 0.1667", "", "0.063s", "2026-12-06T03:02:24")


@pytest.mark.parametrize("width", [100, 120, 150])
def test_a_narrow_terminal_loses_whole_columns_not_the_ids(monkeypatch, width):
    shown = _terminal_table(
        monkeypatch, width, [ROW, ("2026-12-06_02-52-13_toy", "toy", "running", "1", "", "", "", "")]
    )
    assert LONG_ID in shown and "completed" in shown and "left out on this narrow terminal: name" in shown, shown
    assert all(len(line) <= width for line in shown.splitlines()), shown
    assert "…" not in shown, shown  # the columns shown are whole


def test_a_terminal_narrower_than_an_id_and_its_status_lists_each_run_on_lines(monkeypatch):
    shown = _terminal_table(monkeypatch, 80, [ROW])
    assert LONG_ID in shown.splitlines() and "status: completed" in shown and "best: val_accuracy 0.1667" in shown


def test_a_wide_terminal_shows_every_column(monkeypatch):
    shown = _terminal_table(monkeypatch, 250, [ROW])
    assert "left out" not in shown and LONG_ID in shown and "2026-12-06T03:02:24" in shown, shown


@pytest.mark.parametrize("width", [60, 90, 200])
def test_sweep_and_tune_tables_keep_their_run_ids_whole_at_any_width(monkeypatch, width):
    import io

    from rich.console import Console

    from learnai_cli.cli import table_fit

    screen = io.StringIO()
    monkeypatch.setattr(
        table_fit, "stdout", Console(file=screen, force_terminal=True, width=width, color_system=None, soft_wrap=True)
    )
    headers = ("#", "params", "value", "status", "epochs", "duration", "run id")
    rows = [("0", "optimizer.lr=0.0123 model.hidden=[64, 32]", "0.9312", "completed", "8", "12.5s", LONG_ID)]
    layout = table_fit.Layout(whole="run id", drop_order=("duration", "epochs"), styles=["red"])
    table_fit.print_table("study s (maximize val_accuracy)", headers, rows, layout)
    shown = screen.getvalue()
    assert LONG_ID in shown and "0.9312" in shown and "…" not in shown, shown
    if width > len(LONG_ID):  # a terminal narrower than an id gets it on a line of its own, which it wraps itself
        assert all(len(line) <= width for line in shown.splitlines()), shown


def test_a_test_result_of_weights_best_pt_no_longer_holds_is_marked_stale(cli):
    run_id = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=3")["run_id"]
    assert cli("eval", run_id).exit_code == 0
    fresh = next(r for r in cli.json("runs")["runs"] if r["id"] == run_id)
    assert fresh["test"] and fresh["test_stale"] is False
    assert cli("train", "--resume", run_id, "train.epochs=10").exit_code == 0  # best.pt moves to a later epoch
    row = next(r for r in cli.json("runs")["runs"] if r["id"] == run_id)
    assert row["test_stale"] is True and "(stale)" in cli("runs").stdout
    (evaluation,) = cli.json("show", run_id)["evaluations"]
    assert evaluation["stale"] is True and "stale" in cli("show", run_id).stdout
    assert cli("eval", run_id).exit_code == 0  # evaluated again: current
    assert next(r for r in cli.json("runs")["runs"] if r["id"] == run_id)["test_stale"] is False
