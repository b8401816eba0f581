"""`learnai plot`: redraw a run's plots from its files, overlay runs, animate a fit, or draw a loss landscape.

Only the landscape of a config's own data imports torch (to build the data); everything else reads run files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from learnai_cli import rundir
from learnai_cli.errors import UsageError


def plot_runs(
    root: Path,
    run_ids: list[str],
    compare: bool,
    animate: bool,
    output: Optional[Path],
    normalize: Optional[bool] = None,
    metric: Optional[str] = None,
) -> list[Path]:
    """The plots of each run (and its animation), or one comparison chart of all of them: their losses, or one
    metric per epoch. A sweep or study id stands for all its runs. `normalize`: confusion matrices as fractions of
    each true class (True), as counts (False), or by class balance (None)."""
    from learnai_cli.plots import compare as compare_plots
    from learnai_cli.plots import figures as plots
    from learnai_cli.plots.saving import check_output_path
    from learnai_cli.rundir.selection import resolve_runs

    if not run_ids:
        raise UsageError("give one or more RUN_IDs or a sweep/study id (see `learnai runs`), or --landscape")
    if metric is not None and not compare:
        raise UsageError("--metric chooses what --compare draws: add --compare (e.g. plot A B --compare --metric ...)")
    if output is not None and not compare:  # else a run's plots are drawn and -o silently ignored
        raise UsageError(
            f"-o {output}: -o is where --compare or --landscape write their chart; a run's own plots are written to "
            "its plots/ folder (`learnai show RUN` lists them): add --compare, or drop -o"
        )
    if output is not None:
        check_output_path(output)
    chosen = resolve_runs(root, run_ids)
    if compare:
        refuse_normalize(normalize, "--compare")
        if metric is None:
            figure = compare_plots.compare_figure(chosen)
        else:
            _check_metric(chosen, metric)
            figure = compare_plots.compare_metric_figure(chosen, metric)
        return [plots.save_figure(figure, output or root / rundir.COMPARISON_PLOT)]
    written = []
    for run in chosen:
        drawn = plots.plot_run(run, normalize, health=True) + (plots.animate_run(run) if animate else [])
        if not drawn:
            raise UsageError(_no_metrics(run))
        if normalize is not None and run.meta(strict=False).get("task") == "regression":
            raise UsageError(
                f"run {run.id} is a regression run: it has no confusion matrix to normalise (they are drawn for "
                "classifiers); drop --normalize/--no-normalize"
            )
        if normalize is not None and not {run.confusion_plot(report) for report in run.eval_reports()} & set(drawn):
            raise UsageError(
                f"run {run.id} has no confusion matrix to normalise: `learnai eval {run.id}` draws one for a "
                "classifier; --normalize/--no-normalize then redraws it"
            )
        if animate and not run.predictions_path.exists():
            raise UsageError(
                f"run {run.id} recorded no predictions: train it with train.record_predictions=true (1-D "
                "regression data)"
            )
        written += drawn
    return written


def refuse_normalize(normalize: Optional[bool], mode: str) -> None:
    """--normalize/--no-normalize given where no confusion matrix is drawn: a usage error, not a silent no-op."""
    if normalize is not None:
        flag = "--normalize" if normalize else "--no-normalize"
        raise UsageError(f"{flag} is for a run's confusion matrices; {mode} draws none")


def _check_metric(runs: list[rundir.RunDir], metric: str) -> None:
    """Refuse a metric none of the runs recorded per epoch, naming those they did."""
    from learnai_cli.errors import did_you_mean

    recorded = {key for run in runs for record in run.epoch_records() for key in record}
    if metric not in recorded:
        names = sorted(recorded - {"type", "epoch", "step", "samples"})
        raise UsageError(
            f"--metric {metric}: none of the {len(runs)} run(s) recorded it per epoch.{did_you_mean(metric, names)} "
            f"Recorded: {', '.join(names) or 'nothing yet'}"
        )


def _no_metrics(run: rundir.RunDir) -> str:
    meta = run.meta(strict=False)
    status, message = meta.get("status", "unknown"), meta.get("message")
    if status == "running":
        return f"run {run.id} has no metrics to plot yet (it is still running)"
    return f"run {run.id} recorded no metrics to plot (status: {status}" + (f": {message})" if message else ")")


def plot_landscape(arguments: list[str], output: Path) -> Path:
    """The curriculum's landscape, or one over a config's 1-D regression data (that needs torch to build it)."""
    from learnai_cli.plots import figures as plots
    from learnai_cli.plots.saving import check_output_path

    if len(arguments) > 1:
        raise UsageError("--landscape takes at most one config file")
    check_output_path(output)
    if not arguments:
        figure = plots.landscape_figure(plots.LANDSCAPE_X, plots.LANDSCAPE_Y, "x = 1, 2, 3; y = 2, 4, 6")
        return plots.save_figure(figure, output)
    from learnai_cli import config as config_module
    from learnai_cli.experiment import build_data

    experiment_config = config_module.load(Path(arguments[0]))
    data, _ = build_data(experiment_config)
    inputs = getattr(data.train, "inputs", None)
    if inputs is None or inputs.dim() != 2 or inputs.shape[1] != 1:
        data_name = experiment_config.data.name
        raise UsageError(f"--landscape needs 1-D regression data; {arguments[0]} has data '{data_name}'")
    x, y = inputs.view(-1).tolist(), data.train.targets.view(-1).tolist()
    return plots.save_figure(plots.landscape_figure(x, y, experiment_config.name), output)
