"""A command's exit skips the interpreter's final garbage collections, and loses nothing of the run it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONFIGS


def test_a_training_command_freezes_its_objects_at_exit_and_its_run_is_complete(tmp_path):
    # Registered before main(): atexit runs it after learnai's own exit handlers, so it sees what they left.
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count()))\n"
        "from learnai_cli.cli import main\n"
        f"sys.argv = ['learnai', 'train', {str(CONFIGS / 'toy_classes.yaml')!r}, 'train.epochs=3',\n"
        f"            '--runs-dir', {str(tmp_path)!r}, '--no-progress']\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    frozen = int(done.stdout.rsplit("frozen at exit:", 1)[1])
    assert frozen > 10_000  # torch's objects, which the shut-down would otherwise walk in full collections
    (run,) = tmp_path.iterdir()
    meta = json.loads((run / "meta.json").read_text())
    assert meta["status"] == "completed" and meta["epochs_completed"] == 3
    assert len((run / "metrics.csv").read_text().splitlines()) == 4  # header + 3 epochs
    assert (run / "checkpoints" / "last.pt").stat().st_size > 0 and (run / "plots" / "loss.png").stat().st_size > 0
    assert "status: completed" in (run / "train.log").read_text()


def test_light_commands_exit_the_same_way(tmp_path):
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count()))\n"
        "from learnai_cli.cli import main\n"
        f"sys.argv = ['learnai', 'runs', '--runs-dir', {str(tmp_path)!r}]\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.rsplit("frozen at exit:", 1)[1]) > 0


def _console_script(tmp_path, *argv: str) -> subprocess.CompletedProcess:
    """What the `learnai` script runs, with an exit handler registered before it: the shut-down it stands for (it
    would run after learnai's own handlers) must not happen."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('the interpreter shut down as usual', file=sys.stderr))\n"
        "from learnai_cli.cli import run\n"
        f"sys.argv = ['learnai', *{list(argv)!r}]\n"
        "sys.exit(run())\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=_block_buffered()
    )


