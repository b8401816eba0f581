"""`learnai train`: a config trained into a new run directory, a run resumed, or a job launched under torchrun."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from learnai_cli.cli._shared import (
    OVERRIDES_HELP,
    JsonOption,
    NoProgressOption,
    PluginOption,
    RunsDirOption,
    complete_run_id,
    emit,
    metrics_text,
    pass_on_json,
    reporting_errors,
    stdout,
)
from learnai_cli.cli.diagnose import render_baseline, render_findings
from learnai_cli.errors import UsageError
from learnai_cli.plots import process as plot_process
from learnai_cli.rundir import runs_root

DISTRIBUTED = "Distributed"


ConfigArgument = typer.Argument(
    None, help="Experiment YAML file, e.g. configs/linear_regression.yaml.", show_default=False, metavar="CONFIG"
)


OverridesArgument = typer.Argument(None, help=OVERRIDES_HELP, show_default=False, metavar="KEY=VALUE")


ResumeOption = typer.Option(
    None,
    "--resume",
    help="Continue RUN_ID from its checkpoints/last.pt instead of starting a new run.",
    metavar="RUN_ID",
    autocompletion=complete_run_id,
)


InitFromOption = typer.Option(
    None,
    "--init-from",
    help="Start the new run's model from another run's weights (best.pt, or RUN:last for last.pt); optimizer "
    "and schedule start fresh.",
    metavar="RUN[:best|last]",
    autocompletion=complete_run_id,
)


DryRunOption = typer.Option(
    False,
    "--dry-run",
    help="One train step and one val batch in a throwaway directory: a seconds-long smoke test.",
    metavar="",
)


TestOption = typer.Option(
    False,
    "--test",
    help="When training completes, evaluate best.pt on the test split (what `learnai eval RUN` does) and report it "
    "with the run.",
)


NprocOption = typer.Option(
    None,
    "--nproc-per-node",
    min=1,
    help="Train data-parallel with this many processes on this node (torchrun; DDP).",
    rich_help_panel=DISTRIBUTED,
    metavar="N",
)


NnodesOption = typer.Option(
    1, "--nnodes", min=1, help="Number of nodes (machines) in the job.", rich_help_panel=DISTRIBUTED, metavar="N"
)


NodeRankOption = typer.Option(
    0, "--node-rank", min=0, help="This node's rank, 0..nnodes-1.", rich_help_panel=DISTRIBUTED, metavar="RANK"
)


MasterAddrOption = typer.Option(
    "127.0.0.1", "--master-addr", help="Address of node 0.", rich_help_panel=DISTRIBUTED, metavar="HOST"
)


MasterPortOption = typer.Option(
    29500, "--master-port", help="A free port on node 0.", rich_help_panel=DISTRIBUTED, metavar="PORT"
)


def train(
    config_path: Optional[Path] = ConfigArgument,
    overrides: Optional[List[str]] = OverridesArgument,
    resume: Optional[str] = ResumeOption,
    init_from: Optional[str] = InitFromOption,
    dry_run: bool = DryRunOption,
    test: bool = TestOption,
    no_progress: bool = NoProgressOption,
    nproc_per_node: Optional[int] = NprocOption,
    nnodes: int = NnodesOption,
    node_rank: int = NodeRankOption,
    master_addr: str = MasterAddrOption,
    master_port: int = MasterPortOption,
    plugin: Optional[List[str]] = PluginOption,
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Train an experiment into a new timestamped run directory (or --resume one)."""
    from learnai_cli.commands.train import run as training

    with reporting_errors(json_output):
        if test and dry_run:
            raise UsageError("--test evaluates the run's best.pt, and a --dry-run keeps no run: give one of them")
        if resume is not None:  # its positional arguments are overrides (only train.epochs=N is taken)
            overrides = _resume_overrides(config_path, overrides or [], dry_run, plugin, init_from)
        if nproc_per_node is not None and "WORLD_SIZE" not in os.environ:
            from learnai_cli.commands.train import launch
            from learnai_cli.commands.train.processes import Processes

            root = runs_root(runs_dir)
            processes = Processes(nproc_per_node, nnodes, node_rank, master_addr, master_port)
            launch.check_before_launch(config_path, overrides or [], plugin or [], resume, root, processes)
            code, printed = launch.launch(sys.argv[1:], processes, json_output)
            pass_on_json(printed)  # rank 0's one object (main() then adds none)
            raise typer.Exit(code)
        interactive = sys.stderr.isatty() and not json_output and not no_progress
        plot_process.start_early()  # its matplotlib import overlaps this process's import of torch
        if resume is not None:
            from learnai_cli.commands.train.resume import resume as resume_run

            command = ["learnai", "train", "--resume", resume, *overrides]
            summary = resume_run(runs_root(runs_dir), resume, command, interactive, overrides)
        else:
            summary = training.train_file(
                config_path, overrides or [], plugin or [], runs_root(runs_dir), interactive, dry_run, init_from
            )
        if summary is not None:  # ranks other than 0 of a distributed job report nothing
            emit(_tested(summary) if test else summary, json_output, _render_train)


