"""Hostile run directories and paths (issue 11), through the real CLI only: relative data paths (family 4),
damaged runs (8), runs roots that cannot be written (9), and small holes: broken CSV data, `init` with absurd
names, `plot -o` onto directories (10).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from learnai_cli.cli import app
from tests.hostile import assert_refused, invoke, snapshot, tiny_config

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
SHIPPED_DIABETES = REPO / "learnai_cli" / "data" / "builtin" / "diabetes.csv.gz"


# --- helpers -------------------------------------------------------------------------------------------


def diabetes_rows(count: int, features: int = 8, bad: tuple[int, int, str] | None = None) -> str:
    """A numeric CSV of `count` rows (features + a 0/1 label); `bad` = (line, column, text) puts text in one cell."""
    lines = []
    for row in range(count):
        cells = [f"{((row * 7 + col * 3) % 11) / 10 - 0.5:.2f}" for col in range(features)] + [str(row % 2)]
        lines.append(cells)
    if bad is not None:
        line, column, text = bad
        lines[line - 1][column - 1] = text
    return "".join(",".join(cells) + "\n" for cells in lines)


# --- template runs, trained once ---------------------------------------------------------------------------

HEALTHY = "2030-01-01_00-00-00_healthy"
DAMAGED = "2030-01-02_00-00-00_damaged"


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, Path]:
    """Two finished runs (linear regression, and an MLP of another architecture), trained in-process once."""
    root = tmp_path_factory.mktemp("templates")
    runner = CliRunner()
    made = {}
    for base, changes in (
        ("linear_regression", {"data": {"n": 64}, "train": {"epochs": 2, "batch_size": 16}}),
        ("toy_classes", {"train": {"epochs": 2}}),
    ):
        config = tiny_config(root / "cfg", base, changes, name=base)
        result = runner.invoke(app, ["train", str(config), "--runs-dir", str(root / base), "--json"])
        assert result.exit_code == 0, result.output
        made[base] = next((root / base).iterdir())
    return made


@pytest.fixture
def two_runs(templates, runs_dir) -> tuple[Path, Path]:
    runs_dir.mkdir(parents=True, exist_ok=True)
    healthy, damaged = runs_dir / HEALTHY, runs_dir / DAMAGED
    shutil.copytree(templates["linear_regression"], healthy)
    shutil.copytree(templates["linear_regression"], damaged)
    return healthy, damaged


# --- family 8: damaged runs -------------------------------------------------------------------------------


def _set_status(run: Path, status: str) -> None:
    meta = json.loads((run / "meta.json").read_text())
    (run / "meta.json").write_text(json.dumps({**meta, "status": status}))


def _replace_checkpoints(run: Path, templates, how: str) -> None:
    for name in ("best.pt", "last.pt"):
        target = run / "checkpoints" / name
        if how == "other_architecture":
            shutil.copy(templates["toy_classes"] / "checkpoints" / name, target)
        elif how == "truncated":
            target.write_bytes(target.read_bytes()[:100])
        elif how == "empty":
            target.write_bytes(b"")
        else:
            write_bad_checkpoint(target, how)
    _set_status(run, "interrupted")  # so that --resume has to read last.pt


def write_bad_checkpoint(target: Path, how: str) -> None:
    """A file in a checkpoint's place that is not one: text, noise, another tool's file, weights that are not."""
    if how == "text":
        target.write_text("hello, I am a text file\n")
    elif how == "random":
        target.write_bytes(bytes(range(256)) * 20)
    elif how == "not_learnai":
        torch.save({"weight": torch.zeros(2)}, target)
    elif how == "weights_not_tensors":
        torch.save({"format_version": 1, "model": {"linear.weight": "x"}}, target)
    elif how == "zip_junk":
        with zipfile.ZipFile(target, "w") as archive:
            archive.writestr("archive/data.pkl", b"junk")
    elif how == "other_zip":  # another tool's archive (a document, a dataset) saved under the checkpoint's name
        with zipfile.ZipFile(target, "w") as archive:
            archive.writestr("word/document.xml", b"<w:document/>")
    else:
        raise AssertionError(how)


def _damage(kind: str, run: Path, templates) -> None:
    meta = run / "meta.json"
    metrics = run / "metrics.jsonl"
    config = run / "config.yaml"
    if kind == "meta_null":
        meta.write_text("null")
    elif kind == "meta_list":
        meta.write_text("[]")
    elif kind == "meta_string":
        meta.write_text('"completed"')
    elif kind == "meta_number":
        meta.write_text("42")
    elif kind == "meta_garbage":
        meta.write_bytes(b"\x00\x01garbage{{{\x7f")
    elif kind == "meta_non_utf8":
        meta.write_bytes(b'{"status": "completed", "name": "\xff\xfe"}')
    elif kind == "meta_truncated":
        meta.write_text(meta.read_text()[:40])
    elif kind == "meta_wrong_types":
        meta.write_text(
            json.dumps({"status": 5, "best": "x", "epochs_completed": "many", "started": 7, "duration_s": "long"})
        )
    elif kind == "metrics_non_utf8":
        with metrics.open("ab") as file:
            file.write(b'{"type": "epoch", "epoch": 3, "train_loss": "\xff\xfe"}\n')
    elif kind == "metrics_not_objects":
        with metrics.open("a") as file:
            file.write("[1, 2]\n42\nnull\n")
    elif kind == "config_deleted":
        config.unlink()
        _set_status(run, "interrupted")
    elif kind == "config_garbage":
        config.write_text("{{{{: [\n")
        _set_status(run, "interrupted")
    elif kind == "config_binary":
        config.write_bytes(b"\xff\xfe\x00\x01binary")
        _set_status(run, "interrupted")
    elif kind == "config_list":
        config.write_text("- a\n- b\n")
        _set_status(run, "interrupted")
    elif kind.startswith("checkpoints_"):
        _replace_checkpoints(run, templates, kind.removeprefix("checkpoints_"))
    elif kind == "completed_meta_deleted":
        meta.unlink()
    else:
        raise AssertionError(kind)


META = ["meta_null", "meta_list", "meta_string", "meta_number", "meta_garbage", "meta_non_utf8", "meta_truncated"]
META += ["meta_wrong_types"]
METRICS = ["metrics_non_utf8", "metrics_not_objects"]
CONFIG = ["config_deleted", "config_garbage", "config_binary", "config_list"]
CHECKPOINTS = ["checkpoints_other_architecture", "checkpoints_truncated", "checkpoints_empty"]
CHECKPOINTS += ["checkpoints_text", "checkpoints_random", "checkpoints_not_learnai", "checkpoints_weights_not_tensors"]
CHECKPOINTS += ["checkpoints_other_zip"]
NOT_WHOLE_CHECKPOINTS = ["checkpoints_truncated", "checkpoints_empty", "checkpoints_text", "checkpoints_random"]
NOT_WHOLE_CHECKPOINTS += ["checkpoints_other_zip"]  # a zip, but not the pickle archive torch.save writes

# (damage, command, expectation, the words the message must hold one of). Expectations: "refuse" = exit 2,
# the message names the damaged file, nothing on disk changes; "tolerate" = no traceback and a documented
# exit code (0 or 2), a refusal naming the file.
CASES = (
    [(k, "show", "refuse", ("meta.json", "damaged")) for k in META]
    + [(k, "resume", "refuse", ("meta.json", "damaged")) for k in META]
    + [(k, "eval", "tolerate", ("meta.json", "damaged")) for k in META]
    + [(k, "plot", "tolerate", ("meta.json", "damaged")) for k in META]
    + [(k, "diff", "refuse", ("meta.json", "damaged")) for k in META]
    + [(k, c, "tolerate", ("meta.json", "damaged")) for k in META for c in ("export", "predict")]
    + [(k, c, "tolerate", ("metrics.jsonl", "damaged")) for k in METRICS for c in ("show", "plot", "eval")]
    + [(k, c, "refuse", ("config.yaml",)) for k in CONFIG for c in ("show", "eval", "resume", "predict", "export")]
    + [(k, c, "refuse", ("best.pt", "checkpoint")) for k in CHECKPOINTS for c in ("eval", "predict", "export")]
    + [(k, "resume", "refuse", ("last.pt", "checkpoint")) for k in CHECKPOINTS]
    + [("completed_meta_deleted", "resume", "refuse", ("meta.json", "damaged", "completed"))]
)

COMMANDS = {
    "show": lambda run: ["show", run],
    "resume": lambda run: ["train", "--resume", run],
    "eval": lambda run: ["eval", run, "--split", "val"],
    "plot": lambda run: ["plot", run],
    "predict": lambda run: ["predict", run, "1.5"],
    "export": lambda run: ["export", run, "--format", "state_dict"],
    "diff": lambda run: ["diff", HEALTHY, run],
}


@pytest.mark.parametrize("damage,command,expectation,words", CASES, ids=[f"{d}-{c}" for d, c, _, _ in CASES])
def test_commands_on_a_damaged_run_fail_cleanly(cli, templates, two_runs, damage, command, expectation, words):
    _, damaged = two_runs
    _damage(damage, damaged, templates)
    before = snapshot(cli.runs_dir)
    code, output = invoke(cli, *COMMANDS[command](DAMAGED))
    if expectation == "refuse":
        assert_refused(code, output, [words])
        after = snapshot(cli.runs_dir)
        assert after == before, (
            f"a refused `{command}` changed files: {sorted(set(after.items()) ^ set(before.items()))}"
        )
    else:
        assert_refused(code, output, [], expected=(0, 2))
        if code == 2:
            assert_refused(code, output, [words])


BAD_FILES = ["text", "random", "not_learnai", "weights_not_tensors", "zip_junk", "other_zip", "empty"]


@pytest.mark.parametrize("command", ["eval", "predict", "export"])
@pytest.mark.parametrize("how", BAD_FILES)
def test_a_file_that_is_not_a_checkpoint_given_as_checkpoint_is_refused(cli, two_runs, tmp_path, how, command):
    bad = tmp_path / "not-a-checkpoint.pt"
    if how == "empty":
        bad.write_bytes(b"")
    else:
        write_bad_checkpoint(bad, how)
    before = snapshot(cli.runs_dir)
    code, output = invoke(cli, *COMMANDS[command](HEALTHY), "--checkpoint", bad)
    assert_refused(code, output, [("not-a-checkpoint.pt",), ("checkpoint",)])
    assert "weights_only" not in output, output  # torch's advice to load unsafely is not for a learnai user
    assert snapshot(cli.runs_dir) == before


@pytest.mark.parametrize("damage", META + METRICS + CONFIG + CHECKPOINTS + ["completed_meta_deleted"])
@pytest.mark.parametrize("as_json", [True, False], ids=["json", "table"])
def test_runs_still_lists_every_run_beside_a_damaged_one(cli, templates, two_runs, damage, as_json):
    _damage(damage, two_runs[1], templates)
    code, output = invoke(cli, "runs", *(["--json"] if as_json else []))
    assert "Traceback" not in output and code == 0, output[-3000:]
    if as_json:
        rows = {row["id"]: row for row in json.loads(output.strip().splitlines()[-1])["runs"]}
        assert HEALTHY in rows and DAMAGED in rows, rows
        assert rows[HEALTHY]["status"] == "completed"
        if damage in META + CONFIG:
            assert rows[DAMAGED]["status"] == "damaged", rows[DAMAGED]
            assert "config.yaml" in rows[DAMAGED]["problem"] or damage in META, rows[DAMAGED]
        if damage in NOT_WHOLE_CHECKPOINTS:  # found without loading: no torch archive
            assert rows[DAMAGED]["status"] == "damaged", rows[DAMAGED]
            assert "is not a whole checkpoint" in rows[DAMAGED]["problem"], rows[DAMAGED]
    else:
        assert HEALTHY in output and DAMAGED in output, output
        if damage in META:
            assert "damaged" in output, output


@pytest.mark.parametrize("damage", ["meta_null", "meta_garbage", "config_deleted", "checkpoints_truncated"])
def test_gc_and_rm_survive_a_damaged_run_beside_a_healthy_one(cli, templates, two_runs, damage):
    _damage(damage, two_runs[1], templates)
    code, output = invoke(cli, "gc", "--keep-last", "2", "--yes")
    assert "Traceback" not in output and code in (0, 2), output[-3000:]
    code, output = invoke(cli, "rm", DAMAGED, "--yes")
    assert "Traceback" not in output and code in (0, 2), output[-3000:]
    assert two_runs[0].is_dir(), "the healthy run was lost"


def test_resuming_a_completed_run_whose_meta_was_deleted_does_not_train_it_again(cli, templates, two_runs):
    damaged = two_runs[1]
    _damage("completed_meta_deleted", damaged, templates)
    epochs_before = [
        r["epoch"]
        for r in map(json.loads, (damaged / "metrics.jsonl").read_text().splitlines())
        if r.get("type") == "epoch"
    ]
    code, output = invoke(cli, "train", "--resume", DAMAGED)
    assert_refused(code, output, [("meta.json", "damaged", "completed")])
    records = [json.loads(line) for line in (damaged / "metrics.jsonl").read_text().splitlines()]
    epochs = [r["epoch"] for r in records if r.get("type") == "epoch"]
    assert epochs == epochs_before


# --- family 4: relative data paths resolve against the config's folder -------------------------------------


@pytest.fixture
def diabetes_elsewhere(tmp_path) -> dict[str, Path]:
    """A config with `data.path: mydata.csv` beside it, and decoy mydata.csv files in two other folders."""
    config_dir, train_cwd, eval_cwd = tmp_path / "project", tmp_path / "cwd_train", tmp_path / "cwd_eval"
    for folder in (config_dir, train_cwd, eval_cwd):
        folder.mkdir()
    (config_dir / "mydata.csv").write_text(diabetes_rows(40))
    for decoy in (train_cwd, eval_cwd):  # 5 features: the 8-input model would not fit them
        (decoy / "mydata.csv").write_text(diabetes_rows(30, features=5))
    config = tiny_config(
        config_dir, "diabetes", {"data": {"path": "mydata.csv"}, "train": {"epochs": 1, "batch_size": 8}}
    )
    return {"config": config, "data": config_dir / "mydata.csv", "train_cwd": train_cwd, "eval_cwd": eval_cwd}


def test_a_relative_data_path_resolves_against_the_config_folder(cli, diabetes_elsewhere, monkeypatch):
    monkeypatch.chdir(diabetes_elsewhere["train_cwd"])
    code, output = invoke(cli, "train", diabetes_elsewhere["config"])
    assert "Traceback" not in output and code == 0, output[-3000:]
    monkeypatch.chdir(diabetes_elsewhere["eval_cwd"])
    code, output = invoke(cli, "eval", "latest", "--json")
    assert "Traceback" not in output and code == 0, output[-3000:]


def test_a_relative_data_path_is_found_from_any_cwd_without_decoys(cli, diabetes_elsewhere, monkeypatch, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    code, output = invoke(cli, "config", diabetes_elsewhere["config"])
    assert "Traceback" not in output and code == 0, output[-3000:]
    assert "model and data fit" in output


def test_eval_warns_when_the_data_file_changed_since_training(cli, diabetes_elsewhere, monkeypatch, caplog):
    monkeypatch.chdir(diabetes_elsewhere["config"].parent)  # the one cwd where today's code finds the file too
    code, output = invoke(cli, "train", diabetes_elsewhere["config"])
    assert code == 0, output[-3000:]
    diabetes_elsewhere["data"].write_text(diabetes_rows(40).replace("0.", "0.1", 5))
    code, output = invoke(cli, "eval", "latest")
    assert "Traceback" not in output and code == 0, output[-3000:]
    said = (output + caplog.text).lower()
    assert "mydata.csv" in said and any(w in said for w in ("changed", "modified", "differs")), said[-3000:]


def test_eval_does_not_warn_when_the_data_file_is_unchanged(cli, diabetes_elsewhere, monkeypatch, caplog):
    monkeypatch.chdir(diabetes_elsewhere["config"].parent)
    assert invoke(cli, "train", diabetes_elsewhere["config"])[0] == 0
    code, output = invoke(cli, "eval", "latest")
    assert code == 0, output[-3000:]
    assert "changed" not in (output + caplog.text).lower()


# --- family 9: runs roots that cannot be written ------------------------------------------------------------


def _roots(tmp_path: Path) -> dict[str, Path]:
    a_file = tmp_path / "not_a_dir.txt"
    a_file.write_text("keep me\n")
    return {
        "a file": a_file,
        "under a file": a_file / "runs",
        "a name too long": tmp_path / ("r" * 300),
        "under a too-long name": tmp_path / ("r" * 300) / "runs",
    }


ROOT_KINDS = ["a file", "under a file", "a name too long", "under a too-long name"]


@pytest.mark.parametrize("kind", ROOT_KINDS)
@pytest.mark.parametrize(
    "command",
    [
        ["train", "{config}"],
        ["train", "{config}", "--dry-run"],
        ["sweep", "{config}", "optimizer.lr=0.01,0.02"],
        ["plot", "--landscape"],
    ],
    ids=["train", "dry-run", "sweep", "landscape"],
)
def test_a_runs_root_that_cannot_be_written_is_reported_with_its_path(cli, tmp_path, kind, command):
    root = _roots(tmp_path)[kind]
    config = tiny_config(tmp_path / "cfg", "linear_regression", {"data": {"n": 64}, "train": {"epochs": 1}})
    before = snapshot(tmp_path)
    args = [a.format(config=config) for a in command] + ["--runs-dir", root]
    code, output = invoke(cli, *args)
    if command[-1] == "--dry-run":  # a dry run writes nothing into the runs root: it may succeed
        assert "Traceback" not in output and code in (0, 1, 2), output[-3000:]
        return
    assert_refused(code, output, [(root.name[:40], root.parent.name[:40])], expected=(1, 2))
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_a_read_only_runs_root_is_reported(cli, tmp_path):
    root = tmp_path / "readonly"
    root.mkdir()
    root.chmod(0o500)
    config = tiny_config(tmp_path / "cfg", "linear_regression", {"data": {"n": 64}, "train": {"epochs": 1}})
    try:
        code, output = invoke(cli, "train", config, "--runs-dir", root)
    finally:
        root.chmod(0o700)
    assert_refused(code, output, ["readonly"], expected=(1, 2))


@pytest.mark.parametrize("kind", ["a file", "under a file"])
@pytest.mark.parametrize("command", [["runs"], ["gc", "--keep-last", "0", "--yes"], ["eval", "latest"]])
def test_reading_commands_on_an_unusable_runs_root_do_not_crash(cli, tmp_path, kind, command):
    root = _roots(tmp_path)[kind]
    code, output = invoke(cli, *command, "--runs-dir", root)
    assert "Traceback" not in output and code in (0, 2), output[-3000:]
    assert (tmp_path / "not_a_dir.txt").read_text() == "keep me\n"


# --- family 10: broken CSV data -------------------------------------------------------------------------


def _diabetes_with(tmp_path: Path, filename: str, content: bytes) -> Path:
    folder = tmp_path / "cfg"
    folder.mkdir(exist_ok=True)
    (folder / filename).write_bytes(content)
    return tiny_config(folder, "diabetes", {"data": {"path": str(folder / filename)}, "train": {"epochs": 1}})


@pytest.mark.parametrize(
    "filename,content",
    [
        ("truncated.csv.gz", SHIPPED_DIABETES.read_bytes()[: SHIPPED_DIABETES.stat().st_size // 2]),
        ("header_only.csv.gz", SHIPPED_DIABETES.read_bytes()[:10]),
        ("not_gzip.csv.gz", b"this is not gzip data\n"),
        ("empty.csv.gz", gzip.compress(b"", mtime=0)),  # a fixed header: test processes must collect the same ids
        ("empty.csv", b""),
        ("binary.csv", bytes(range(256)) * 4),
    ],
    ids=["truncated", "header_only", "not_gzip", "empty_gzip", "empty", "binary"],
)
@pytest.mark.parametrize("command", ["train", "config"])
def test_a_broken_data_file_exits_2_naming_it(cli, tmp_path, filename, content, command):
    config = _diabetes_with(tmp_path, filename, content)
    code, output = invoke(cli, command, config)
    # data that is there but cannot train is a config that fails, for `learnai config` as for `train`
    assert_refused(code, output, [filename])
    assert not cli.runs_dir.exists()


@pytest.mark.parametrize("cell", ["abc", "", "nan", "NaN", "inf", "-inf", "1e999", "0x10", "1,2"])
def test_a_bad_csv_cell_exits_2_naming_row_and_column(cli, tmp_path, cell):
    content = diabetes_rows(40, bad=(4, 3, cell)).encode()
    config = _diabetes_with(tmp_path, "cells.csv", content)
    code, output = invoke(cli, "train", config)
    assert_refused(code, output, ["cells.csv"])
    assert re.search(r"\b(row|line) [34]\b", output), f"no row number in:\n{output[-2000:]}"
    if cell == "1,2":  # written unquoted, the comma adds a column: no one cell is wrong, the row's width is
        assert re.search(r"\b10 columns\b", output), f"no column count in:\n{output[-2000:]}"
    else:
        assert re.search(r"\bcolumn [23]\b", output), f"no column number in:\n{output[-2000:]}"
    assert not cli.runs_dir.exists()


# --- family 10: init with absurd names, plot -o onto directories --------------------------------------------


@pytest.mark.parametrize("length", [81, 255, 300, 5000])
def test_init_with_an_overlong_name_exits_2_naming_the_name(cli, tmp_path, length):
    folder = tmp_path / "configs"
    code, output = invoke(cli, "init", "n" * length, "--dir", folder)
    assert_refused(code, output, ["name"])
    assert len(output) < 5000, f"{len(output):,} characters of output"
    assert not folder.exists() or not any(folder.iterdir())


def test_init_at_the_longest_valid_name_makes_a_config_that_validates(cli, tmp_path):
    folder = tmp_path / "configs"
    code, output = invoke(cli, "init", "n" * 80, "--dir", folder)
    assert code == 0, output
    code, output = invoke(cli, "config", folder / f"{'n' * 80}.yaml", "data.n=64")
    assert "Traceback" not in output and code == 0, output[-3000:]


@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_init_into_a_folder_that_cannot_exist_exits_2(cli, tmp_path, where):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    folder = a_file if where == "a file" else a_file / "configs"
    code, output = invoke(cli, "init", "fine", "--dir", folder)
    assert_refused(code, output, ["file.txt"])
    assert a_file.read_text() == "x"


def _plot_targets(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "a_folder"
    folder.mkdir()
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("x")
    return {"a directory": folder, "under a file": a_file / "plot.png", "a long name": tmp_path / ("p" * 300 + ".png")}


@pytest.mark.parametrize("target", ["a directory", "under a file", "a long name"])
@pytest.mark.parametrize("mode", ["landscape", "compare"])
def test_plot_output_onto_a_directory_or_under_a_file_exits_2(cli, tmp_path, two_runs, target, mode):
    path = _plot_targets(tmp_path)[target]
    args = ["--landscape"] if mode == "landscape" else [HEALTHY, DAMAGED, "--compare"]
    before = snapshot(tmp_path / "a_folder", tmp_path / "a_file.txt")
    code, output = invoke(cli, "plot", *args, "-o", path)
    assert_refused(code, output, [(path.name[:40], path.parent.name)])
    assert snapshot(tmp_path / "a_folder", tmp_path / "a_file.txt") == before


# --- a run whose only damage is meta.json stays usable, and removable -------------------------------------

ONLY_META = [*META, "completed_meta_deleted"]


@pytest.mark.parametrize("command", ["plot", "eval", "predict", "export"])
@pytest.mark.parametrize("damage", ONLY_META)
def test_a_run_whose_only_damage_is_meta_json_still_works(cli, templates, two_runs, damage, command):
    """docs/runs.md: eval, predict, export and plot of such a run work from its other files."""
    _damage(damage, two_runs[1], templates)
    code, output = invoke(cli, *COMMANDS[command](DAMAGED))
    assert code == 0 and "Traceback" not in output, output[-3000:]


def _age(run: Path, seconds: float) -> None:
    """Make the run directory look `seconds` old (it is not being created)."""
    then = os.stat(run).st_mtime - seconds
    os.utime(run, (then, then))


@pytest.mark.parametrize("damage", ONLY_META)
def test_rm_removes_a_run_without_a_readable_meta_json(cli, templates, two_runs, damage):
    _damage(damage, two_runs[1], templates)
    _age(two_runs[1], 120)
    code, output = invoke(cli, "rm", DAMAGED, "--yes")
    assert code == 0 and not two_runs[1].exists(), output[-3000:]
    assert two_runs[0].is_dir()


def test_gc_removes_an_old_run_without_meta_json_after_a_refused_rm(cli, templates, two_runs):
    """A young directory without meta.json is a run being created: rm refuses it. Taking its lock for that must
    not make it look young again (it used to be 'still starting' forever)."""
    _damage("completed_meta_deleted", two_runs[1], templates)
    os.utime(two_runs[1])  # made just now
    refused = invoke(cli, "rm", DAMAGED, "--yes")
    assert_refused(*refused, ["still starting"])
    _age(two_runs[1], 120)
    code, output = invoke(cli, "gc", "--keep-last", "0", "--yes")
    assert code == 0 and not two_runs[1].exists() and not two_runs[0].exists(), output[-3000:]


def test_eval_of_another_runs_checkpoint_keeps_this_runs_results(cli, two_runs):
    healthy, other = two_runs
    own = json.loads(invoke(cli, "eval", HEALTHY, "--json")[1].strip().splitlines()[-1])
    before = (healthy / "eval" / "test-best.json").read_text()
    code, output = invoke(cli, "eval", HEALTHY, "--checkpoint", other / "checkpoints" / "best.pt", "--json")
    assert code == 0, output[-3000:]
    foreign = json.loads(output.strip().splitlines()[-1])
    assert (healthy / "eval" / "test-best.json").read_text() == before
    assert Path(foreign["report"]).name == f"test-{DAMAGED}-best.json" and foreign["report"] != own["report"]
    assert (
        Path(foreign["checkpoint"]).is_absolute() and Path(foreign["checkpoint"]) == other / "checkpoints" / "best.pt"
    )
    same = invoke(cli, "eval", HEALTHY, "--checkpoint", healthy / "checkpoints" / "best.pt", "--json")[1]
    assert Path(json.loads(same.strip().splitlines()[-1])["report"]).name == "test-best.json"  # its own best.pt


@pytest.mark.parametrize("command", [["runs"], ["train", CONFIGS / "linear_regression.yaml"], ["eval", "latest"]])
def test_an_empty_runs_dir_is_refused_not_read_as_the_current_folder(cli, tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    code, output = invoke(cli, *command, "--runs-dir", "")
    assert_refused(code, output, ["--runs-dir", "is empty"])
    assert list(tmp_path.iterdir()) == []


def test_runs_on_a_file_is_refused_and_on_a_missing_folder_says_so(cli, tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me\n")
    assert_refused(*invoke(cli, "runs", "--runs-dir", a_file), ["notes.txt", "is a file, not a folder of runs"])
    code, output = invoke(cli, "runs", "--runs-dir", tmp_path / "nowhere")
    assert code == 0 and "does not exist yet" in output, output
    assert a_file.read_text() == "keep me\n"


def test_resuming_a_finished_run_whose_last_pt_was_deleted_says_it_was_lost(cli, two_runs):
    healthy = two_runs[0]
    (healthy / "checkpoints" / "last.pt").unlink()
    code, output = invoke(cli, "train", "--resume", HEALTHY, "train.epochs=5")
    assert_refused(code, output, ["was deleted or moved", f"--init-from {HEALTHY}"])
    assert "before its first checkpoint" not in output


def test_eval_of_a_run_on_a_read_only_file_system_is_refused_before_evaluating(cli, two_runs, monkeypatch):
    import errno
    import tempfile

    made = tempfile.mkstemp

    def read_only_runs(*args, dir=None, **kwargs):  # what the OS answers for a folder on a read-only mount
        if dir is not None and str(cli.runs_dir) in str(dir):
            raise OSError(errno.EROFS, "Read-only file system")
        return made(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", read_only_runs)
    before = snapshot(cli.runs_dir)
    for extra in ([], ["--json"]):
        code, output = invoke(cli, "eval", HEALTHY, *extra)
        assert_refused(code, output, ["cannot write the evaluation", "Read-only file system"])
    assert snapshot(cli.runs_dir) == before


@pytest.mark.parametrize("command", [["rm", HEALTHY, "--yes"], ["gc", "--keep-last", "0", "--yes"]])
def test_runs_that_cannot_be_removed_are_named_not_called_in_use(cli, two_runs, monkeypatch, command):
    import errno

    def read_only(path, *args, **kwargs):  # what the OS answers on a read-only mount
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(shutil, "rmtree", read_only)
    code, output = invoke(cli, *command)
    assert_refused(code, output, ["cannot remove run", "Read-only file system"])
    assert "started meanwhile" not in output
    if command[0] == "gc":  # --json keeps what was and was not removed
        code, output = invoke(cli, *command, "--json")
        reported = json.loads(output.strip().splitlines()[-1])
        assert code == 2 and reported["removed"] == [] and len(reported["not_removed"]) == 2, reported
