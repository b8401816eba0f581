"""The sections of one run's page: status and verdict, results beside the baseline, curves, evaluations, the
resolved config and the environment; each says what is missing instead of failing."""

from __future__ import annotations

from typing import Any

import yaml

from learnai_cli.diagnose.report import NOT_JUDGED
from learnai_cli.report import images
from learnai_cli.report import page as html
from learnai_cli.report.series import constant_metrics, run_charts

OPEN_TABLE_EPOCHS = 30  # a longer run's table of every epoch starts folded (a click opens it)


def run_document(collected: dict[str, Any]) -> str:
    charts = run_charts(collected["records"], collected["steps"])
    sections = [
        ("status", "Status and verdict", verdict(collected)),
        ("results", "Results beside the baseline", results_section(collected)),
        ("curves", "Loss and metric curves", curves(collected, charts)),
        ("evaluation", "Evaluation", evaluations(collected)),
        ("config", "Resolved config", config_section(collected)),
        ("environment", "Environment", environment_section(collected)),
    ]
    header = html.heading(1, f"Run {collected['id']}") + html.paragraph(f"{collected['name']} — a learnai run report")
    return html.document(f"learnai report: {collected['id']}", header, sections, charts)


def verdict(collected: dict[str, Any]) -> str:
    parts = [f"<p>Status: {html.status_badge(collected['status'])}</p>"]
    if collected["message"]:
        parts.append(html.paragraph(f"Message: {collected['message']}"))
    parts.append(html.missing_list(collected["missing"]))
    parts.append(findings(collected["diagnosis"], collected["id"]))
    return "\n".join(parts)


def findings(diagnosis: dict[str, Any] | None, run_id: str) -> str:
    """The findings of `learnai diagnose`, problems first, each with its evidence and what to try."""
    if diagnosis is None:
        return html.paragraph(f"No diagnosis: `learnai diagnose {run_id}` says why")
    baseline = (diagnosis.get("baseline") or {}).get("val")
    said = []
    if isinstance(baseline, dict):
        scores = ", ".join(f"{k} {html.text(v)}" for k, v in baseline.items() if k != "samples")
        predictor = (diagnosis.get("baseline") or {}).get("predictor") or "the trivial predictor"
        said.append(f"<p>Baseline (val): {scores}: {html.text(predictor)}</p>")
    found = diagnosis.get("findings") or []
    if diagnosis.get("status") in NOT_JUDGED:
        said.append(html.paragraph(f"Not judged yet: {NOT_JUDGED[diagnosis['status']]}; the curves so far are below."))
    elif not found and isinstance(baseline, dict):
        said.append(html.paragraph("No problem found: it beats the trivial baseline and its curves look healthy."))
    elif not found:  # no comparison was made: none is claimed
        said.append(html.paragraph("No problem found in what it recorded (no baseline was recorded to compare with)."))
    for finding in found:
        severity = str(finding.get("severity", "info"))
        fix = f"<p>Try: <code>{html.text(finding['fix'])}</code></p>" if finding.get("fix") else ""
        said.append(
            f'<div class="finding {html.text(severity)}"><p><strong>{html.text(severity)}</strong> '
            f"<code>{html.text(finding.get('code'))}</code>: {html.text(finding.get('message'))}</p>{fix}</div>"
        )
    return "\n".join(said)


