"""`learnai train`, `config` and `sweep`: the commands that read an experiment YAML."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from learnai_cli import plot_process
from learnai_cli.cli._shared import (
    OVERRIDES_HELP,
    JsonOption,
    PluginOption,
    RunsDirOption,
    emit,
    metrics_text,
    reporting_errors,
    stdout,
)
from learnai_cli.errors import UsageError
from learnai_cli.rundir import runs_root

DISTRIBUTED = "Distributed"
DISTRIBUTED_FLAGS = ("--nproc-per-node", "--nnodes", "--node-rank", "--master-addr", "--master-port")


ConfigArgument = typer.Argument(
    None, help="Experiment YAML file, e.g. configs/linear_regression.yaml.", show_default=False, metavar="CONFIG"
)
OverridesArgument = typer.Argument(None, help=OVERRIDES_HELP, show_default=False, metavar="KEY=VALUE")
ResumeOption = typer.Option(
    None,
    "--resume",
    help="Continue RUN_ID from its checkpoints/last.pt instead of starting a new run.",
    metavar="RUN_ID",
)
InitFromOption = typer.Option(
    None,
    "--init-from",
    help="Start the new run's model from another run's weights (best.pt, or RUN:last for last.pt); optimizer "
    "and schedule start fresh.",
    metavar="RUN[:best|last]",
)
DryRunOption = typer.Option(
    False,
    "--dry-run",
    help="One train step and one val batch in a throwaway directory: a seconds-long smoke test.",
    metavar="",
)
NoProgressOption = typer.Option(
    False, "--no-progress", help="Plain epoch lines even on a terminal (no progress bar).", metavar=""
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
    from learnai_cli.commands import train as training

    with reporting_errors(json_output):
        if resume is not None:  # its positional arguments are overrides (only train.epochs=N is taken)
            overrides = _resume_overrides(config_path, overrides or [], dry_run, plugin, init_from)
        if nproc_per_node is not None and "WORLD_SIZE" not in os.environ:
            checked = _check_before_launch(config_path, overrides or [], plugin or [], resume, runs_dir)  # once
            _check_gpus_for(checked, nproc_per_node)
            arguments = _without_flag_values(sys.argv[1:])
            raise typer.Exit(training.launch(arguments, nproc_per_node, nnodes, node_rank, master_addr, master_port))
        interactive = sys.stderr.isatty() and not json_output and not no_progress
        plot_process.start_early()  # its matplotlib import overlaps this process's import of torch
        if resume is not None:
            from learnai_cli.commands.resume import resume as resume_run

            command = ["learnai", "train", "--resume", resume, *overrides]
            summary = resume_run(runs_root(runs_dir), resume, command, interactive, overrides)
        else:
            summary = _train_config(
                config_path, overrides or [], plugin or [], runs_dir, dry_run, interactive, init_from
            )
        if summary is not None:  # ranks other than 0 of a distributed job report nothing
            emit(summary, json_output, _render_train)


def _resume_overrides(config_path, overrides: list[str], dry_run: bool, plugin, init_from) -> list[str]:
    """With --resume, every positional argument is an override; only train.epochs=N is accepted."""
    from learnai_cli.commands.resume import check_overrides

    given = ([str(config_path)] if config_path is not None else []) + overrides
    if dry_run or plugin or init_from or any("=" not in argument for argument in given):
        raise UsageError(
            "--resume continues a run with its saved config: give no CONFIG, --plugin, --init-from or --dry-run "
            "with it (train.epochs=N may raise its epoch budget)"
        )
    return check_overrides(given)


def _train_config(
    config_path,
    overrides: list[str],
    plugin_specs: list[str],
    runs_dir,
    dry_run: bool,
    interactive: bool,
    init_from: Optional[str] = None,
):
    from learnai_cli import config as config_module
    from learnai_cli.commands import train as training

    if config_path is None:
        raise UsageError("give a CONFIG file to train (e.g. configs/linear_regression.yaml), or --resume RUN_ID")
    experiment_config = config_module.load(config_path, overrides, plugins=plugin_specs)
    command = ["learnai", "train", str(config_path), *overrides] + (["--dry-run"] if dry_run else [])
    command += [f"--plugin={p}" for p in plugin_specs] + ([f"--init-from={init_from}"] if init_from else [])
    return training.train(
        experiment_config, runs_root(runs_dir), command, interactive, dry_run=dry_run, init_from=init_from
    )


def _check_before_launch(config_path, overrides: list[str], plugin_specs: list[str], resume, runs_dir):
    """The config (or the run to resume) checked in this process, so a bad one is reported once with exit 2
    instead of by every worker and then by torchrun."""
    from learnai_cli import config as config_module
    from learnai_cli import rundir

    if resume is not None:
        run = rundir.resolve(runs_root(runs_dir), resume)
        return config_module.validate(run.read_config(), source=str(run.config_path), base_dir=run.path)
    if config_path is None:
        raise UsageError("give a CONFIG file to train (e.g. configs/linear_regression.yaml), or --resume RUN_ID")
    return config_module.load(config_path, overrides, plugins=plugin_specs)


def _check_gpus_for(experiment_config, nproc_per_node: int) -> None:
    """On CUDA each process needs a GPU of its own (nccl): more processes than GPUs is refused before launching."""
    import torch

    device = experiment_config.device
    if device == "cpu" or not torch.cuda.is_available():
        return  # CPU processes (gloo), or a missing CUDA that each worker reports as a device error
    count = torch.cuda.device_count()
    if nproc_per_node > count:
        raise UsageError(
            f"--nproc-per-node {nproc_per_node}: each process trains on its own GPU and this machine has {count}; "
            f"use --nproc-per-node {count}, or device=cpu for CPU processes"
        )


def _without_flag_values(arguments: list[str]) -> list[str]:
    """The command line minus the launcher's own options (which torchrun takes instead)."""
    kept, skip_next = [], False
    for argument in arguments:
        if skip_next:
            skip_next = False
        elif argument in DISTRIBUTED_FLAGS:
            skip_next = True
        elif not argument.startswith(tuple(f + "=" for f in DISTRIBUTED_FLAGS)):
            kept.append(argument)
    return kept


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
    stdout.print(f"  run dir: {summary['run_dir']}", highlight=False)
    if summary.get("mlflow"):
        tracked = summary["mlflow"]
        stdout.print(f"  mlflow run: {tracked['run_id']} in {tracked['tracking_uri']}", highlight=False)


