"""Run directories: unique names, id resolution, atomic writes, torn metrics lines."""

from __future__ import annotations

import os
from datetime import datetime

import pytest

from learnai_cli import atomic
from learnai_cli import rundir as runs
from learnai_cli.errors import UsageError
from learnai_cli.rundir import status as runstatus

NOW = datetime(2026, 1, 2, 3, 4, 5)


def test_runs_started_in_the_same_second_get_suffixes(tmp_path):
    made = [runs.RunDir.create(tmp_path, "exp", now=NOW).id for _ in range(3)]
    assert made == ["2026-01-02_03-04-05_exp", "2026-01-02_03-04-05_exp_2", "2026-01-02_03-04-05_exp_3"]


def test_a_whole_run_id_that_is_gone_never_means_its_same_second_twin(tmp_path, cli):
    twins = [runs.RunDir.create(tmp_path, "exp", now=NOW) for _ in range(3)]
    for twin in twins:
        twin.update_meta(status="completed", started="2026-01-02T03:04:05")
    assert runs.resolve(tmp_path, twins[1].id) == twins[1]
    (twins[0].path / "meta.json").unlink()
    twins[0].path.rename(tmp_path.parent / "elsewhere")  # the first is gone (removed before)
    with pytest.raises(UsageError, match="no run .2026-01-02_03-04-05_exp.*go on with _N"):
        runs.resolve(tmp_path, twins[0].id)
    result = cli("rm", twins[0].id, "--yes", "--runs-dir", tmp_path)  # `rm ID` run a second time removes nothing
    assert result.exit_code == 2 and twins[1].path.is_dir() and twins[2].path.is_dir(), result.stderr


def test_resolve_exact_prefix_latest_and_errors(tmp_path):
    first = runs.RunDir.create(tmp_path, "alpha", now=NOW)
    second = runs.RunDir.create(tmp_path, "beta", now=datetime(2026, 1, 2, 3, 4, 6))
    first.update_meta(started="2026-01-02T03:04:05")
    second.update_meta(started="2026-01-02T03:04:06")
    assert runs.resolve(tmp_path, first.id) == first
    assert runs.resolve(tmp_path, "2026-01-02_03-04-06").id == second.id
    assert runs.resolve(tmp_path, "latest") == second
    with pytest.raises(UsageError, match="ambiguous"):
        runs.resolve(tmp_path, "2026-01-02")
    with pytest.raises(UsageError, match="no run 'nope'"):
        runs.resolve(tmp_path, "nope")
    for hostile in ("../etc", "/etc/passwd", "..", "a/../../b"):
        with pytest.raises(UsageError, match="is not a run id"):
            runs.resolve(tmp_path, hostile)


def test_symlink_leaving_the_root_is_refused(tmp_path):
    outside = tmp_path / "outside" / "2026-01-02_03-04-05_evil"
    outside.mkdir(parents=True)
    root = tmp_path / "runs"
    root.mkdir()
    os.symlink(outside, root / outside.name)
    with pytest.raises(UsageError, match="is a symbolic link, not a run folder"):
        runs.resolve(root, outside.name)


def test_a_link_inside_the_runs_folder_is_never_a_run_nor_followed_by_rm_or_gc(tmp_path, cli):
    real = runs.RunDir.create(tmp_path, "real", now=NOW)
    real.update_meta(status="completed", started="2026-01-02T03:04:05")
    alias = tmp_path / "2030-01-01_00-00-00_alias"
    os.symlink(real.path, alias)
    assert [run.id for run in runs.all_runs(tmp_path)] == [real.id]
    assert "alias" not in cli("runs", "--runs-dir", tmp_path).stdout
    removed = cli("rm", "2030", "--yes", "--runs-dir", tmp_path)
    assert removed.exit_code == 2 and "Traceback" not in removed.stderr, removed.stderr
    gc = cli("gc", "--keep-last", "0", "--yes", "--runs-dir", tmp_path)
    assert gc.exit_code == 0 and "Traceback" not in gc.stderr, gc.stderr
    assert alias.is_symlink() and not real.path.exists()  # gc removed the real run, never through the link


def test_no_runs_is_a_clear_error(tmp_path, cli):
    result = cli("eval", "latest")
    assert result.exit_code == 2 and "no runs in" in result.stderr


def test_write_atomic_replaces_whole_files(tmp_path):
    target = tmp_path / "meta.json"
    atomic.write_json(target, {"a": 1})
    atomic.write_json(target, {"a": 2})
    assert atomic.read_json(target) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["meta.json"]  # no temp files left behind


def test_torn_last_metrics_line_is_skipped_with_a_warning(tmp_path, caplog):
    run = runs.RunDir.create(tmp_path, "torn", now=NOW)
    run.append_metrics({"type": "epoch", "epoch": 1, "train_loss": 1.0})
    with run.metrics_path.open("a") as file:
        file.write('{"type": "epoch", "epo')
    assert run.epoch_records() == [{"type": "epoch", "epoch": 1, "train_loss": 1.0}]
    assert "line 2 is incomplete" in caplog.text


def test_a_bad_line_before_the_last_is_called_damaged_not_incomplete(tmp_path, caplog):
    run = runs.RunDir.create(tmp_path, "garbled", now=NOW)
    run.append_metrics({"type": "epoch", "epoch": 1, "train_loss": 1.0})
    with run.metrics_path.open("a") as file:
        file.write("garbage{{\n")
    run.append_metrics({"type": "epoch", "epoch": 2, "train_loss": 0.5})
    assert [r["epoch"] for r in run.epoch_records()] == [1, 2]
    assert "line 2 is not JSON (damaged)" in caplog.text and "incomplete" not in caplog.text