def results_rows(results: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(what, this run, the trivial baseline) rows: the best monitored value, the last epoch's metrics, the test
    result; the baseline beside each metric it scores (its loss, accuracy, mse, mae)."""
    baseline = results["baseline"]
    rows: list[tuple[str, Any, Any]] = []
    best = results["best"]
    if best:
        metric = str(best.get("metric"))
        rows.append((f"best {metric}", best.get("value"), _baseline(baseline, metric)))
        rows.append(("best epoch", best.get("epoch"), None))
    for name, value in results["final"].items():
        rows.append((f"last epoch: {name}", value, _baseline(baseline, name)))
    for name, value in results["test"].items():
        rows.append((f"test {name}", value, (baseline.get("test") or {}).get(name)))
    return rows


def _baseline(baseline: dict[str, Any], metric: str) -> Any:
    split, _, name = metric.partition("_")
    return (baseline.get(split) or {}).get(name) if split == "val" else None


def results_section(collected: dict[str, Any]) -> str:
    rows = results_rows(collected["results"])
    if not rows:
        return html.paragraph("No results recorded yet.")
    predictor = collected["results"]["baseline_predictor"]
    note = html.paragraph(f"Baseline: {predictor} (it ignores the inputs).") if predictor else ""
    return note + html.table(("result", "this run", "baseline"), rows)


def curves(collected: dict[str, Any], charts: list[dict[str, Any]]) -> str:
    if not collected["records"] and len(collected["steps"]) < 2:
        return html.paragraph("No epoch recorded yet: there is nothing to draw.")
    parts = [html.chart_boxes(charts), not_charted(constant_metrics([collected["records"]]))]
    loss = images.loss_png(collected)
    if loss:
        parts.append(html.image(loss, f"Loss curves of run {collected['id']}", "Loss per epoch", fallback=True))
    health = images.health_png(collected)
    if health:
        parts.append(html.image(health, "Gradient norm per layer over training", "Health readings"))
    parts.append(epoch_table(collected["records"]))
    return "\n".join(parts)


def not_charted(constant: dict[str, float]) -> str:
    if not constant:
        return ""
    listed = ", ".join(f"{name} {value:g}" for name, value in constant.items())
    return html.paragraph(f"Not charted, the same at every epoch: {listed}.")


def epoch_table(records: list[dict[str, Any]]) -> str:
    """Every metric of every epoch (the charts' numbers, readable without JavaScript)."""
    from learnai_cli.report.collect import metric_names

    names = metric_names(records)
    rows = [[record.get("epoch"), *(record.get(name) for name in names)] for record in records]
    table = html.table(("epoch", *names), rows, "Every metric recorded, per epoch")
    shown = " open" if len(records) <= OPEN_TABLE_EPOCHS else ""
    return f"<details{shown}><summary>Every metric per epoch ({len(records)} epochs)</summary>{table}</details>"


def evaluations(collected: dict[str, Any]) -> str:
    if not collected["evals"]:
        return html.paragraph(f"No evaluation yet: run `learnai eval {collected['id']}` (add --split val|test).")
    return "\n".join(evaluation(collected["id"], found) for found in collected["evals"])


def evaluation(run_id: str, found: dict[str, Any]) -> str:
    title = f"{found.get('split', '?')} split, checkpoint {found['checkpoint_name']}"
    epoch = found.get("checkpoint_epoch")
    parts = [html.heading(3, title + (f" (epoch {epoch})" if epoch is not None else ""))]
    metrics = found.get("metrics") if isinstance(found.get("metrics"), dict) else {}
    baseline = found.get("baseline") if isinstance(found.get("baseline"), dict) else {}
    rows = [(name, value, baseline.get(name)) for name, value in metrics.items()]
    parts.append(html.table(("metric", "value", "baseline"), rows, f"{found.get('samples', '?')} samples"))
    confusion = images.confusion_png(found, f"{run_id} ({title})")
    if confusion:
        parts.append(html.image(confusion, f"Confusion matrix, {title}: true class by row, predicted by column"))
    parts.append(_per_class(found))
    if found.get("gallery_png"):
        alt = f"The highest-loss examples of the {title}, each with its true and predicted class"
        parts.append(html.image(found["gallery_png"], alt, "Highest-loss examples"))
    parts.append(_examples(found))
    return "\n".join(parts)


def _per_class(found: dict[str, Any]) -> str:
    per_class = found.get("per_class") if isinstance(found.get("per_class"), dict) else {}
    rows = [
        (name, s.get("precision"), s.get("recall"), s.get("f1"), s.get("support"))
        for name, s in per_class.items()
        if isinstance(s, dict)
    ]
    shown = html.table(("class", "precision", "recall", "f1", "support"), rows, "Per class") if rows else ""
    pairs = found.get("most_confused") if isinstance(found.get("most_confused"), list) else []
    rows = [(p.get("true"), p.get("predicted"), p.get("count")) for p in pairs if isinstance(p, dict)]
    return shown + (html.table(("true", "predicted as", "count"), rows, "Most confused") if rows else "")


def _examples(found: dict[str, Any]) -> str:
    highest = found.get("highest_loss") if isinstance(found.get("highest_loss"), list) else []
    keys = ("index", "true", "predicted", "probability", "loss", "input")
    if highest:
        rows = [[e.get(k) for k in keys] for e in highest if isinstance(e, dict)]
        return html.table(keys, rows, "Highest-loss examples")
    largest = found.get("largest_errors") if isinstance(found.get("largest_errors"), list) else []
    keys = ("index", "target", "prediction", "absolute_error")
    rows = [[e.get(k) for k in keys] for e in largest if isinstance(e, dict)]
    return html.table(keys, rows, "Largest errors") if rows else ""


def config_section(collected: dict[str, Any]) -> str:
    if not collected["config"]:
        return html.paragraph("config.yaml cannot be read: see what is missing above.")
    shown = yaml.safe_dump(collected["config"], sort_keys=False, allow_unicode=True)
    return f"<pre>{html.text(shown)}</pre>"


def environment_section(collected: dict[str, Any]) -> str:
    if not collected["environment"]:
        return html.paragraph("meta.json records no environment for this run.")
    return html.key_values(collected["environment"], "From meta.json")