def config(
    config_path: Path = typer.Argument(..., help="Experiment YAML file.", metavar="CONFIG"),
    overrides: Optional[List[str]] = typer.Argument(None, help=OVERRIDES_HELP, show_default=False, metavar="KEY=VALUE"),
    plugin: Optional[List[str]] = PluginOption,
    json_output: bool = JsonOption,
) -> None:
    """Validate a config without training: build the model (and, when the data is at hand, check one batch through
    it); print it resolved."""
    from learnai_cli.commands.validate import check_config

    with reporting_errors(json_output):
        emit(check_config(config_path, overrides or [], plugin or []), json_output, _render_config)


def _render_config(result: dict[str, Any]) -> None:
    import yaml

    stdout.print(yaml.safe_dump(result["config"], sort_keys=False), highlight=False, end="")
    stdout.print(f"# model parameters: {result['parameters']:,}; {result['data_check']}", highlight=False)


def sweep(
    config_path: Path = typer.Argument(..., help="Experiment YAML file.", metavar="CONFIG"),
    axes: List[str] = typer.Argument(
        ...,
        help="key.path=v1,v2,v3 per axis; every combination is trained (single values act as overrides).",
        metavar="KEY=V1,V2",
    ),
    no_progress: bool = NoProgressOption,
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Train a grid of settings, one normal run each; write summary.csv and a comparison plot, print a ranked table."""
    from learnai_cli.commands.sweep import run_sweep

    with reporting_errors(json_output):
        interactive = sys.stderr.isatty() and not json_output and not no_progress
        emit(run_sweep(config_path, axes, runs_root(runs_dir), interactive), json_output, _render_sweep)


def _render_sweep(result: dict[str, Any]) -> None:
    from learnai_cli.cli.table_fit import Layout, print_table

    rows, styles = [], []
    for row in result["rows"]:
        best = f"{row['best']:.4g}" if isinstance(row["best"], float) else ""
        loss = f"{row['final_train_loss']:.4g}" if isinstance(row["final_train_loss"], float) else ""
        rows.append((row["point"], row["status"], best, loss, row["run_id"]))
        styles.append("red" if row["status"] != "completed" else None)
    headers = ("point", "status", "best", "final train loss", "run id")
    layout = Layout(whole="run id", drop_order=("final train loss",), right_aligned=("best",), styles=styles)
    print_table(f"{result['sweep_id']} (by {result['monitor']})", headers, rows, layout)
    stdout.print(f"wrote {result['summary_csv']}\nwrote {result['plot']}", highlight=False)
