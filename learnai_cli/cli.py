"""The `learnai` command line: parse, call one function, render. torch is imported only by commands that train or evaluate."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from learnai_cli import __version__
from learnai_cli.errors import EXIT_INTERRUPTED, LearnaiError, UsageError

app = typer.Typer(
    name="learnai",
    help="Config-driven PyTorch experiments: train from YAML, then eval, plot and compare runs.\n\n"
    "Exit codes: 0 success, 1 the run failed (diverged, error in training), 2 bad usage or config, 130 interrupted.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
stdout = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)  # logs and pipes get full tables
stderr = Console(stderr=True, soft_wrap=True)

JSON_HELP = "Print one JSON object on stdout and nothing else there (for scripts)."
RUNS_DIR_HELP = "Root folder of run directories."
OVERRIDES_HELP = "key.path=value settings applied over the file, values parsed as YAML (e.g. optimizer.lr=0.1 train.epochs=3)."

JsonOption = typer.Option(False, "--json", help=JSON_HELP)
PluginOption = typer.Option(None, "--plugin", help="Module or .py file to import for its registered builders (repeatable); plugins run code.", metavar="MODULE|FILE.py")
RunsDirOption = typer.Option(None, "--runs-dir", envvar="LEARNAI_RUNS_DIR", help=RUNS_DIR_HELP, show_default="./runs")


def complete_run_id(incomplete: str) -> list[str]:
    """Shell completion of RUN_ID arguments from the runs root."""
    from learnai_cli import runs

    candidates = ["latest", *[r.id for r in runs.all_runs(runs.runs_root(None))]]
    return [c for c in candidates if c.startswith(incomplete)]


RunIdArgument = typer.Argument(..., help="Run directory name, a unique prefix of it, or 'latest'.", autocompletion=complete_run_id)
CheckpointOption = typer.Option("best", "--checkpoint", help="best, last, or a path to a .pt file.")


@contextmanager
def reporting_errors(json_output: bool) -> Iterator[None]:
    """Turn learnai errors into a message on stderr (and a JSON object with --json) and the documented exit code."""
    try:
        yield
    except LearnaiError as error:
        _fail(error.render(), error.exit_code, json_output)
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERRUPTED, json_output)


def _fail(message: str, code: int, json_output: bool) -> None:
    stderr.print(Text("error: ", style="bold red") + Text(message))
    if json_output:
        print(json.dumps({"ok": False, "exit_code": code, "error": message}))
    raise typer.Exit(code)


def emit(result: dict[str, Any], json_output: bool, render: Callable[[dict[str, Any]], None]) -> None:
    if json_output:
        print(json.dumps({"ok": True, **result}, default=str))
    else:
        render(result)


def _version(value: bool) -> None:
    if value:
        print(f"learnai {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """learnai: write a YAML file, train it, get a run directory with metrics, checkpoints and plots."""


@app.command()
def train(
    config: Optional[Path] = typer.Argument(None, help="Experiment YAML file, e.g. configs/linear_regression.yaml.", show_default=False),
    overrides: Optional[List[str]] = typer.Argument(None, help=OVERRIDES_HELP, show_default=False),
    resume: Optional[str] = typer.Option(None, "--resume", help="Continue RUN_ID from its checkpoints/last.pt instead of starting a new run.", metavar="RUN_ID"),
    dry_run: bool = typer.Option(False, "--dry-run", help="One train step and one val batch in a throwaway directory: a seconds-long smoke test."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Plain epoch lines even on a terminal (no progress bar)."),
    nproc_per_node: Optional[int] = typer.Option(None, "--nproc-per-node", min=1, help="Train data-parallel with this many processes on this node (torchrun; DDP).", rich_help_panel="Distributed"),
    nnodes: int = typer.Option(1, "--nnodes", min=1, help="Number of nodes (machines) in the job.", rich_help_panel="Distributed"),
    node_rank: int = typer.Option(0, "--node-rank", min=0, help="This node's rank, 0..nnodes-1.", rich_help_panel="Distributed"),
    master_addr: str = typer.Option("127.0.0.1", "--master-addr", help="Address of node 0.", rich_help_panel="Distributed"),
    master_port: int = typer.Option(29500, "--master-port", help="A free port on node 0.", rich_help_panel="Distributed"),
    plugin: Optional[List[str]] = PluginOption,
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Train an experiment into a new timestamped run directory (or --resume one)."""
    from learnai_cli import config as config_module
    from learnai_cli import training
    from learnai_cli.runs import runs_root

    if nproc_per_node is not None and "WORLD_SIZE" not in os.environ:
        arguments = _without_flag_values(sys.argv[1:])
        from learnai_cli.engine.distributed import launch

        raise typer.Exit(launch(arguments, nproc_per_node, nnodes, node_rank, master_addr, master_port))
    with reporting_errors(json_output):
        interactive = sys.stderr.isatty() and not json_output and not no_progress
        if resume is not None:
            if config is not None or dry_run or plugin:
                raise UsageError("--resume continues a run with its saved config: give no CONFIG, overrides, --plugin or --dry-run with it")
            summary = training.resume(runs_root(runs_dir), resume, ["learnai", "train", "--resume", resume], interactive)
        else:
            if config is None:
                raise UsageError("give a CONFIG file to train (e.g. configs/linear_regression.yaml), or --resume RUN_ID")
            experiment = config_module.load(config, overrides or [], plugins=plugin or [])
            command = ["learnai", "train", str(config), *(overrides or [])] + (["--dry-run"] if dry_run else [])
            command += [f"--plugin={p}" for p in plugin or []]
            summary = training.train(experiment, runs_root(runs_dir), command, interactive, dry_run=dry_run)
        if summary is not None:  # ranks other than 0 of a distributed job report nothing
            emit(summary, json_output, _render_train)


