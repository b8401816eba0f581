"""Run directories: unique names, id resolution, atomic writes, torn metrics lines."""

from __future__ import annotations

import os
from datetime import datetime

import pytest

from learnai_cli import atomic
from learnai_cli import rundir as runs
from learnai_cli.errors import UsageError

NOW = datetime(2026, 1, 2, 3, 4, 5)


def test_runs_started_in_the_same_second_get_suffixes(tmp_path):
    made = [runs.RunDir.create(tmp_path, "exp", now=NOW).id for _ in range(3)]
    assert made == ["2026-01-02_03-04-05_exp", "2026-01-02_03-04-05_exp_2", "2026-01-02_03-04-05_exp_3"]


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
    with pytest.raises(UsageError, match="points outside"):
        runs.resolve(root, outside.name)


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


def test_runs_root_option_env_and_default(monkeypatch, tmp_path):
    monkeypatch.delenv("LEARNAI_RUNS_DIR", raising=False)
    assert str(runs.runs_root(None)) == "runs"
    monkeypatch.setenv("LEARNAI_RUNS_DIR", str(tmp_path))
    assert runs.runs_root(None) == tmp_path
    assert str(runs.runs_root("elsewhere")) == "elsewhere"
