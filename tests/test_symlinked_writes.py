"""Nothing learnai writes goes through a symbolic link: each file a command writes is replaced by a link (to a file
outside, and dangling) and the command either writes a real file in the link's place or ends with a clear message;
the file outside is never touched and no dangling target is ever made."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import CONFIGS

TINY = ["data.n=200", "train.epochs=1", "train.record_predictions=true"]
PRECIOUS = "precious: the user's own file\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One tiny finished run, copied by each test before it plants its links."""
    from tests.conftest import Cli

    root = tmp_path_factory.mktemp("trained") / "runs"
    result = Cli(root)("train", CONFIGS / "linear_regression.yaml", *TINY)
    assert result.exit_code == 0, result.output
    return next(root.iterdir())


def plant(path: Path, kind: str, outside: Path) -> Path:
    """Replace `path` by a link to `outside` (a file with content, or nothing: a dangling link); the link's target."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "outside":
        outside.write_text(PRECIOUS)
    os.symlink(outside, path)
    return outside


def assert_untouched(result, link: Path, target: Path, kind: str) -> None:
    assert "Traceback" not in result.output, result.output
    assert result.exit_code in (0, 2), result.output
    if kind == "outside":
        assert target.read_text() == PRECIOUS
    else:
        assert not target.exists(), f"{target} was made through the dangling link {link}"
    if result.exit_code == 0 and os.path.lexists(link):
        assert not link.is_symlink() and link.is_file(), f"{link} is still a link after the command wrote it"
    if result.exit_code == 2:
        assert result.stderr.startswith("error: "), result.output


def copied_run(trained: Path, runs_dir: Path) -> Path:
    run = runs_dir / trained.name
    shutil.copytree(trained, run, symlinks=True)
    return run


RESUME_WRITES = [
    ".lock",
    "train.log",
    "metrics.jsonl",
    "metrics.csv",
    "predictions.jsonl",
    "meta.json",
    "config.yaml",
    "checkpoints/last.pt",
    "checkpoints/best.pt",
    "plots/loss.png",
]


REFUSED = ("meta.json", "config.yaml", "checkpoints/last.pt")


@pytest.mark.parametrize("kind", ["outside", "dangling"])
@pytest.mark.parametrize("name", RESUME_WRITES)
def test_resume_never_writes_through_a_linked_run_file(cli, runs_dir, tmp_path, trained, name, kind):
    run = copied_run(trained, runs_dir)
    target = plant(run / name, kind, tmp_path / "elsewhere.txt")
    result = cli("train", "--resume", run.name, "train.epochs=2", "--no-progress")
    assert_untouched(result, run / name, target, kind)
    # files the run must read to go on are refused as damaged (exit 2); the others are replaced and the run trains
    assert result.exit_code == (2 if name in REFUSED else 0), result.output


@pytest.mark.parametrize("kind", ["outside", "dangling"])
@pytest.mark.parametrize("command", [["rm", "--yes"], ["gc", "--keep-last", "0", "--yes"]])
def test_rm_and_gc_take_a_linked_lock_without_writing_through_it(cli, runs_dir, tmp_path, trained, command, kind):
    run = copied_run(trained, runs_dir)
    target = plant(run / ".lock", kind, tmp_path / "elsewhere.txt")
    arguments = [command[0], run.name, *command[1:]] if command[0] == "rm" else command
    result = cli(*arguments)
    assert_untouched(result, run / ".lock", target, kind)
    assert result.exit_code == 0 and not run.exists(), result.output


@pytest.mark.parametrize("kind", ["outside", "dangling"])
@pytest.mark.parametrize(
    "command, names",
    [
        (["eval"], ["eval/test-best.json"]),
        (["eval", "--split", "val"], ["eval/val-best.json"]),
        (["plot"], ["plots/loss.png"]),
        (["plot", "--animate"], ["plots/loss.png", "plots/fit.png", "plots/training.gif"]),
    ],
)
def test_eval_and_plot_replace_linked_outputs(cli, runs_dir, tmp_path, trained, command, names, kind):
    run = copied_run(trained, runs_dir)
    targets = {name: plant(run / name, kind, tmp_path / f"elsewhere-{i}.txt") for i, name in enumerate(names)}
    result = cli(command[0], run.name, *command[1:])
    for name, target in targets.items():
        assert_untouched(result, run / name, target, kind)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("kind", ["outside", "dangling"])
def test_init_never_writes_through_a_linked_config(cli, tmp_path, kind):
    link = tmp_path / "configs" / "mine.yaml"
    target = plant(link, kind, tmp_path / "elsewhere.yaml")
    result = cli("init", "mine", "--dir", tmp_path / "configs")
    assert_untouched(result, link, target, kind)
    assert result.exit_code == 2 and "exists already (a symbolic link)" in result.stderr


@pytest.mark.parametrize("kind", ["outside", "dangling"])
def test_tune_replaces_linked_study_files_and_plots(cli, runs_dir, tmp_path, kind):
    search = [CONFIGS / "generalfit.yaml", "optimizer.lr=loguniform(1e-3,1e-1)", "train.epochs=2", "data.n=100"]
    first = cli("tune", *search, "--study", "s", "--trials", "2", "--no-progress")
    assert first.exit_code == 0, first.output
    study = runs_dir / "s"
    names = [".ask.lock", "summary.csv", "summary.json"] + [f"plots/{p.name}" for p in (study / "plots").glob("*.png")]
    assert len(names) > 3  # Optuna drew its plots
    targets = {name: plant(study / name, kind, tmp_path / f"elsewhere-{i}.txt") for i, name in enumerate(names)}
    result = cli("tune", *search, "--study", "s", "--trials", "3", "--no-progress")
    for name, target in targets.items():
        assert_untouched(result, study / name, target, kind)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("folder", ["plots", "checkpoints", "eval", "export"])
@pytest.mark.parametrize("command", [["train", "--resume"], ["eval"], ["plot"], ["rm", "--yes"]])
def test_a_run_folder_that_is_a_link_is_refused_before_anything_is_written(
    cli, runs_dir, tmp_path, trained, folder, command
):
    run = copied_run(trained, runs_dir)
    outside = tmp_path / "outside"
    outside.mkdir()
    if (run / folder).exists():
        shutil.copytree(run / folder, outside, dirs_exist_ok=True)
        shutil.rmtree(run / folder)
    before = sorted(p.name for p in outside.iterdir())
    os.symlink(outside, run / folder)
    result = cli(*command, run.name, *(["train.epochs=2"] if command[0] == "train" else []))
    assert result.exit_code == 2 and "is a symbolic link" in result.stderr and "rm " in result.stderr, result.output
    assert sorted(p.name for p in outside.iterdir()) == before and run.is_dir()


def test_a_study_plots_folder_that_is_a_link_is_replaced(cli, runs_dir, tmp_path):
    search = [CONFIGS / "generalfit.yaml", "optimizer.lr=loguniform(1e-3,1e-1)", "train.epochs=2", "data.n=100"]
    assert cli("tune", *search, "--study", "s", "--trials", "1", "--no-progress").exit_code == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(runs_dir / "s" / "plots")
    os.symlink(outside, runs_dir / "s" / "plots")
    result = cli("tune", *search, "--study", "s", "--trials", "2", "--no-progress")
    assert result.exit_code == 0, result.output
    assert list(outside.iterdir()) == [] and not (runs_dir / "s" / "plots").is_symlink()


@pytest.mark.parametrize(
    "name, command, code",
    [(".lock", ["rm", "--yes"], 2), (".lock", ["train", "--resume"], 2), ("train.log", ["train", "--resume"], 2)],
)
def test_a_pipe_where_a_run_file_goes_is_refused_without_waiting_for_a_reader(
    cli, runs_dir, trained, name, command, code
):
    run = copied_run(trained, runs_dir)
    (run / name).unlink(missing_ok=True)  # a finished run has no lock file
    os.mkfifo(run / name)
    result = (
        cli(*command, run.name, "train.epochs=2") if command[0] == "train" else cli(command[0], run.name, *command[1:])
    )
    assert result.exit_code == code and "not a regular file (a FIFO" in result.stderr, result.output
    assert "Traceback" not in result.output and run.is_dir()
