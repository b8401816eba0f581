"""The diabetes dataset's label meaning: the course's file (0 = diabetes) is recognised by its contents, any other
file follows data.positive_label (default 1 = diabetes), and a setting that contradicts a known file is refused
(issue 26, family 6)."""

from __future__ import annotations

import gzip
import json
import logging
import shutil
from pathlib import Path

import pytest

from tests.conftest import CONFIGS

DIABETES = CONFIGS / "diabetes.yaml"
COURSE = Path(__file__).resolve().parents[2] / "shared" / "data" / "diabetes.csv.gz"
SHIPPED = Path(__file__).resolve().parents[1] / "learnai_cli" / "data" / "builtin" / "diabetes.csv.gz"
SHORT = ["train.epochs=2", "train.batch_size=64"]


def learned(final: dict) -> dict:
    """What a run learned, without its timings."""
    return {key: value for key, value in final.items() if key not in ("samples_per_s", "epoch_time")}


def course_rows() -> list[str]:
    """The course's file: the shipped rows with the label flipped (0 = diabetes), as builtin/README.md says."""
    if COURSE.is_file():
        return gzip.decompress(COURSE.read_bytes()).decode().splitlines()
    rows = gzip.decompress(SHIPPED.read_bytes()).decode().splitlines()
    return [f"{row.rpartition(',')[0]},{1 - int(float(row.rpartition(',')[2]))}" for row in rows]


@pytest.fixture(scope="module")
def shipped_final(tmp_path_factory):
    from tests.conftest import Cli

    return learned(Cli(tmp_path_factory.mktemp("shipped")).json("train", DIABETES, *SHORT)["final"])


@pytest.mark.parametrize("form", ["gzip", "csv", "crlf"])
def test_the_course_file_is_recognised_and_read_with_its_own_label_meaning(cli, tmp_path, caplog, form, shipped_final):
    caplog.set_level(logging.INFO, logger="learnai")
    rows = course_rows()
    path = tmp_path / ("course.csv.gz" if form == "gzip" else "course.csv")
    text = ("\r\n" if form == "crlf" else "\n").join(rows) + "\n"
    path.write_bytes(gzip.compress(text.encode()) if form == "gzip" else text.encode())
    result = cli.json("train", DIABETES, f"data.path={path}", *SHORT)
    assert "the course's diabetes.csv (recognised by its contents): label 0 means diabetes" in caplog.text
    assert learned(result["final"]) == shipped_final  # the same patients with the same meaning: the very same training


def test_a_label_meaning_that_contradicts_a_known_file_is_refused(cli, tmp_path):
    path = tmp_path / "course.csv"
    path.write_text("\n".join(course_rows()) + "\n")
    result = cli("train", DIABETES, f"data.path={path}", "data.positive_label=1")
    assert result.exit_code == 2 and "data.positive_label" in result.stderr
    assert "where 0 means diabetes" in result.stderr and "would call every diabetic patient" in result.stderr
    shipped = cli("train", DIABETES, "data.positive_label=0")
    assert shipped.exit_code == 2 and "the data is learnai's shipped diabetes data" in shipped.stderr
    assert not cli.runs_dir.exists() or not any(cli.runs_dir.iterdir())


def test_another_file_follows_positive_label(cli, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="learnai")
    rows = course_rows()[:600]  # not a known file any more
    inverted, plain = tmp_path / "inverted.csv", tmp_path / "plain.csv"
    inverted.write_text("\n".join(rows) + "\n")
    plain.write_text("\n".join(f"{r.rpartition(',')[0]},{1 - int(float(r.rpartition(',')[2]))}" for r in rows) + "\n")
    as_given = cli.json("train", DIABETES, f"data.path={plain}", *SHORT)
    assert "label 1 is read as diabetes" in caplog.text and "set data.positive_label: 0" in caplog.text
    flipped = cli.json("train", DIABETES, f"data.path={inverted}", "data.positive_label=0", *SHORT)
    assert learned(flipped["final"]) == learned(as_given["final"])
    predicted = cli("predict", flipped["run_id"], "--json", "--", rows[0].rpartition(",")[0])
    assert json.loads(predicted.stdout)["top"]


@pytest.mark.parametrize("label", ["2", "0.5", "-1"])
def test_a_label_that_is_not_0_or_1_is_refused(cli, tmp_path, label):
    path = tmp_path / "mine.csv"
    rows = course_rows()[:50]
    rows[7] = f"{rows[7].rpartition(',')[0]},{label}"
    path.write_text("\n".join(rows) + "\n")
    result = cli("train", DIABETES, f"data.path={path}")
    assert result.exit_code == 2 and "row 8: the last column is the label and must be 0 or 1" in result.stderr


def test_the_shipped_copy_is_known_too(tmp_path):
    from learnai_cli import registry

    copy = tmp_path / "copy.csv.gz"
    shutil.copy(SHIPPED, copy)
    splits = registry.DATASETS.build("diabetes", {"path": str(copy)})
    assert splits.info["positive_label"] == 1 and int(splits.train.targets.sum()) == 263
