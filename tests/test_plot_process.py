"""The final plots are drawn by a helper process that imports matplotlib while the run trains, or here if it fails."""

from __future__ import annotations

import json
import subprocess
import sys

from learnai_cli.plots.process import PlotProcess
from tests.conftest import CONFIGS, REPO

TRAIN_THEN_CHECK_IMPORTS = (
    f"import sys\nsys.path.insert(0, {str(REPO)!r})\n"
    "from learnai_cli.cli import main\nsys.argv = ['learnai', *sys.argv[1:]]\n"
    "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code, done.code\n"
    "assert 'matplotlib' not in sys.modules, 'the training process imported matplotlib'\n"
)


def test_a_training_process_leaves_matplotlib_to_the_helper_and_still_gets_its_plots(tmp_path):
    workdir = tmp_path / "work"  # a folder holding some other learnai_cli: the helper must import this one
    (workdir / "learnai_cli").mkdir(parents=True)
    (workdir / "learnai_cli" / "__init__.py").write_text("raise ImportError('not the learnai being run')\n")
    config = str(CONFIGS / "toy_classes.yaml")
    runs = tmp_path / "runs"
    arguments = ["train", config, "train.epochs=3", "--runs-dir", str(runs), "--json"]
    done = subprocess.run(
        [sys.executable, "-c", TRAIN_THEN_CHECK_IMPORTS, *arguments], cwd=workdir, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert [p.rsplit("/", 1)[-1] for p in summary["plots"]] == ["loss.png"]
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    assert (run / "plots" / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_a_helper_that_died_leaves_the_drawing_to_this_process(cli, runs_dir):
    assert cli("train", str(CONFIGS / "linear_regression.yaml"), "train.epochs=2").exit_code == 0
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    (run / "plots" / "loss.png").unlink()
    plotter = PlotProcess()
    plotter.process = subprocess.Popen(  # stands for a helper that crashed on start-up
        [sys.executable, "-c", "raise SystemExit(3)"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert plotter.draw(run) == [str(run / "plots" / "loss.png")]
    assert (run / "plots" / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert plotter.process is None


def test_a_run_that_ends_without_recording_its_end_stops_the_helper_without_drawing(monkeypatch):
    plotter = PlotProcess()
    monkeypatch.delitem(
        sys.modules, "learnai_cli.plots.figures", raising=False
    )  # so that start() starts a helper here too
    plotter.start()
    helper = plotter.process
    assert helper is not None
    plotter.close()
    assert helper.poll() is not None and plotter.process is None


def test_the_train_command_starts_the_helper_early_and_the_fit_takes_that_one(monkeypatch):
    from learnai_cli.plots import process as plot_process

    monkeypatch.delitem(sys.modules, "learnai_cli.plots.figures", raising=False)
    monkeypatch.setattr(plot_process, "_early", None)
    plot_process.start_early()
    early = plot_process._early
    assert early is not None and early.process is not None and early.process.poll() is None
    assert plot_process.claim() is early and plot_process._early is None  # taken once
    early.close()


def test_an_early_helper_nobody_claims_is_stopped_at_exit_and_other_ranks_start_none(monkeypatch):
    from learnai_cli.plots import process as plot_process

    monkeypatch.delitem(sys.modules, "learnai_cli.plots.figures", raising=False)
    monkeypatch.setattr(plot_process, "_early", None)
    monkeypatch.setenv("RANK", "1")  # a distributed job's second process: rank 0 draws
    plot_process.start_early()
    assert plot_process._early is None
    monkeypatch.delenv("RANK")
    plot_process.start_early()
    helper = plot_process._early.process
    plot_process._close_unclaimed()  # what atexit runs after a bad config ended the command
    assert helper.poll() is not None


def test_helpers_that_answered_are_reaped_not_kept(cli, runs_dir, monkeypatch):
    """A sweep or tune process draws once per run: the helpers that exited must not pile up."""
    from learnai_cli.plots import process as plot_process

    assert cli("train", str(CONFIGS / "linear_regression.yaml"), "train.epochs=1").exit_code == 0
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    monkeypatch.delitem(sys.modules, "learnai_cli.plots.figures", raising=False)  # so that start() starts real helpers
    monkeypatch.setattr(plot_process, "_finishing", [])
    for _ in range(3):
        plotter = PlotProcess()
        plotter.start()
        assert plotter.draw(run) == [str(run / "plots" / "loss.png")]
        plot_process._finishing[-1].wait(timeout=30)  # it exits on its own once it has answered
    plotter = PlotProcess()
    plotter.start()
    plotter.draw(run)
    assert len(plot_process._finishing) == 1  # the three that exited were reaped when the fourth was kept
