"""`learnai report`: self-contained HTML pages of a finished, diverged, running, damaged and pre-feature run, a
comparison, a sweep and a tune study, built through the real CLI and parsed: every asset inline (no URL to fetch),
images with text alternatives, headings, the metrics' numbers in the page's data, hostile values escaped, and what a
damaged run lacks said. The `browser` tests render them in headless chromium (skipped where it is not installed)."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from learnai_cli.rundir import RunLock
from tests.conftest import CONFIGS, Cli

TOY = CONFIGS / "toy_classes.yaml"
HOSTILE = "<script>alert(1)</script>"


class Page(HTMLParser):
    """What a report holds: its tags' attributes, headings, images, scripts and text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.attributes: list[tuple[str, str, str]] = []
        self.headings: list[str] = []
        self.images: list[dict[str, str]] = []
        self.scripts: list[dict[str, str]] = []
        self.script_text: dict[str, str] = {}
        self.text: list[str] = []
        self._open: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        found = {name: value or "" for name, value in attrs}
        self.attributes += [(tag, name, value) for name, value in found.items()]
        self._open.append(tag if tag != "script" else f"script#{found.get('id', len(self.scripts))}")
        if tag == "img":
            self.images.append(found)
        if tag == "script":
            self.scripts.append(found)

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        current = self._open[-1] if self._open else ""
        if current.startswith("script#"):
            self.script_text[current[7:]] = self.script_text.get(current[7:], "") + data
        elif current in ("h1", "h2", "h3"):
            self.headings.append(data)
            self.text.append(data)
        else:
            self.text.append(data)

    @property
    def words(self) -> str:
        return " ".join(self.text)

    def data(self) -> dict:
        return json.loads(self.script_text["learnai-data"])


def check_self_contained(text: str) -> Page:
    page = Page(text)
    for tag, name, value in page.attributes:
        if name in ("src", "href", "action", "poster", "srcset"):
            assert value.startswith(("data:", "#")), f"<{tag} {name}={value[:60]}> is not inline"
    assert not [s for s in page.scripts if "src" in s], "a script is loaded from elsewhere"
    assert "<link" not in text.lower(), "a stylesheet or resource is linked"
    assert 'http-equiv="Content-Security-Policy"' in text and "default-src 'none'" in text
    assert all(image.get("alt", "").strip() for image in page.images), "an image has no text alternative"
    assert all(image["src"].startswith("data:image/png;base64,") for image in page.images)
    assert page.headings and "<h1" in text and "<h2" in text
    return page


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """A finished and evaluated run, a second one, a diverged one, a sweep; copies made running, damaged,
    pre-feature and hostile. Trained once for the module (about 10 s)."""
    root = tmp_path_factory.mktemp("report") / "runs"
    cli = Cli(root)
    assert cli("train", TOY, "train.epochs=5").exit_code == 0
    assert cli("eval", "latest").exit_code == 0
    first = sorted(p for p in root.iterdir())[-1]
    assert cli("train", TOY, "train.epochs=4", "optimizer.lr=0.5").exit_code == 0
    second = sorted(p for p in root.iterdir() if p != first)[-1]
    assert cli("train", CONFIGS / "generalfit.yaml", "optimizer.lr=10", "train.epochs=2").exit_code == 1
    diverged = sorted(p for p in root.iterdir() if p not in (first, second))[-1]
    assert cli("sweep", TOY, "train.epochs=4", "optimizer.lr=0.01,1").exit_code == 0
    sweep = next(p for p in root.iterdir() if p.name.startswith("sweep_"))
    made = {"root": root, "cli": cli, "finished": first, "second": second, "diverged": diverged, "sweep": sweep}
    made.update(_copies(root, first))
    return made


