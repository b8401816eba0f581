"""The page itself: one self-contained HTML document (styles, chart library, data and images inline, no URL to
fetch) and the small pieces sections are made of. Every value from a run goes through `text()` (html.escape)."""

from __future__ import annotations

import base64
import html
import json
import math
from importlib import resources
from typing import Any, Iterable

from learnai_cli.numbers import is_number

UPLOT_VERSION = "1.6.32"  # learnai_cli/report/vendor/README.md says how to update it
# The page may fetch nothing: its scripts, styles and images are inline, and the browser enforces it.
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; margin: 0;
       background: #fff; }
header, main, footer { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 20px; border-bottom: 1px solid #ddd; }
h1 { font-size: 1.6em; margin: 0.2em 0; word-break: break-all; }
h2 { font-size: 1.3em; margin: 1.6em 0 0.4em; border-bottom: 1px solid #eee; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.3em; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 16px; }
a { color: #0b57d0; }
table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 0.92em; }
th, td { border: 1px solid #d0d0d0; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.status { display: inline-block; padding: 1px 10px; border-radius: 10px; font-weight: 600; background: #e8eaed; }
.status-completed { background: #d7f0dc; color: #0c5a1e; }
.status-running, .status-starting { background: #dbe8fd; color: #0b3d91; }
.status-diverged, .status-failed, .status-damaged, .status-crashed { background: #fbdcdc; color: #8a1010; }
.status-pruned, .status-interrupted { background: #fdeed0; color: #7a4a00; }
.finding { border-left: 4px solid #999; padding: 4px 12px; margin: 8px 0; background: #fafafa; }
.finding.problem { border-color: #c5221f; } .finding.warning { border-color: #e37400; }
.finding.info { border-color: #1a73e8; }
.missing { border: 1px dashed #c5221f; background: #fff6f5; padding: 8px 14px; }
.charts { display: none; }
.js .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 12px; }
.chart-box { border: 1px solid #e3e3e3; padding: 6px; break-inside: avoid; }
.chart-box h3 { margin: 0 0 4px; }
.chart-tools { font-size: 0.85em; color: #555; }
img { max-width: 100%; height: auto; }
figure { margin: 0.5em 0 1em; break-inside: avoid; }
figcaption { font-size: 0.85em; color: #555; }
pre { background: #f6f8fa; padding: 10px; overflow-x: auto; font-size: 0.85em; }
details summary { cursor: pointer; color: #0b57d0; }
.js .fallback-image { display: none; }
footer { color: #666; font-size: 0.85em; border-top: 1px solid #ddd; margin-top: 2em; padding-bottom: 2em; }
@media print {
  nav, .chart-tools, .charts, .js .charts { display: none; }
  .js .fallback-image { display: block; }
  body { font-size: 11pt; } header, main, footer { max-width: none; padding: 0; }
  section { break-inside: auto; } h2, h3 { break-after: avoid; }
  details > *:not(summary) { display: block; }
}
"""


def text(value: Any) -> str:
    """Any value as escaped HTML text: numbers to four significant figures, lists and mappings as JSON."""
    if isinstance(value, bool) or value is None:
        return html.escape(str(value).lower() if value is not None else "—")
    if isinstance(value, float):
        return html.escape(f"{value:.4g}" if math.isfinite(value) else str(value))
    if isinstance(value, (list, dict)):
        return html.escape(json.dumps(value, default=str))
    return html.escape(str(value))


def heading(level: int, title: str, anchor: str = "") -> str:
    return f"<h{level}{f' id={_attribute(anchor)}' if anchor else ''}>{text(title)}</h{level}>"


def _attribute(value: str) -> str:
    return f'"{html.escape(value, quote=True)}"'


def section(anchor: str, title: str, body: str) -> str:
    return f"<section aria-labelledby={_attribute(anchor)}>{heading(2, title, anchor)}\n{body}\n</section>"


def table(header: Iterable[str], rows: Iterable[Iterable[Any]], caption: str = "") -> str:
    head = "".join(f'<th scope="col">{text(name)}</th>' for name in header)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    shown_caption = f"<caption>{text(caption)}</caption>" if caption else ""
    return f"<table>{shown_caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    numeric = is_number(value)
    return f'<td class="num">{text(value)}</td>' if numeric else f"<td>{text(value)}</td>"


def key_values(mapping: dict[str, Any], caption: str = "") -> str:
    return table(("key", "value"), mapping.items(), caption)


def paragraph(words: str) -> str:
    return f"<p>{text(words)}</p>"


def image(png: bytes, alt: str, caption: str = "", fallback: bool = False) -> str:
    """A PNG inline (a data: URL) with its text alternative; `fallback`: the static twin of an interactive chart,
    hidden while JavaScript draws the chart and printed instead of it."""
    source = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    shown_caption = f"<figcaption>{text(caption)}</figcaption>" if caption else ""
    kind = ' class="fallback-image"' if fallback else ""
    return f'<figure{kind}><img src="{source}" alt={_attribute(alt)}>{shown_caption}</figure>'


def missing_list(missing: list[str]) -> str:
    if not missing:
        return ""
    items = "".join(f"<li>{text(line)}</li>" for line in missing)
    return f'<div class="missing" role="note"><strong>Missing or unreadable:</strong><ul>{items}</ul></div>'


def status_badge(status: str) -> str:
    css = "".join(c if c.isalnum() else "-" for c in str(status))
    return f'<span class="status status-{css}">{text(status)}</span>'


def chart_boxes(charts: list[dict[str, Any]], first_index: int = 0) -> str:
    """The places the script draws the interactive charts into (empty without JavaScript)."""
    boxes = "".join(
        f'<div class="chart-box"><h3>{text(chart["title"])}</h3><div class="chart" role="img" '
        f'aria-label={_attribute(_summary(chart))} data-chart="{first_index + number}"></div></div>'
        for number, chart in enumerate(charts)
    )
    return f'<div class="charts">{boxes}</div>' if charts else ""


def _summary(chart: dict[str, Any]) -> str:
    """A chart in words, for a screen reader: each line's first and last value."""
    said = []
    for series in chart["series"]:
        values = [v for v in series["values"] if v is not None]
        if values:
            said.append(f"{series['label']} from {values[0]:.4g} to {values[-1]:.4g}")
    return f"{chart['title']} over {len(chart['x'])} {chart['x_label']}s: " + ("; ".join(said) or "no values")


def document(title: str, header: str, sections: list[tuple[str, str, str]], charts: list[dict[str, Any]]) -> str:
    """The whole page: head with inline styles, a contents list, the sections, the data and the scripts."""
    nav = "".join(f'<li><a href="#{html.escape(anchor)}">{text(name)}</a></li>' for anchor, name, _ in sections)
    body = "\n".join(section(anchor, name, content) for anchor, name, content in sections)
    data = json.dumps({"charts": charts}, allow_nan=False).replace("<", "\\u003c").replace(">", "\\u003e")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{POLICY}">
<title>{text(title)}</title>
<style>{_asset("vendor", "uPlot.min.css")}</style>
<style>{STYLE}</style>
</head>
<body>
<header>{header}<nav aria-label="Sections"><ul>{nav}</ul></nav></header>
<main>
{body}
</main>
<footer>Made by <code>learnai report</code> from the run files; self-contained (charts by uPlot {UPLOT_VERSION},
MIT licence, inline). Without JavaScript, the static images and tables show the same data.</footer>
<script type="application/json" id="learnai-data">{data}</script>
<script>{_asset("vendor", "uPlot.iife.min.js")}</script>
<script>{_asset("charts.js")}</script>
</body>
</html>
"""


def _asset(*parts: str) -> str:
    """A file shipped in the package (the script that draws the charts, the vendored uPlot), read to inline it."""
    return resources.files("learnai_cli.report").joinpath(*parts).read_text(encoding="utf-8")