DISTRIBUTED_FLAGS = ("--nproc-per-node", "--nnodes", "--node-rank", "--master-addr", "--master-port")


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
        stdout.print(f"dry run ok: {summary['final'].get('step', 0)} step(s); final {_metrics_text(summary['final'])}", highlight=False)
        return
    best = summary.get("best") or {}
    stdout.print(f"[bold green]{summary['status']}[/] {summary['run_id']}  ({summary['duration_s']:.1f}s)", highlight=False)
    if summary.get("message"):
        stdout.print(f"  {summary['message']}", highlight=False)
    stdout.print(f"  final: {_metrics_text(summary['final'])}", highlight=False)
    if best.get("value") is not None:
        stdout.print(f"  best {best['metric']} {best['value']:.4g} at epoch {best['epoch']}", highlight=False)
    stdout.print(f"  run dir: {summary['run_dir']}", highlight=False)


def _metrics_text(record: dict[str, Any]) -> str:
    keys = [k for k in record if k.endswith("loss") or k.startswith("val_")]
    return "  ".join(f"{k} {record[k]:.4g}" for k in keys if isinstance(record.get(k), (int, float)))


@app.command("eval")
def eval_command(
    run_id: str = RunIdArgument,
    checkpoint: str = CheckpointOption,
    split: str = typer.Option("test", "--split", help="test, val or train."),
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Evaluate a run's checkpoint on a split; writes eval.json (and a confusion matrix for classifiers)."""
    from learnai_cli import runs
    from learnai_cli.evaluation import evaluate_run

    with reporting_errors(json_output):
        run = runs.resolve(runs.runs_root(runs_dir), run_id)
        report = evaluate_run(run, checkpoint=checkpoint, split=split)
        emit(report, json_output, _render_eval)


def _render_eval(report: dict[str, Any]) -> None:
    table = Table(title=f"{report['run_id']} — {report['split']} split ({report['samples']} samples, epoch {report['checkpoint_epoch']})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in report["metrics"].items():
        table.add_row(name, f"{value:.4f}")
    for name, values in report.get("parameters", {}).items():
        table.add_row(name, ", ".join(f"{v:.4f}" for v in values))
    stdout.print(table)
    if "predicted_text" in report:
        info = report["data_info"]
        stdout.print(Text(f"input: {info['source']}  predicted: {report['predicted_text']}  target: {info['target']}"))
    if len(report.get("per_class_accuracy", {})) > 2 and "predicted_text" not in report:
        per_class = Table(title="accuracy per class")
        per_class.add_column("class")
        per_class.add_column("accuracy", justify="right")
        for name, value in report["per_class_accuracy"].items():
            per_class.add_row(Text(name), "" if value is None else f"{value:.3f}")
        stdout.print(per_class)
    if "learned_polynomial" in report:
        stdout.print(Text(f"learned: {report['learned_polynomial']}\ntrue:    {report['true_polynomial']}"))
    for path in report.get("plots", []):
        stdout.print(f"wrote {path}", highlight=False)


@app.command()
def predict(
    run_id: str = RunIdArgument,
    text: str = typer.Argument(..., help="A surname (names models), an image file (image models) or a comma-separated row of numbers (tabular and regression models)."),
    checkpoint: str = CheckpointOption,
    top: int = typer.Option(3, "--top", min=1, help="How many classes to show."),
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Run one input through a trained model: the top classes with probabilities, or the predicted value."""
    from learnai_cli import runs
    from learnai_cli.prediction import predict as run_prediction

    with reporting_errors(json_output):
        run = runs.resolve(runs.runs_root(runs_dir), run_id)
        emit(run_prediction(run, text, checkpoint, top), json_output, _render_prediction)


def _render_prediction(result: dict[str, Any]) -> None:
    if "prediction" in result:
        stdout.print(Text(f"{result['input']} -> {', '.join(f'{v:.4g}' for v in result['prediction'])}"))
        return
    for rank, entry in enumerate(result["top"], start=1):
        stdout.print(Text(f"{rank}. {entry['class']:<14} {entry['probability']:.1%}"))


@app.command("export")
def export_command(
    run_id: str = RunIdArgument,
    fmt: str = typer.Option("torchscript", "--format", help="torchscript, onnx (needs the onnx and onnxscript packages) or state_dict."),
    checkpoint: str = CheckpointOption,
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Export a run's model to the run's export/ folder: TorchScript, ONNX or a state_dict."""
    from learnai_cli import runs
    from learnai_cli.export import export

    with reporting_errors(json_output):
        result = export(runs.resolve(runs.runs_root(runs_dir), run_id), fmt, checkpoint)
        emit(result, json_output, lambda r: stdout.print(Text(f"wrote {r['path']} ({r['format']})")))


@app.command()
def plot(
    run_ids: Optional[List[str]] = typer.Argument(None, help="Run ids (directory name, unique prefix or 'latest'); with --landscape, an optional config.", show_default=False),
    compare: bool = typer.Option(False, "--compare", help="Overlay the loss curves of all the runs given in one chart."),
    animate: bool = typer.Option(False, "--animate", help="plots/training.gif (and .mp4 with ffmpeg) of the fit converging, and plots/fit.png; needs train.record_predictions."),
    landscape: bool = typer.Option(False, "--landscape", help="MSE as a function of w, and of (w, b), for y = w·x + b on the curriculum's x=1,2,3 / y=2,4,6 (or a given config's 1-D data)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Where --compare / --landscape write their PNG (default: in the runs root)."),
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """(Re)draw plots from run files, without importing torch: loss curves, confusion matrix, --compare, --animate, --landscape."""
    from learnai_cli import plots, runs

    with reporting_errors(json_output):
        root, ids = runs.runs_root(runs_dir), run_ids or []
        if landscape:
            written = [_draw_landscape(ids, output or root / "landscape.png")]
        elif not ids:
            raise UsageError("give one or more RUN_IDs (see `learnai runs`), or --landscape")
        elif compare:
            chosen = [runs.resolve(root, run_id) for run_id in ids]
            written = [plots.save_figure(plots.compare_figure(chosen), output or root / "comparison.png")]
        else:
            written = []
            for run_id in ids:
                run = runs.resolve(root, run_id)
                drawn = plots.plot_run(run) + (plots.animate_run(run) if animate else [])
                if not drawn:
                    raise UsageError(f"run {run.id} has no metrics to plot yet")
                if animate and not (run.path / "predictions.jsonl").exists():
                    raise UsageError(f"run {run.id} recorded no predictions: train it with train.record_predictions=true (1-D regression data)")
                written += drawn
        emit({"plots": [str(p) for p in written]}, json_output, lambda r: [stdout.print(f"wrote {p}", highlight=False) for p in r["plots"]])


def _draw_landscape(arguments: list[str], path: Path) -> Path:
    """The curriculum's landscape, or one over a config's 1-D regression data (that needs torch to build it)."""
    from learnai_cli import plots

    if len(arguments) > 1:
        raise UsageError("--landscape takes at most one config file")
    if not arguments:
        return plots.save_figure(plots.landscape_figure(plots.LANDSCAPE_X, plots.LANDSCAPE_Y, "x = 1, 2, 3; y = 2, 4, 6"), path)
    from learnai_cli import config as config_module
    from learnai_cli.experiment import build_data

    config = config_module.load(Path(arguments[0]))
    data, _ = build_data(config)
    inputs = getattr(data.train, "inputs", None)
    if inputs is None or inputs.dim() != 2 or inputs.shape[1] != 1:
        raise UsageError(f"--landscape needs 1-D regression data; {arguments[0]} has data '{config.data.name}'")
    x, y = inputs.view(-1).tolist(), data.train.targets.view(-1).tolist()
    return plots.save_figure(plots.landscape_figure(x, y, config.name), path)


@app.command()
def sweep(
    config: Path = typer.Argument(..., help="Experiment YAML file."),
    axes: List[str] = typer.Argument(..., help="key.path=v1,v2,v3 per axis; every combination is trained (single values act as overrides)."),
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Train a grid of settings, one normal run each; write summary.csv and a comparison plot, print a ranked table."""
    from learnai_cli import sweep as sweeping
    from learnai_cli.runs import runs_root

    with reporting_errors(json_output):
        interactive = sys.stderr.isatty() and not json_output
        result = sweeping.run_sweep(config, axes, runs_root(runs_dir), interactive)
        emit(result, json_output, _render_sweep)


def _render_sweep(result: dict[str, Any]) -> None:
    table = Table(title=f"{result['sweep_id']} (by {result['monitor']})")
    for column in ("point", "status", "best", "final train loss", "run id"):
        table.add_column(column)
    for row in result["rows"]:
        best = f"{row['best']:.4g}" if isinstance(row["best"], float) else ""
        loss = f"{row['final_train_loss']:.4g}" if isinstance(row["final_train_loss"], float) else ""
        style = "red" if row["status"] != "completed" else None
        table.add_row(*map(Text, (row["point"], row["status"], best, loss, row["run_id"])), style=style)
    stdout.print(table)
    stdout.print(f"wrote {result['summary_csv']}\nwrote {result['plot']}", highlight=False)


@app.command("runs")
def list_runs(
    status: Optional[str] = typer.Option(None, "--status", help="Only runs with this status: running, completed, failed, diverged, interrupted, crashed."),
    name: Optional[str] = typer.Option(None, "--name", help="Only runs whose name or id contains this."),
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """List runs: id, name, status, epochs, best metric, duration, start time."""
    from learnai_cli import manage, runs

    with reporting_errors(json_output):
        root = runs.runs_root(runs_dir)
        emit({"runs_dir": str(root), "runs": manage.filtered_summaries(root, status, name)}, json_output, _render_runs)


@app.command()
def show(
    run_id: str = RunIdArgument,
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """One run in full: status, best metric, the last epoch, its config and its files."""
    from learnai_cli import manage, runs

    with reporting_errors(json_output):
        emit(manage.show(runs.resolve(runs.runs_root(runs_dir), run_id)), json_output, _render_show)


def _render_show(result: dict[str, Any]) -> None:
    import yaml

    meta, best = result["meta"], result["meta"].get("best") or {}
    stdout.print(Text(f"{result['run_id']}  {result['status']}  {meta.get('epochs_completed', 0)} epochs  {meta.get('duration_s', 0)} s  ({result['run_dir']})"))
    if meta.get("message"):
        stdout.print(Text(f"  {meta['message']}"))
    if best.get("value") is not None:
        stdout.print(Text(f"  best {best['metric']} {best['value']:.4g} at epoch {best['epoch']}"))
    if result["last_epoch"]:
        stdout.print(Text(f"  last epoch: {_metrics_text(result['last_epoch'])}"))
    stdout.print(Text(yaml.safe_dump(result["config"], sort_keys=False)))
    for entry in result["files"]:
        stdout.print(Text(f"  {entry['path']}  ({entry['bytes']:,} bytes)"))


def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{question} Refusing without a terminal to ask on; pass --yes to confirm in scripts")
    if not typer.confirm(question):
        raise UsageError("nothing was removed")


@app.command("rm")
def remove_run(
    run_id: str = typer.Argument(..., help="Run directory name or unique prefix ('latest' works too).", autocompletion=complete_run_id),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (scripts)."),
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Delete a run directory (asks first; --yes in scripts)."""
    from learnai_cli import manage, runs

    with reporting_errors(json_output):
        run = runs.resolve(runs.runs_root(runs_dir), run_id)
        _confirm(f"Delete {run.path}?", yes)
        manage.remove(run)
        emit({"removed": [run.id]}, json_output, lambda r: stdout.print(Text(f"removed {run.id}")))


@app.command()
def gc(
    keep_last: int = typer.Option(..., "--keep-last", help="Keep this many of the newest runs; delete the older ones (never running ones)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (scripts)."),
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Delete old runs, keeping the newest N."""
    from learnai_cli import manage, runs

    with reporting_errors(json_output):
        doomed = manage.gc_candidates(runs.runs_root(runs_dir), keep_last)
        if doomed:
            _confirm(f"Delete {len(doomed)} run(s), the oldest being {doomed[0].id}?", yes)
        for run in doomed:
            manage.remove(run)
        emit({"removed": [r.id for r in doomed]}, json_output, lambda r: stdout.print(Text(f"removed {len(r['removed'])} run(s)")))


@app.command()
def init(
    name: str = typer.Argument(..., help="Name of the new experiment (and of its file, configs/NAME.yaml)."),
    template: str = typer.Option("linear_regression", "--from", help="The shipped config to start from."),
    directory: Path = typer.Option(Path("configs"), "--dir", help="Where to write the new config."),
    json_output: bool = JsonOption,
) -> None:
    """Write a new config from a shipped one, comments included."""
    from learnai_cli import manage

    with reporting_errors(json_output):
        path = manage.init_config(name, template, directory)
        emit({"config": str(path)}, json_output, lambda r: stdout.print(Text(f"wrote {r['config']}; try: learnai config {r['config']}")))


@app.command()
def schema() -> None:
    """Print the config file's JSON Schema (for editors: YAML language server's `# yaml-language-server: $schema=...`)."""
    from learnai_cli import manage

    print(json.dumps(manage.config_schema(), indent=2))


def _render_runs(result: dict[str, Any]) -> None:
    if not result["runs"]:
        stdout.print(f"no runs in {result['runs_dir']}", highlight=False)
        return
    table = Table(title=f"runs in {result['runs_dir']}")
    for column in ("id", "name", "status", "epochs", "best", "duration", "started"):
        table.add_column(column)
    for row in result["runs"]:
        best = f"{row['best_metric']} {row['best_value']:.4g}" if row["best_value"] is not None else ""
        duration = f"{row['duration_s']:.1f}s" if row["duration_s"] is not None else ""
        cells = (row["id"], row["name"], row["status"], str(row["epochs"] or 0), best, duration, row["started"] or "")
        table.add_row(*map(Text, cells))
    stdout.print(table)


KINDS = ("models", "datasets", "losses", "optimizers", "schedulers", "metrics")


@app.command("list")
def list_builders(
    kind: Optional[str] = typer.Argument(None, help=f"One of: {', '.join(KINDS)}. All when left out."),
    plugin: Optional[List[str]] = PluginOption,
    json_output: bool = JsonOption,
) -> None:
    """Show what configs can name: registered builders, their arguments with defaults, one line of docs."""
    from learnai_cli import registry
    from learnai_cli.errors import did_you_mean

    with reporting_errors(json_output):
        if kind is not None and kind not in KINDS:
            raise UsageError(f"unknown kind '{kind}'.{did_you_mean(kind, KINDS)} Valid: {', '.join(KINDS)}")
        kinds = [kind] if kind else list(KINDS)
        if plugin:  # plugins must be imported to be seen, and they (like the built-ins then) import torch
            from learnai_cli import plugins

            _, problems = plugins.load_all(plugin, Path.cwd())
            if problems:
                raise UsageError("cannot load plugins", problems)
            registry.load_builtins()
            listing = {name: _describe_registry(registry.REGISTRIES[name]) for name in kinds}
        else:
            from learnai_cli.catalog import builtin_catalog

            provided = {name: found.provided for name, found in registry.REGISTRIES.items()}
            catalog = builtin_catalog(registry.BUILTIN_MODULES, provided)
            listing = {name: catalog[name] for name in kinds}
        emit(listing, json_output, _render_listing)


def _describe_registry(found) -> list[dict[str, Any]]:
    entries = [found.get(name) for name in found.names()]
    return [{"name": e.name, "arguments": e.describe_arguments(), "summary": e.summary} for e in entries]


def _render_listing(listing: dict[str, Any]) -> None:
    for kind, entries in listing.items():
        table = Table(title=kind, show_lines=False)
        table.add_column("name", style="bold")
        table.add_column("arguments")
        table.add_column("description")
        for entry in entries:
            table.add_row(Text(entry["name"]), Text("\n".join(entry["arguments"])), Text(entry["summary"]))  # Text: no markup in [brackets]
        stdout.print(table)


@app.command("config")
def config_command(
    config: Path = typer.Argument(..., help="Experiment YAML file."),
    overrides: Optional[List[str]] = typer.Argument(None, help=OVERRIDES_HELP, show_default=False),
    plugin: Optional[List[str]] = PluginOption,
    json_output: bool = JsonOption,
) -> None:
    """Validate a config without training: build the model (and, when the data is at hand, check one batch through it); print it resolved."""
    from learnai_cli import config as config_module
    from learnai_cli.errors import DataError
    from learnai_cli.experiment import build_experiment, build_model

    with reporting_errors(json_output):
        experiment = config_module.load(config, overrides or [], plugins=plugin or [])
        try:
            model, data_checked = build_experiment(experiment).model, "model and data fit"
        except DataError as missing:  # e.g. MNIST not downloaded yet: the config itself can still be checked
            model, data_checked = build_model(experiment), f"data not checked: {missing.message.splitlines()[0]}"
        result = {"config": experiment.to_dict(), "parameters": sum(p.numel() for p in model.parameters()), "data_check": data_checked}
        emit(result, json_output, _render_config)


def _render_config(result: dict[str, Any]) -> None:
    import yaml

    stdout.print(yaml.safe_dump(result["config"], sort_keys=False), highlight=False, end="")
    stdout.print(f"# model parameters: {result['parameters']:,}; {result['data_check']}", highlight=False)


def main() -> None:
    """Console-script entry point."""
    from learnai_cli.log import configure

    configure()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)

