"""Shell completion as the shell asks for it (bash's protocol through the real app): run ids from the runs root the
command line names, and choice options from their choices, never file names."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from learnai_cli.cli import app


def completions(words: str, runs_env: Path) -> list[str]:
    parts = words.split(" ")
    result = CliRunner().invoke(
        app,
        [],
        env={
            "_LEARNAI_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
            "LEARNAI_RUNS_DIR": str(runs_env),
        },
        prog_name="learnai",
    )
    assert result.exit_code == 0, result.output
    return result.output.split()


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    """Two runs roots: the environment's and another one, each with a run of its own."""
    env_root, other = tmp_path / "env runs", tmp_path / "other"
    (env_root / "2026-01-01_00-00-00_from_env").mkdir(parents=True)
    (other / "2026-02-02_00-00-00_from_flag").mkdir(parents=True)
    return env_root, other


@pytest.mark.parametrize(
    "before", ["show", "eval", "rm", "plot", "export", "diff 2026-02-02_00-00-00_from_flag", "predict"]
)
def test_run_ids_complete_from_the_runs_dir_given_on_the_command_line(roots, before):
    env_root, other = roots
    given = completions(f"learnai {before} --runs-dir {other} 2026", env_root)
    assert given == ["2026-02-02_00-00-00_from_flag"], given
    assert completions(f"learnai {before} 2026", env_root) == ["2026-01-01_00-00-00_from_env"]


@pytest.mark.parametrize("option", ["--resume", "--init-from"])
def test_train_options_that_name_a_run_complete_run_ids(roots, option):
    env_root, other = roots
    assert completions(f"learnai train --runs-dir {other} {option} 2026", env_root) == ["2026-02-02_00-00-00_from_flag"]


def test_a_runs_dir_that_is_a_file_completes_only_latest(roots, tmp_path):
    (tmp_path / "file").write_text("")
    assert completions(f"learnai show --runs-dir {tmp_path / 'file'} ", roots[0]) == ["latest"]


@pytest.mark.parametrize(
    "words,expected",
    [
        ("learnai tune c.yaml --sampler ", ["tpe", "random", "grid", "cmaes"]),
        ("learnai tune c.yaml --sampler r", ["random"]),
        ("learnai tune c.yaml --pruner ", ["median", "hyperband", "none"]),
        ("learnai export latest --format s", ["safetensors", "state_dict"]),
        ("learnai export latest --format ", ["pt2", "onnx", "safetensors", "torchscript", "state_dict"]),
        ("learnai runs --status c", ["completed", "crashed"]),
        ("learnai eval latest --device c", ["cpu", "cuda"]),
    ],
)
def test_choice_options_complete_from_their_choices_not_file_names(tmp_path, monkeypatch, words, expected):
    monkeypatch.chdir(tmp_path)
    for name in ("random.txt", "safetensors_notes", "completed.csv", "cpu.yaml", "c.yaml"):
        (tmp_path / name).write_text("")  # a file-name completion would offer these
    assert sorted(completions(words, tmp_path / "runs")) == sorted(expected)