def _copies(root: Path, finished: Path) -> dict:
    copies = {}
    for kind in ("running", "damaged", "old", "hostile"):
        copy = root / f"{finished.name[:19]}_{kind}"
        shutil.copytree(finished, copy)
        meta = json.loads((copy / "meta.json").read_text())
        (copy / "meta.json").write_text(json.dumps({**meta, "run_id": copy.name, "started": f"1999-{kind}"}))
        copies[kind] = copy
    damaged = copies["damaged"]
    (damaged / "meta.json").write_text('{"status": "completed", "name": ')  # cut short
    (damaged / "config.yaml").unlink()
    (damaged / "metrics.jsonl").unlink()
    text = (damaged / "metrics.csv").read_text()
    (damaged / "metrics.csv").write_text(text[: text.rindex("\n", 0, len(text) - 1) + 12])  # the last row cut
    old = copies["old"]
    (old / "diagnosis.json").unlink()
    shutil.rmtree(old / "eval")
    meta = json.loads((old / "meta.json").read_text())
    (old / "meta.json").write_text(json.dumps({k: v for k, v in meta.items() if k not in ("baseline", "data_checks")}))
    hostile = copies["hostile"]
    meta = json.loads((hostile / "meta.json").read_text())
    (hostile / "meta.json").write_text(json.dumps({**meta, "name": HOSTILE, "device": HOSTILE}))
    (hostile / "config.yaml").write_text((hostile / "config.yaml").read_text().replace("toy_classes", HOSTILE))
    (result,) = (hostile / "eval").glob("*.json")
    report = json.loads(result.read_text())
    report["class_names"][0] = HOSTILE
    report["per_class"] = {HOSTILE: report["per_class"].popitem()[1]}
    result.write_text(json.dumps(report))
    for plot in (hostile / "plots").glob("confusion*"):
        plot.unlink()  # drawn again from the hostile class names
    return copies


def report(runs: dict, *targets: str, expect: int = 0) -> dict:
    result = runs["cli"]("report", *targets, "--json")
    assert result.exit_code == expect, result.output
    return json.loads(result.stdout)


def test_a_finished_run_gets_every_section_with_its_metrics_in_the_data(runs):
    finished = runs["finished"]
    done = report(runs, finished.name)
    assert done["report"] == str(finished / "report.html") and done["kind"] == "run"
    page = check_self_contained((finished / "report.html").read_text())
    assert len(page.images) >= 3  # the loss chart (the static twin of the interactive one), confusion, gallery
    for heading in ("Status and verdict", "Results beside the baseline", "Loss and metric curves", "Evaluation",
                    "Resolved config", "Environment"):  # fmt: skip
        assert heading in page.headings
    charts = page.data()["charts"]
    loss = next(c for c in charts if c["title"] == "loss per epoch")
    rows = list(csv.DictReader((finished / "metrics.csv").open()))
    assert loss["x"] == [int(r["epoch"]) for r in rows]
    assert loss["series"][0]["values"] == pytest.approx([float(r["train_loss"]) for r in rows])
    # every metric recorded that changes is charted; one that holds a single value is named with it instead
    columns = [name for name in rows[0] if name not in ("epoch", "step") and all(r[name] for r in rows)]
    results = {name for name in columns if name.startswith("val_") and not name.endswith("loss")}
    constant = {name for name in columns if len({float(r[name]) for r in rows}) == 1} - results
    changing = {name for name in columns if name not in constant and not name.endswith("loss")}
    assert "val_accuracy" in changing and changing <= {c["title"] for c in charts}  # val metrics: charted, flat or not
    assert constant and not constant & {c["title"] for c in charts}
    said = re.search(r"Not charted, the same at every epoch: (.*?)\.(\s|$)", page.words).group(1)
    assert all(name in said for name in constant), said
    words = page.words
    assert "no_better_than_baseline" in words or "No problem found" in words  # diagnose's findings
    assert "always answering" in words  # the baseline
    assert "Confusion matrix" in " ".join(i["alt"] for i in page.images)
    assert any("highest-loss" in i["alt"] for i in page.images) and "Highest-loss examples" in words
    assert "python version" in words and "toy_classes" in words  # meta.json's environment, the config
    assert "test split, checkpoint best" in words


def test_a_diverged_run_shows_its_status_and_finding(runs):
    report(runs, runs["diverged"].name)
    page = check_self_contained((runs["diverged"] / "report.html").read_text())
    assert "diverged" in page.words and "lr_too_high" in page.words
    assert "No evaluation yet: run `learnai eval" in page.words


def test_a_running_run_shows_its_partial_curves(runs):
    running = runs["running"]
    lock = RunLock.acquire(running / ".lock", running.name)  # as its training process holds it
    try:
        report(runs, running.name)
    finally:
        lock.release()
    page = check_self_contained((running / "report.html").read_text())
    assert "running" in page.words and "it is still training" in page.words
    assert page.data()["charts"]


def test_a_damaged_run_says_what_is_missing_and_shows_what_is_there(runs):
    damaged = runs["damaged"]
    done = report(runs, damaged.name)
    assert done["report"] == str(runs["root"] / f"report_{damaged.name}.html")  # nothing written into it
    assert not (damaged / "report.html").exists()
    page = check_self_contained(Path(done["report"]).read_text())
    words = page.words
    assert "damaged" in words and "meta.json cannot be read" in words and "config.yaml is missing" in words
    assert "metrics.jsonl is missing" in words
    loss = next(c for c in page.data()["charts"] if c["title"] == "loss per epoch")
    assert loss["x"] == [1, 2, 3, 4]  # metrics.csv's whole rows; the cut one is left out


