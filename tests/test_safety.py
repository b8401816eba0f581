"""Checkpoints load only with weights_only; commands that need no torch do not import it."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run_cli_checking_torch_stays_unimported(argv: list[str]) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh interpreter and fail if anything imported torch."""
    code = (
        "import sys; from learnai_cli.cli import main\n"
        f"sys.argv = ['learnai', *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit as done:\n    assert done.code in (0, 2, None), done.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


@pytest.mark.parametrize(
    "argv", [["--help"], ["train", "--help"], ["runs"], ["plot", "latest"], ["list"], ["list", "models", "--json"]]
)
def test_light_commands_do_not_import_torch(tmp_path, argv):
    done = run_cli_checking_torch_stays_unimported(
        [*argv, "--runs-dir", str(tmp_path)] if argv[0] in ("runs", "plot") else argv
    )
    assert done.returncode == 0, done.stderr


def test_plot_of_an_existing_run_does_not_import_torch(cli, runs_dir):
    from tests.conftest import CONFIGS

    cli("train", CONFIGS / "toy_classes.yaml", "train.epochs=2")
    done = run_cli_checking_torch_stays_unimported(["plot", "latest", "--runs-dir", str(runs_dir)])
    assert done.returncode == 0, done.stderr
    assert "loss.png" in done.stdout


def test_warnings_go_through_logging_with_plain_lines_off_a_terminal(tmp_path):
    run = tmp_path / "2026-01-01_00-00-00_torn"
    run.mkdir()
    (run / "metrics.jsonl").write_text('{"type": "epoch", "epoch": 1, "train_loss": 1.0}\n{"type": "ep')
    done = run_cli_checking_torch_stays_unimported(["plot", "latest", "--runs-dir", str(tmp_path)])
    assert done.returncode == 0 and "WARNING: " in done.stderr and "line 2 is incomplete" in done.stderr