def test_runs_root_option_env_and_default(monkeypatch, tmp_path):
    monkeypatch.delenv("LEARNAI_RUNS_DIR", raising=False)
    assert str(runs.runs_root(None)) == "runs"
    monkeypatch.setenv("LEARNAI_RUNS_DIR", str(tmp_path))
    assert runs.runs_root(None) == tmp_path
    assert str(runs.runs_root("elsewhere")) == "elsewhere"


def test_one_process_owns_a_run_and_a_dead_owners_lock_is_taken_over(tmp_path):
    import subprocess
    import sys

    run, lock = runs.RunDir.create_locked(tmp_path, "owned", now=NOW)
    with pytest.raises(runs.RunInUse, match=rf"pid {os.getpid()}"):
        run.lock()
    assert runstatus.run_status(run) == ("running", "")  # no meta.json yet, but held: never removable
    lock.release()
    assert not run.lock_path.exists()
    # a process that took the lock and died without releasing it (SIGKILL): its lock file stays, the flock does not
    code = f"from learnai_cli.rundir.lock import RunLock; from pathlib import Path; RunLock.acquire(Path({str(run.lock_path)!r}), 'x'); import os; os._exit(0)"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert run.lock_path.exists()
    with run.lock():
        pass


def test_status_of_starting_locked_crashed_and_damaged_runs(tmp_path):
    run = runs.RunDir.create(tmp_path, "s", now=NOW)
    assert runstatus.run_status(run)[0] == "starting"
    os.utime(run.path, (0, 0))
    assert runstatus.run_status(run) == ("damaged", "it was cut short while being created (nothing was trained in it)")
    run.update_meta(status="running", pid=os.getpid(), host="elsewhere", locked=True)
    assert runstatus.run_status(run)[0] == "crashed"  # says running, but nobody holds its lock
    run.meta_path.write_text("null")
    status, problem = runstatus.run_status(run)
    assert status == "damaged" and "meta.json" in problem and "null" in problem
    with pytest.raises(runs.DamagedRun, match="learnai rm"):
        run.meta()
    assert run.meta(strict=False) == {}


def test_stale_temp_files_are_cleaned_only_for_run_files(tmp_path):
    run = runs.RunDir.create(tmp_path, "t", now=NOW)
    stale = [run.checkpoints / ".last.pt.abc123.tmp", run.path / ".meta.json.x1.tmp"]
    kept = run.path / ".eval.json.x2.tmp"  # `learnai eval` may be writing it right now
    for path in [*stale, kept]:
        path.write_bytes(b"x" * 10)
    assert sorted(run.clean_temp_files()) == sorted(stale)
    assert kept.exists() and not any(p.exists() for p in stale)


@pytest.mark.parametrize("kind", ["file", "under a file", "long name"])
def test_an_unusable_runs_root_is_refused_without_creating_anything(tmp_path, kind):
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    root = {"file": a_file, "under a file": a_file / "runs", "long name": tmp_path / ("r" * 300) / "runs"}[kind]
    with pytest.raises(UsageError, match="cannot write runs into"):
        runs.check_writable(root)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


def test_damaged_jsonl_lines_are_skipped(tmp_path, caplog):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b'{"epoch": 1}\n{"epoch": "\xff"}\n[1]\nnull\n{"epoch": 2}\n')
    assert atomic.read_jsonl(path) == [{"epoch": 1}, {"epoch": 2}]
    assert "line 2 is not UTF-8" in caplog.text and "line 3 is not a JSON object" in caplog.text


def test_run_files_respect_the_umask(cli, runs_dir):
    """Atomically written files (meta, config, checkpoints) get the same mode as appended ones (metrics.jsonl)."""
    from tests.conftest import CONFIGS

    cli.json("train", CONFIGS / "linear_regression.yaml", "train.epochs=1")
    run = next(runs_dir.iterdir())
    expected = atomic.FILE_MODE
    for name in ("meta.json", "config.yaml", "metrics.jsonl", "checkpoints/last.pt", "plots/loss.png"):
        assert (run / name).stat().st_mode & 0o777 == expected, name


def test_appended_lines_end_in_one_newline_keep_utf8_and_create_the_file(tmp_path):
    from learnai_cli.atomic import append_line

    path = tmp_path / "train.log"
    append_line(path, "first")
    append_line(path, "second ü\n")
    append_line(path, '{"epoch": 1}')
    assert path.read_bytes().decode("utf-8") == 'first\nsecond ü\n{"epoch": 1}\n'


def test_a_latest_link_and_ids_longer_than_a_file_name_in_bytes_resolve_cleanly(tmp_path):
    real = runs.RunDir.create(tmp_path, "real", now=NOW)
    real.update_meta(status="completed", started="2026-01-02T03:04:05")
    os.symlink(real.path, tmp_path / "latest")  # a user's own convenience link
    assert runs.resolve(tmp_path, "latest") == real  # still the newest run, as always
    for long_id in ("2026-01-02_03-04-05_" + "é" * 200, "é" * 200, "x" * 300):  # > 255 bytes, not characters
        with pytest.raises(UsageError, match="no run"):
            runs.resolve(tmp_path, long_id)