def _tested(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary of a completed run with its best.pt evaluated on the test split, in this process (its data and
    torch are loaded already: no second start-up); the run is kept whatever the evaluation says."""
    from learnai_cli.commands.evaluate import evaluate_run
    from learnai_cli.errors import LearnaiError
    from learnai_cli.rundir import RunDir

    try:
        return {**summary, "test": evaluate_run(RunDir(Path(summary["run_dir"])), "best", "test")}
    except LearnaiError as error:
        failed = LearnaiError(
            f"run {summary['run_id']} completed and is kept, but --test could not evaluate it: {error}"
        )
        failed.exit_code = error.exit_code
        failed.details = {key: summary[key] for key in ("run_id", "run_dir", "status")}  # in --json
        raise failed from error


def _resume_overrides(config_path, overrides: list[str], dry_run: bool, plugin, init_from) -> list[str]:
    """With --resume, every positional argument is an override; only train.epochs=N is accepted."""
    from learnai_cli.commands.train.resume import check_overrides

    given = ([str(config_path)] if config_path is not None else []) + overrides
    if dry_run or plugin or init_from or any("=" not in argument for argument in given):
        raise UsageError(
            "--resume continues a run with its saved config: give no CONFIG, --plugin, --init-from or --dry-run "
            "with it (train.epochs=N may raise its epoch budget)"
        )
    return check_overrides(given)


def _render_train(summary: dict[str, Any]) -> None:
    if summary.get("dry_run"):
        steps = summary["final"].get("step", 0)
        stdout.print(f"dry run ok: {steps} step(s); final {metrics_text(summary['final'])}", highlight=False)
        return
    best = summary.get("best") or {}
    stdout.print(
        f"[bold green]{summary['status']}[/] {summary['run_id']}  ({summary['duration_s']:.1f}s)", highlight=False
    )
    if summary.get("message"):
        stdout.print(f"  {summary['message']}", highlight=False)
    stdout.print(f"  final: {metrics_text(summary['final'])}", highlight=False)
    if best.get("value") is not None:
        stdout.print(f"  best {best['metric']} {best['value']:.4g} at epoch {best['epoch']}", highlight=False)
    render_baseline(summary.get("baseline"))
    stdout.print(f"  run dir: {summary['run_dir']}", highlight=False)
    if summary.get("mlflow"):
        tracked = summary["mlflow"]
        stdout.print(f"  mlflow run: {tracked['run_id']} in {tracked['tracking_uri']}", highlight=False)
    if "findings" in summary:
        stdout.print("  diagnosis:", highlight=False)
        render_findings(summary["findings"], summary.get("baseline"))
    if "test" in summary:  # --test: the table `learnai eval` prints
        from learnai_cli.cli.evaluate import render_eval

        render_eval(summary["test"])