def _block_buffered() -> dict[str, str]:
    """As a user's shell has it: stdout to a pipe or file is block-buffered (PYTHONUNBUFFERED, set in some
    sandboxes, would hide what the last flush has to write)."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}


def test_the_console_script_ends_right_after_its_exit_handlers_with_everything_flushed(tmp_path):
    runs = str(tmp_path / "runs")
    config = str(CONFIGS / "toy_classes.yaml")
    done = _console_script(tmp_path, "train", config, "train.epochs=2", "--runs-dir", runs, "--json")
    assert done.returncode == 0, done.stderr
    assert "shut down as usual" not in done.stderr
    summary = json.loads(done.stdout)  # a pipe is block-buffered: the whole object was flushed before the end
    assert summary["status"] == "completed"
    assert (tmp_path / "runs" / summary["run_id"] / "plots" / "loss.png").stat().st_size > 0
    listed = _console_script(tmp_path, "runs", "--runs-dir", runs, "--json")
    assert listed.returncode == 0 and summary["run_id"] in listed.stdout


def test_the_console_script_keeps_each_exit_status(tmp_path):
    assert _console_script(tmp_path, "train", str(tmp_path / "missing.yaml")).returncode == 2
    assert _console_script(tmp_path, "--version").returncode == 0
    diverging = _console_script(
        tmp_path, "train", str(CONFIGS / "linear_regression.yaml"), "optimizer.lr=1e6", "train.epochs=3",
        "--runs-dir", str(tmp_path / "runs"),
    )  # fmt: skip
    assert diverging.returncode == 1 and "diverged" in diverging.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_that_cannot_be_written_is_an_error_not_a_silent_success(tmp_path):
    code = "import sys\nfrom learnai_cli.cli import run\nsys.argv = ['learnai', *sys.argv[1:]]\nsys.exit(run())\n"
    with open("/dev/full", "w") as full:  # every write fails with ENOSPC, like a full disk
        done = subprocess.run(
            [sys.executable, "-c", code, "runs", "--json", "--runs-dir", str(tmp_path)],
            stdout=full, stderr=subprocess.PIPE, text=True, env=_block_buffered(),
        )  # fmt: skip
    assert done.returncode == 1 and "cannot write the output" in done.stderr, done.stderr


@pytest.fixture(scope="module")
def one_run(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("one_run")
    code = "import sys\nfrom learnai_cli.cli import run\nsys.argv = ['learnai', *sys.argv[1:]]\nsys.exit(run())\n"
    trained = subprocess.run(
        [sys.executable, "-c", code, "train", str(CONFIGS / "toy_classes.yaml"), "train.epochs=2", "--runs-dir", runs],
        capture_output=True, text=True,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    return runs


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "command", [["runs", "--runs-dir"], ["runs", "--json", "--runs-dir"], ["show", "latest", "--runs-dir"], ["list"]]
)
@pytest.mark.parametrize("unbuffered", [True, False], ids=["unbuffered", "buffered"])
def test_every_command_whose_output_fails_says_so_in_one_line(one_run, command, unbuffered):
    code = "import sys\nfrom learnai_cli.cli import run\nsys.argv = ['learnai', *sys.argv[1:]]\nsys.exit(run())\n"
    environment = {**_block_buffered(), **({"PYTHONUNBUFFERED": "1"} if unbuffered else {})}
    with open("/dev/full", "w") as full:  # the table is written while the command runs, not only at its end
        done = subprocess.run(
            [sys.executable, "-c", code, *command, *([str(one_run)] if command[-1] == "--runs-dir" else ["models"])],
            stdout=full, stderr=subprocess.PIPE, text=True, env=environment,
        )  # fmt: skip
    assert done.returncode == 1 and "cannot write the output: No space left" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_run_whose_progress_lines_cannot_be_written_still_trains_to_the_end(tmp_path):
    code = "import sys\nfrom learnai_cli.cli import run\nsys.argv = ['learnai', *sys.argv[1:]]\nsys.exit(run())\n"
    runs = tmp_path / "runs"
    with open("/dev/full", "w") as full:  # `2>/dev/full`, or `2>&1 | head -1` once head has gone
        done = subprocess.run(
            [sys.executable, "-c", code, "train", str(CONFIGS / "toy_classes.yaml"), "train.epochs=20",
             "--no-progress", "--runs-dir", str(runs), "--json"],
            stdout=subprocess.PIPE, stderr=full, text=True,
        )  # fmt: skip
    assert done.returncode == 0 and json.loads(done.stdout)["status"] == "completed", done.stdout
    (run,) = runs.iterdir()
    assert json.loads((run / "meta.json").read_text())["epochs_completed"] == 20
    assert "epoch 20/20" in (run / "train.log").read_text()  # train.log still has every line


def test_a_reader_gone_before_the_last_flush_gets_141(tmp_path):
    code = "import sys\nfrom learnai_cli.cli import run\nsys.argv = ['learnai', *sys.argv[1:]]\nsys.exit(run())\n"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "--version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=_block_buffered(),
    )  # fmt: skip
    process.stdout.close()  # `learnai --version | true`
    errors = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141 and "Traceback" not in errors, errors


def test_version_as_json_and_json_elsewhere_at_the_top(cli):
    import json

    from learnai_cli import __version__

    for args in (["--version", "--json"], ["--json", "--version"]):
        result = cli(*args)
        assert result.exit_code == 0 and json.loads(result.stdout) == {"ok": True, "version": __version__}
    misplaced = cli("--json", "runs")
    assert misplaced.exit_code == 2 and "--json goes after the command" in misplaced.output


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("command", [["rm", "nosuch", "--json"], ["runs", "--bogus", "--json"]])
def test_an_error_whose_json_cannot_be_written_ends_without_a_traceback(one_run, command):
    code = "import sys\nfrom learnai_cli.cli import run\nsys.argv = ['learnai', *sys.argv[1:]]\nsys.exit(run())\n"
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-c", code, *command, "--runs-dir", str(one_run)],
            stdout=full, stderr=subprocess.PIPE, text=True, env=_block_buffered(),
        )  # fmt: skip
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr, done.stderr
