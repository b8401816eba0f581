"""Run folders appear whole or not at all (a signal or a full disk while one is made), `gc` removes only what
learnai made, and `runs` and run ids say plainly what matched nothing."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import CONFIGS

TRAIN = [sys.executable, "-m", "learnai_cli", "train", str(CONFIGS / "linear_regression.yaml"), "data.n=200"]


def statuses(cli) -> dict[str, tuple[str, str | None]]:
    result = cli("runs", "--json")
    assert result.exit_code == 0, result.output
    return {row["id"]: (row["status"], row["problem"]) for row in json.loads(result.stdout)["runs"]}


@pytest.mark.parametrize("delay_s", [0.0, 0.003, 0.02])
def test_sigterm_just_after_the_run_folder_appears_never_leaves_a_damaged_run(cli, runs_dir, delay_s):
    runs_dir.mkdir()
    process = subprocess.Popen([*TRAIN, "train.epochs=200", "--runs-dir", str(runs_dir), "--no-progress"])
    deadline = time.monotonic() + 120
    while not any(entry.is_dir() for entry in os.scandir(runs_dir)) and time.monotonic() < deadline:
        time.sleep(0.0005)
    time.sleep(delay_s)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 130
    for run_id, (status, problem) in statuses(cli).items():  # gone, or a run that says how it ended
        assert status in ("interrupted", "crashed"), (run_id, status, problem)
        assert (runs_dir / run_id / "config.yaml").is_file()


def test_a_full_disk_while_the_run_is_locked_leaves_no_half_made_folder(runs_dir):
    def full_disk():  # every write past 16 bytes fails as on a full disk (EFBIG instead of ENOSPC)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))

    command = [*TRAIN, "train.epochs=1", "--runs-dir", str(runs_dir), "--no-progress"]
    result = subprocess.run(command, capture_output=True, text=True, preexec_fn=full_disk, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "try again" in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert [p.name for p in runs_dir.iterdir() if not p.name.startswith(".")] == []


def test_gc_removes_runs_and_cut_short_skeletons_but_never_a_folder_only_named_like_a_run(cli, runs_dir):
    runs_dir.mkdir()
    theirs = runs_dir / "2020-01-01_00-00-00_photos"
    (theirs / "checkpoints").mkdir(parents=True)
    (theirs / "holiday.jpg").write_bytes(b"not learnai's")
    (theirs / "checkpoints" / "mine.txt").write_text("mine")
    empty_but_named = runs_dir / "2020-01-01_00-00-01_notes"
    (empty_but_named / "plots").mkdir(parents=True)
    (empty_but_named / "plots" / "sketch.png").write_bytes(b"png")
    skeleton = runs_dir / "2020-01-01_00-00-02_cut"
    for folder in ("checkpoints", "plots"):
        (skeleton / folder).mkdir(parents=True)
    (skeleton / ".lock").write_text("")
    for path in (theirs, empty_but_named, skeleton):
        os.utime(path, (0, 0))  # older than any grace period
    assert statuses(cli)[skeleton.name] == (
        "damaged",
        "it was cut short while being created (nothing was trained in it)",
    )
    result = cli("gc", "--keep-last", "0", "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["removed"] == [skeleton.name]
    assert (theirs / "holiday.jpg").read_bytes() == b"not learnai's" and (empty_but_named / "plots").is_dir()


def test_runs_that_match_nothing_say_so_with_the_selection(cli, runs_dir):
    assert cli("train", CONFIGS / "linear_regression.yaml", "data.n=200", "train.epochs=1").exit_code == 0
    for arguments, says in [
        (["--status", "crashed"], "--status crashed"),
        (["--name", "zzz"], "--name zzz"),
        (["--filter", "optimizer.name=sgd"], "--filter optimizer.name=sgd"),
        (["--name", "linear", "--filter", "seed=12345"], "--name linear --filter seed=12345"),
    ]:
        result = cli("runs", *arguments)
        assert result.exit_code == 0 and f"no run in {runs_dir} matches {says} (1 run there" in result.stdout
        assert "no runs in" not in result.stdout
        shown = cli.json("runs", *arguments)
        assert shown["runs"] == [] and shown["selection"] == says and shown["unfiltered"] == 1
    assert "no runs in" in cli("runs", "--runs-dir", runs_dir / "absent", "--name", "x").stdout


@pytest.mark.parametrize("command", [["show"], ["rm", "--yes"], ["eval"], ["plot"]])
@pytest.mark.parametrize("run_id", ["2026-" + "x" * 100_000, "y" * 100_000, "abc\nerror: forged line"])
def test_an_unknown_run_id_is_clipped_and_kept_on_one_line(cli, runs_dir, command, run_id):
    from learnai_cli.rundir import RunDir

    RunDir.create(runs_dir, "present")  # so the id is looked for among runs
    result = cli(command[0], run_id, *command[1:])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.stderr) < 600 and len(result.stderr.strip().splitlines()) == 1, result.stderr[:300]
