"""The page of several runs: their status and verdicts, the config keys that differ, the results side by side, one
chart per metric with every run."""

from __future__ import annotations

from typing import Any

from learnai_cli.report import images
from learnai_cli.report import page as html
from learnai_cli.report.collect import metric_names
from learnai_cli.report.run_page import findings, not_charted, results_rows
from learnai_cli.report.series import comparison_charts, constant_metrics
from learnai_cli.rundir import RunDir

MISSING = "(not set)"


def comparison_document(runs: list[RunDir], collected: list[dict[str, Any]], title: str = "") -> str:
    from learnai_cli.plots.compare import run_labels

    labels, _ = run_labels(runs)
    charts = comparison_charts(labels, [c["records"] for c in collected])
    sections = comparison_sections(runs, collected, labels, charts)
    header = html.heading(1, title or f"Comparison of {len(runs)} runs") + html.paragraph(
        ", ".join(c["id"] for c in collected)
    )
    return html.document(title or f"learnai report: {len(runs)} runs", header, sections, charts)


def comparison_sections(runs, collected, labels, charts) -> list[tuple[str, str, str]]:
    return [
        ("runs", "Runs and verdicts", runs_table(collected, labels) + verdicts(collected)),
        ("differences", "Config keys that differ", differences(runs, collected)),
        ("results", "Results side by side", side_by_side(collected)),
        ("curves", "Curves, every run per metric", curves(runs, collected, charts)),
    ]


def runs_table(collected: list[dict[str, Any]], labels: list[str]) -> str:
    rows = []
    for found, label in zip(collected, labels):
        best = found["results"]["best"] or {}
        value = f"{best.get('metric')} {html.text(best.get('value'))}" if best else None
        rows.append((found["id"], label, found["status"], len(found["records"]), value))
    return html.table(("run", "label", "status", "epochs", "best"), rows)


def verdicts(collected: list[dict[str, Any]]) -> str:
    parts = []
    for found in collected:
        parts.append(html.heading(3, f"{found['id']}: {found['status']}"))
        parts.append(html.missing_list(found["missing"]))
        parts.append(findings(found["diagnosis"], found["id"]))
    return f"<details><summary>Each run's findings and what is missing</summary>{''.join(parts)}</details>"


def differences(runs: list[RunDir], collected: list[dict[str, Any]]) -> str:
    from learnai_cli.plots.compare import differing_keys, run_settings

    settings = [run_settings(run) for run in runs]
    keys = differing_keys(settings)
    if not keys:
        return html.paragraph("The runs' resolved configs are the same (they differ only in their seed or by chance).")
    rows = [(key, *(values.get(key, MISSING) for values, _, _ in settings)) for key in keys]
    partial = [c["id"] for c, (_, _, complete) in zip(collected, settings) if not complete]
    note = (
        html.paragraph(
            f"Without a readable config.yaml, only the command line's settings are known for {', '.join(partial)}"
        )
        if partial
        else ""
    )
    return note + html.table(("key", *(c["id"] for c in collected)), rows)


def side_by_side(collected: list[dict[str, Any]]) -> str:
    by_run = [{what: value for what, value, _ in results_rows(c["results"])} for c in collected]
    names = list(dict.fromkeys(name for rows in by_run for name in rows))
    if not names:
        return html.paragraph("No run recorded results yet.")
    rows = [(name, *(rows.get(name) for rows in by_run)) for name in names]
    return html.table(("result", *(c["id"] for c in collected)), rows)


def curves(runs: list[RunDir], collected: list[dict[str, Any]], charts: list[dict[str, Any]]) -> str:
    if not charts:
        return html.paragraph("No run recorded an epoch yet: there is nothing to draw.")
    constant = constant_metrics([c["records"] for c in collected])
    metrics = list(dict.fromkeys(name for c in collected for name in metric_names(c["records"])))
    metrics = [name for name in metrics if name not in constant]
    parts = [html.chart_boxes(charts), not_charted(constant)]
    for what, png in images.comparison_pngs(runs, metrics):
        parts.append(html.image(png, f"{what} of every run, one line per run", f"{what} by run", fallback=True))
    return "\n".join(parts)
