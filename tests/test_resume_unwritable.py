"""A resume that cannot write the run's files (a folder or FIFO where train.log or metrics.csv goes, a log it may
not append to) is refused before any file is rewritten: exit 2, one line, and a completed run stays completed. A
symbolic link there is no obstacle: it is replaced by a file and whatever it pointed at stays untouched."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import CONFIGS
from tests.test_train_further import files_of

TOY = CONFIGS / "toy_classes.yaml"


@pytest.fixture(scope="module")
def completed(tmp_path_factory) -> Path:
    """One completed 3-epoch run, copied by each test before it blocks one of its files."""
    from tests.conftest import Cli

    root = tmp_path_factory.mktemp("completed") / "runs"
    assert Cli(root)("train", TOY, "train.epochs=3").exit_code == 0
    return next(root.iterdir())


def copied(completed: Path, runs_dir: Path) -> Path:
    run = runs_dir / completed.name
    shutil.copytree(completed, run, symlinks=True)
    return run


def block(path: Path, kind: str) -> None:
    path.unlink(missing_ok=True)
    if kind == "folder":
        path.mkdir()
        (path / "inside.txt").write_text("the user's\n")
    else:
        os.mkfifo(path)


def assert_refused_unchanged(result, run: Path, before: dict[str, bytes], name: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"{name} is not a regular file" in result.stderr and "nothing was changed" in result.stderr
    assert files_of(run) == before  # meta.json (completed), config.yaml (3 epochs), metrics: as they were
    assert json.loads((run / "meta.json").read_text())["status"] == "completed"


@pytest.mark.parametrize("kind", ["folder", "fifo"])
@pytest.mark.parametrize("name", ["train.log", "metrics.csv", "metrics.jsonl"])
def test_a_run_file_that_cannot_be_written_refuses_the_resume_before_anything_changes(
    cli, runs_dir, completed, name, kind
):
    run = copied(completed, runs_dir)
    block(run / name, kind)
    before = files_of(run)
    result = cli("train", "--resume", run.name, "train.epochs=5", "--no-progress")
    assert_refused_unchanged(result, run, before, name)


def test_a_log_that_may_not_be_appended_to_refuses_the_resume(cli, runs_dir, completed, monkeypatch):
    """chmod 444 train.log (root may write it anyway, so the permission answer is what is faked here)."""
    run = copied(completed, runs_dir)
    before = files_of(run)
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode, **kw: Path(path).name != "train.log" and real_access(path, mode)
    )
    result = cli("train", "--resume", run.name, "train.epochs=5")
    assert result.exit_code == 2 and "train.log cannot be written (its permissions)" in result.stderr, result.output
    assert files_of(run) == before


@pytest.mark.parametrize("kind", ["outside", "dangling"])
def test_a_linked_log_is_replaced_and_the_run_trains_further(cli, runs_dir, completed, tmp_path, kind):
    run = copied(completed, runs_dir)
    target = tmp_path / "elsewhere.log"
    if kind == "outside":
        target.write_text("precious\n")
    (run / "train.log").unlink()
    os.symlink(target, run / "train.log")
    result = cli("train", "--resume", run.name, "train.epochs=5", "--no-progress")
    assert result.exit_code == 0, result.output
    assert json.loads((run / "meta.json").read_text())["status"] == "completed"
    assert not (run / "train.log").is_symlink() and "resumed from last.pt" in (run / "train.log").read_text()
    assert target.read_text() == "precious\n" if kind == "outside" else not target.exists()


def test_under_torchrun_an_unwritable_log_is_refused_before_launch(cli, runs_dir, completed):
    run = copied(completed, runs_dir)
    block(run / "train.log", "folder")
    before = files_of(run)
    result = cli("train", "--resume", run.name, "train.epochs=5", "--nproc-per-node", "2")
    assert_refused_unchanged(result, run, before, "train.log")