def test_a_pruned_run_says_so(runs, tmp_path):
    pruned = runs["root"] / f"{runs['second'].name[:19]}_pruned"
    shutil.copytree(runs["second"], pruned)
    meta = json.loads((pruned / "meta.json").read_text())
    (pruned / "meta.json").write_text(json.dumps({**meta, "status": "pruned", "started": "1999", "message": "pruned"}))
    report(runs, pruned.name)
    page = check_self_contained((pruned / "report.html").read_text())
    assert "pruned" in page.words and page.data()["charts"]
    shutil.rmtree(pruned)


def test_open_without_a_browser_says_so_and_succeeds(runs, monkeypatch):
    import webbrowser

    monkeypatch.setattr(webbrowser, "open", lambda url: False)
    result = runs["cli"]("report", runs["second"].name, "--open")
    assert result.exit_code == 0 and "no web browser could be opened" in result.stdout


def test_the_importance_without_optuna_is_the_spread_of_the_mean_objective():
    from learnai_cli.report.importance import spread

    trials = [{"params": {"lr": lr, "width": w}, "value": v} for lr, w, v in
              [(0.1, 8, 1.0), (0.1, 16, 1.0), (1.0, 8, 3.0), (1.0, 16, 3.0)]]  # fmt: skip
    assert spread(trials) == [("lr", 1.0), ("width", 0.0)]
    assert spread(trials[:1]) == []  # one trial tells nothing


def test_a_run_from_before_diagnosis_and_eval_gets_findings_computed_now(runs):
    old = runs["old"]
    report(runs, old.name)
    page = Page((old / "report.html").read_text())
    assert "No evaluation yet: run `learnai eval" in page.words
    assert "lr_too_low" in page.words or "No problem found" in page.words
    assert not (old / "diagnosis.json").exists()  # a report writes only itself


def test_hostile_names_and_class_names_are_escaped(runs):
    hostile = runs["hostile"]
    report(runs, hostile.name)
    text = (hostile / "report.html").read_text()
    page = check_self_contained(text)
    assert HOSTILE not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert len(page.scripts) == 3  # the data, uPlot, the charts: none of the run's
    assert HOSTILE in page.words  # shown as text
    compared = Path(report(runs, hostile.name, runs["second"].name, "-o", str(hostile.parent / "h.html"))["report"])
    text = compared.read_text()  # the hostile config value labels a line of every chart, and a config row
    assert HOSTILE not in text and "\\u003cscript\\u003e" in text and len(check_self_contained(text).scripts) == 3


def test_a_comparison_has_a_chart_per_metric_with_every_run_and_the_keys_that_differ(runs):
    done = report(runs, runs["finished"].name, runs["second"].name)
    assert done["kind"] == "comparison" and done["report"] == str(runs["root"] / "comparison.html")
    page = check_self_contained(Path(done["report"]).read_text())
    charts = page.data()["charts"]
    assert {"train_loss by run", "val_accuracy by run"} <= {c["title"] for c in charts}
    # the two runs' lr differ (0.01, 0.5): its flat lines are charted; samples per epoch, the same in both, is named
    assert "lr by run" in {c["title"] for c in charts} and "samples by run" not in {c["title"] for c in charts}
    assert "Not charted, the same at every epoch: samples" in page.words
    assert all(len(c["series"]) == 2 for c in charts)
    assert "Config keys that differ" in page.headings and "optimizer.lr" in page.words and "train.epochs" in page.words


def test_a_sweep_ranks_its_points_with_the_objective_and_importance(runs):
    done = report(runs, runs["sweep"].name)
    assert done["kind"] == "sweep" and done["report"] == str(runs["sweep"] / "report.html")
    page = check_self_contained(Path(done["report"]).read_text())
    for heading in ("Trials ranked", "Objective over trials", "Parameter importance", "Every trial's val_accuracy",
                    "The best run's curves"):  # fmt: skip
        assert heading in page.headings
    assert "spread of the mean objective" in page.words and "optimizer.lr" in page.words
    assert any(c["title"] == "val_accuracy over trials" for c in page.data()["charts"])


@pytest.mark.slow  # 7 s on 2 shared cores: three trials
def test_a_tune_study_gets_its_page(tmp_path):
    pytest.importorskip("optuna")
    cli = Cli(tmp_path / "runs")
    arguments = ("tune", TOY, "optimizer.lr=loguniform(0.001,1)", "train.epochs=2", "--study", "s", "--trials", "3")
    assert cli(*arguments).exit_code == 0
    done = json.loads(cli("report", "s", "--json").stdout)
    assert done["kind"] == "study" and done["report"] == str(tmp_path / "runs" / "s" / "report.html")
    page = check_self_contained(Path(done["report"]).read_text())
    assert "Trials ranked" in page.headings and len(done["runs"]) == 3 and "Method:" in page.words


