"""learnai tune against storages it must not damage or reveal: files that are no study, missing databases, names
with a hidden newline, passwords in URLs, grids too big to list."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from learnai_cli.cli import app
from learnai_cli.commands.tune.report import continue_message
from learnai_cli.commands.tune.request import Plan, TuneRequest
from learnai_cli.commands.tune.workers import worker_command, worker_environment
from tests.conftest import CONFIGS

SEARCH = [CONFIGS / "generalfit.yaml", "optimizer.lr=loguniform(1e-3,1e-1)", "train.epochs=2", "data.n=100"]


def refused(result, *says: str) -> str:
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1, result.stderr
    for text in says:
        assert text in result.stderr, result.stderr
    return result.stderr


@pytest.mark.parametrize(
    "content, scheme",
    [
        ("my notes, one line\n", "journal:"),
        ('{"a": 1}\n', "journal:"),
        ("[1, 2]\n", "journal:"),
        ("my notes, one line\n", "sqlite:///"),
        ('{"op_code": 0}\n', "sqlite:///"),  # a journal is no SQLite database
    ],
)
def test_a_storage_file_that_holds_no_study_is_refused_and_left_as_it_was(cli, runs_dir, tmp_path, content, scheme):
    mine = tmp_path / "mine.txt"
    mine.write_text(content)
    result = cli("tune", *SEARCH, "--storage", f"{scheme}{mine}", "--trials", "1")
    refused(result, "is not an Optuna study journal" if scheme == "journal:" else "is not a SQLite database")
    assert mine.read_text() == content
    assert not runs_dir.exists() or list(runs_dir.iterdir()) == []  # no half-made study folder either


def test_a_storage_that_is_a_pipe_or_a_folder_is_refused_without_waiting(cli, tmp_path):
    os.mkfifo(tmp_path / "pipe")
    for path in (tmp_path / "pipe", tmp_path):
        refused(cli("tune", *SEARCH, "--storage", f"journal:{path}", "--trials", "1"), "is not a regular file")


@pytest.mark.parametrize("scheme", ["sqlite:///", "journal:"])
def test_show_of_a_storage_that_is_not_there_creates_nothing(cli, tmp_path, scheme):
    missing = tmp_path / "sub" / "nothere.db"
    missing.parent.mkdir()
    refused(cli("tune", "--show", "s", "--storage", f"{scheme}{missing}"), "there is no file", "does not make an empty")
    assert list(missing.parent.iterdir()) == []


@pytest.mark.parametrize("name", ["evil\n", "evil\nname", "1study", "a" * 81, "x/../y", "é", "b" * 100_000])
def test_study_names_must_be_whole_plain_names(cli, runs_dir, name):
    said = refused(cli("tune", *SEARCH, "--study", name), "must start with a letter")
    assert len(said) < 400  # a huge name is clipped, not echoed whole
    assert not runs_dir.exists() or list(runs_dir.iterdir()) == []


@pytest.mark.parametrize(
    "url, module",
    [
        ("postgresql://ann:s3cret@localhost:1/db", "psycopg"),
        ("postgresql+psycopg2://ann:s3cret@localhost:1/db", "psycopg2"),
        ("mysql://ann:s3cret@localhost:1/db", "MySQLdb"),
    ],
)
def test_a_database_url_with_a_password_is_masked_and_the_missing_driver_named(cli, monkeypatch, url, module):
    pytest.importorskip("optuna")
    # The dev extra installs psycopg2 (for the postgres test): a None entry makes its import fail here as if absent.
    monkeypatch.setitem(sys.modules, module, None)
    for given in (["--storage", url], []):
        result = cli.runner.invoke(
            app,
            ["tune", *map(str, SEARCH), *given, "--trials", "1"],
            env={"LEARNAI_RUNS_DIR": str(cli.runs_dir), "LEARNAI_TUNE_STORAGE": url},
        )
        said = refused(result, f"needs the database driver module '{module}'", "pip install", "***@localhost")
        assert "s3cret" not in said and "ann" not in said


def test_a_grid_too_big_to_list_is_refused_with_its_size(cli):
    said = refused(
        cli("tune", *SEARCH[:1], "seed=int(0, 9000000000000000000)", "--sampler", "grid"), "--sampler random"
    )
    assert "9,000,000,000,000,000,001 points" in said
    refused(
        cli("tune", *SEARCH[:1], "seed=int(0,999)", "data.n=int(100,200)", "--sampler", "grid"),
        "seed 1,000 x data.n 101 is 101,000 points",
    )


def test_workers_get_the_storage_by_environment_and_the_continue_command_masks_it(tmp_path, monkeypatch):
    url = "postgresql+psycopg2://ann:s3cret@db.example/studies"
    request = TuneRequest(config_path=Path("c.yaml"), arguments=[], root=tmp_path, storage=url, workers=2)
    plan = Plan([], [], None, "s", tmp_path / "s", url, 4)
    command = worker_command(request, plan, 0, None)
    assert not any("s3cret" in part for part in command) and "--storage" not in command
    assert worker_environment(0, 2, url)["LEARNAI_TUNE_STORAGE"] == url
    said = continue_message(plan, request)
    assert "s3cret" not in said and "--storage 'postgresql+psycopg2://***@db.example/studies'" in said
    assert "LEARNAI_TUNE_STORAGE" in said
    monkeypatch.setenv("LEARNAI_TUNE_STORAGE", url)  # given by environment: the command needs no --storage at all
    assert "--storage" not in continue_message(plan, request) and "s3cret" not in continue_message(plan, request)


def _abandoned_study(tmp_path, **attrs):
    import optuna

    from learnai_cli.commands.tune.study import owner_attrs

    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(storage=url)
    trial = study.ask()
    for key, value in {**owner_attrs(), **attrs}.items():
        trial.set_user_attr(key, value)
    return study, url


def _run_of_trial(tmp_path, study, **meta) -> Path:
    run = tmp_path / "2026-01-01_00-00-00_trial"
    run.mkdir()
    (run / "meta.json").write_text(json.dumps({"study": study.study_name, "trial": 0, **meta}))
    return run


def test_a_killed_worker_not_yet_reaped_or_a_reused_pid_does_not_keep_its_trial_running(tmp_path):
    from learnai_cli.commands.tune.study import fail_abandoned

    zombie = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    zombie.send_signal(signal.SIGKILL)
    time.sleep(0.3)  # dead, and not waited for: a zombie whose pid still answers kill(pid, 0)
    try:
        for attrs in ({"pid": zombie.pid}, {"pid": os.getpid(), "started": "2000-01-01T00:00:00"}):
            study, url = _abandoned_study(tmp_path, **attrs)
            assert fail_abandoned(study, url, tmp_path) == 1
            assert study.trials[0].state.name == "FAIL" and study.trials[0].user_attrs["status"] == "crashed"
            (tmp_path / "study.db").unlink()
    finally:
        zombie.wait()


def test_a_trial_whose_owner_is_still_writing_who_it_is_is_not_taken_for_abandoned(tmp_path):
    """Its process sets host, pid and started one at a time; without a lock shared with it (another runs root on
    this machine, the same database) another process can read the trial midway: host alone is no sign of death."""
    import optuna

    from learnai_cli.commands.tune.study import fail_abandoned, owner_attrs

    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(storage=url)
    trial = study.ask()
    trial.set_user_attr("host", owner_attrs()["host"])
    assert fail_abandoned(study, url, tmp_path) == 0 and study.trials[0].state.name == "RUNNING"
    trial.set_user_attr("pid", os.getpid())
    assert fail_abandoned(study, url, tmp_path) == 0 and study.trials[0].state.name == "RUNNING"


def test_an_abandoned_trial_keeps_what_its_run_recorded_and_a_locked_run_is_left_alone(tmp_path):
    from learnai_cli.commands.tune.study import fail_abandoned
    from learnai_cli.rundir import RunDir

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    study, url = _abandoned_study(tmp_path, pid=dead.pid)
    run = _run_of_trial(tmp_path, study, status="completed", best={"metric": "val_loss", "value": 0.25})
    with RunDir(run).lock():  # a live process owns the run: its trial is not abandoned, whatever its pid says
        assert fail_abandoned(study, url, tmp_path) == 0 and study.trials[0].state.name == "RUNNING"
    assert fail_abandoned(study, url, tmp_path) == 1
    trial = study.trials[0]
    assert (trial.state.name, trial.value, trial.user_attrs["status"]) == ("COMPLETE", 0.25, "completed")
    assert trial.user_attrs["run_id"] == run.name


def test_one_process_draws_the_same_points_again(cli):
    drawn = [
        [t["params"] for t in cli.json("tune", *SEARCH, "--sampler", "random", "--study", s, "--trials", "3")["trials"]]
        for s in ("a", "b")
    ]
    assert drawn[0] == drawn[1] and len(set(drawn[0])) == 3  # reproducible from the config's seed


@pytest.mark.parametrize("shared", ["journal", "sqlite"])
def test_processes_started_together_on_a_new_study_create_it_once_and_draw_different_points(
    cli, runs_dir, tmp_path, shared
):
    storage = ["--storage", f"journal:{tmp_path / 'shared.log'}"] if shared == "journal" else []  # else study.db
    command = [sys.executable, "-m", "learnai_cli", "tune", *map(str, SEARCH), "--sampler", "random", "--study", "c"]
    command += [*storage, "--trials", "6", "--runs-dir", str(runs_dir), "--no-progress"]
    machines = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in "ab"]
    ended = [(machine.wait(timeout=600), machine.stderr.read()) for machine in machines]
    assert [code for code, _ in ended] == [0, 0], [said[-1500:] for _, said in ended]
    shown = cli.json("tune", "--show", "c", *storage)
    assert len(shown["trials"]) == 6 and len({t["params"] for t in shown["trials"]}) == 6
    assert len({t["run_id"] for t in shown["trials"]}) == 6  # each trial's run id its own, whichever process ran it


def test_a_study_database_locked_by_another_process_is_one_line_after_the_wait(cli, tmp_path, monkeypatch):
    """The real SQLite lock wait, shortened from its 60 s default by $LEARNAI_TUNE_DB_WAIT."""
    import sqlite3

    database = tmp_path / "s.db"
    study = [*SEARCH, "--storage", f"sqlite:///{database}", "--study", "s"]
    assert cli("tune", *study, "--timeout", "0").exit_code == 0  # the study exists, no trial trained
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing for longer than the wait
    try:
        monkeypatch.setenv("LEARNAI_TUNE_DB_WAIT", "0.5")
        started = time.monotonic()
        said = refused(cli("tune", *study, "--trials", "1"), "database is locked", "locked for 0.5 s")
        assert time.monotonic() - started < 30 and "LEARNAI_TUNE_DB_WAIT" in said
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert cli("tune", *study, "--timeout", "0").exit_code == 0  # once released, the same command works


@pytest.mark.parametrize("wait", ["0", "-1", "soon", "nan", "1e9"])
def test_a_lock_wait_that_is_no_wait_is_refused(cli, tmp_path, monkeypatch, wait):
    monkeypatch.setenv("LEARNAI_TUNE_DB_WAIT", wait)
    refused(cli("tune", *SEARCH, "--storage", f"sqlite:///{tmp_path / 's.db'}"), "LEARNAI_TUNE_DB_WAIT", "not a wait")
    assert not (tmp_path / "s.db").exists()