@pytest.mark.parametrize(
    "arguments, needle",
    [
        (["nothing-like-it"], "no run, sweep or study"),
        (["latest", "-o", "FILE/x.html"], "is a file, not a folder"),
        (["latest", "-o", "."], "it is a folder"),
        (["SWEEP", "latest"], "report it alone"),
    ],
    ids=["unknown-run", "under-a-file", "output-folder", "study-and-run"],
)
def test_bad_input_is_one_line_and_exit_2(runs, tmp_path, arguments, needle):
    (tmp_path / "notes.txt").write_text("kept")
    arguments = [runs["sweep"].name if a == "SWEEP" else a for a in arguments]
    arguments = [a.replace("FILE", str(tmp_path / "notes.txt")) for a in arguments]
    result = runs["cli"]("report", *arguments)
    assert result.exit_code == 2 and needle in result.stderr and "Traceback" not in result.output


def test_an_output_in_folders_not_made_yet_makes_them_as_plot_does(runs, tmp_path):
    """report -o and plot -o follow one rule (atomic.check_output_file): missing folders are made."""
    page = tmp_path / "new" / "deeper" / "r.html"
    assert report(runs, "latest", "-o", str(page))["report"] == str(page) and page.is_file()


def test_a_link_at_the_output_is_replaced_not_written_through(runs, tmp_path):
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me")
    link = tmp_path / "page.html"
    link.symlink_to(target)
    report(runs, runs["second"].name, "-o", str(link))
    assert target.read_text() == "keep me" and not link.is_symlink() and "<html" in link.read_text()


def test_report_does_not_import_torch(runs):
    from tests.test_safety import run_cli_checking_torch_stays_unimported

    done = run_cli_checking_torch_stays_unimported(["report", runs["second"].name, "--runs-dir", str(runs["root"])])
    assert done.returncode == 0, done.stderr


# --- A real browser --------------------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
NO_SCRIPTS = '<meta http-equiv="Content-Security-Policy" content="script-src \'none\'">'


def screenshot(page: Path, out: Path, scripts: bool = True) -> Path:
    """The page rendered by headless chromium; scripts=False: a copy whose policy forbids every script (as a
    browser with JavaScript off shows it: --blink-settings=scriptEnabled=false leaves headless without a shot)."""
    if not scripts:
        copy = out.with_suffix(".html")
        copy.write_text(page.read_text().replace("<head>", "<head>" + NO_SCRIPTS, 1))
        page = copy
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--screenshot={out}",
               "--window-size=1280,2400", page.absolute().as_uri()]  # fmt: skip
    subprocess.run(command, capture_output=True, timeout=120, env={**os.environ, "HOME": str(out.parent)})
    return out


@pytest.mark.browser
@pytest.mark.slow  # about 25 s on 2 shared cores: a chromium start per screenshot
@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)")
def test_every_report_renders_in_a_real_browser_with_and_without_javascript(runs, tmp_path):
    from PIL import Image

    keep = os.environ.get("LEARNAI_REPORT_SCREENSHOTS")  # a folder to keep the PNGs in, to look at them
    pages = {kind: runs[kind] / "report.html" for kind in ("finished", "diverged", "running", "old", "hostile")}
    pages["damaged"] = runs["root"] / f"report_{runs['damaged'].name}.html"
    pages["comparison"], pages["sweep"] = runs["root"] / "comparison.html", runs["sweep"] / "report.html"
    for kind, page in pages.items():
        targets = (runs[kind].name,) if kind != "comparison" else (runs["finished"].name, runs["second"].name)
        lock = RunLock.acquire(runs[kind] / ".lock", runs[kind].name) if kind == "running" else None
        try:
            report(runs, *targets)
        finally:
            if lock is not None:
                lock.release()
        for scripts in (True, False) if kind in ("finished", "damaged", "sweep") else (True,):
            out = screenshot(page, tmp_path / f"{kind}-{'js' if scripts else 'nojs'}.png", scripts)
            assert out.is_file(), f"chromium drew no {out.name}"
            colours = Image.open(out).convert("RGB").getcolors(maxcolors=1 << 20)
            assert colours is None or len(colours) > 20, f"{out.name} is blank"
            if keep:
                Path(keep).mkdir(parents=True, exist_ok=True)
                shutil.copy(out, Path(keep) / out.name)
