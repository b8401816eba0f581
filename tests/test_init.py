"""`learnai init NAME --from NAME|PATH`: a new config from a shipped template or from a config file of yours."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import CONFIGS


def test_init_from_a_config_file_keeps_its_comments_and_renames_it(cli, tmp_path):
    mine = tmp_path / "mine" / "fit.yaml"
    mine.parent.mkdir()
    mine.write_text("# my notes\n" + (CONFIGS / "linear_regression.yaml").read_text())
    made = cli.json("init", "fit2", "--from", mine, "--dir", mine.parent)
    written = Path(made["config"])
    assert written == mine.parent / "fit2.yaml" and made["warnings"] == []
    assert "# my notes" in written.read_text() and yaml.safe_load(written.read_text())["name"] == "fit2"
    again = cli.json("init", "fit3", "--from", written, "--dir", mine.parent)  # one header, not two
    assert Path(again["config"]).read_text().count("# Made by `learnai init") == 1
    assert cli("config", again["config"]).exit_code == 0


def test_init_warns_when_a_relative_data_path_no_longer_leads_to_the_file(cli, tmp_path):
    source = tmp_path / "a" / "table.yaml"
    source.parent.mkdir()
    (source.parent / "rows.csv").write_text("x,y\n1,0\n2,1\n3,0\n4,1\n")
    source.write_text(
        "name: table\ndata: {name: csv, path: rows.csv}\nmodel: {name: mlp, in_features: 1, out_features: 2}\n"
        "loss: {name: cross_entropy}\noptimizer: {name: sgd, lr: 0.1}\n"
    )
    result = cli("init", "moved", "--from", source, "--dir", tmp_path / "b")
    assert result.exit_code == 0 and (tmp_path / "b" / "moved.yaml").is_file()
    assert "warning: " in result.stderr and "'rows.csv' is relative to the config's folder" in result.stderr
    beside = cli.json("init", "beside", "--from", source, "--dir", source.parent)
    assert beside["warnings"] == []


def test_init_refuses_what_is_no_config_with_exit_2(cli, tmp_path):
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    for source, says in [
        (tmp_path / "list.yaml", "the top level must be a mapping"),
        (tmp_path, "is a directory; give a config file or a shipped name"),
        (tmp_path / "absent.yaml", "no shipped config and no file of that name. Shipped: bilstm_padding"),
    ]:
        result = cli("init", "x", "--from", source, "--dir", tmp_path / "out", "--json")
        assert result.exit_code == 2 and says in result.stderr, result.stderr
        assert json.loads(result.stdout)["ok"] is False and not (tmp_path / "out").exists()


def test_init_with_a_file_name_writes_that_file(cli, tmp_path):
    result = cli("init", "mine.yaml", "--dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["mine.yaml"]
    assert "name: mine\n" in (tmp_path / "mine.yaml").read_text()


@pytest.mark.parametrize("under", ["", "sub"])
def test_init_into_a_file_names_the_file_in_the_way(cli, tmp_path, under):
    (tmp_path / "afile").write_text("mine\n")
    result = cli("init", "y", "--dir", tmp_path / "afile" / under)
    assert result.exit_code == 2 and "afile is a file, not a folder" in result.stderr, result.stderr
    assert (tmp_path / "afile").read_text() == "mine\n"


BODY = (
    "data: {name: linear, n: 100}  # the data\n"
    "model: {name: linear_regression}\nloss: {name: mse}\noptimizer: {name: sgd, lr: 0.01}\n"
)


@pytest.mark.parametrize(
    "source",
    [
        "name: old  # a note after the name\n" + BODY,
        "# notes\nname: 'old'\n" + BODY,
        '"name": old\n' + BODY,
        "name: &who old\n" + BODY,
        "base: &b old\nname: *b\n" + BODY.replace("data:", "data:", 1),
        "name: !!str old\n" + BODY,
        "name: >\n  old\n" + BODY,
        "# no name key at all\n" + BODY,
        "{name: old, data: {name: linear, n: 100}, model: {name: linear_regression}, loss: {name: mse},"
        " optimizer: {name: sgd, lr: 0.01}}\n",
        "{data: {name: linear, n: 100}, model: {name: linear_regression}, loss: {name: mse}, optimizer: {name: sgd}}\n",
        "---\n" + BODY + "# the end\n",
    ],
)
def test_init_renames_any_way_of_writing_the_name_and_the_result_validates(cli, tmp_path, source):
    mine = tmp_path / "mine.yaml"
    mine.write_text(source)
    result = cli("init", "renamed", "--from", mine, "--dir", tmp_path / "out")
    assert result.exit_code == 0, result.output
    written = (tmp_path / "out" / "renamed.yaml").read_text()
    loaded = yaml.safe_load(written)
    assert loaded == {**yaml.safe_load(source), "name": "renamed"}
    kept = [line.split("#", 1)[1] for line in source.splitlines() if "#" in line]
    assert all(comment in written for comment in kept)
    if "base:" not in source:
        assert cli("config", tmp_path / "out" / "renamed.yaml").exit_code == 0


@pytest.mark.parametrize("name", ["2024", "true", "1e3"])
def test_init_names_that_read_as_numbers_or_booleans_stay_text(cli, tmp_path, name):
    result = cli("init", name, "--dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((tmp_path / f"{name}.yaml").read_text())["name"] == name


def test_init_refuses_a_name_it_cannot_change_alone_and_writes_nothing(cli, tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("name: &who old\n" + BODY + "train: {run_name_note: *who}\n")
    result = cli("init", "renamed", "--from", mine, "--dir", tmp_path / "out")
    assert result.exit_code == 2 and "edit its name: line" in result.stderr and "cp " in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_init_from_a_device_or_a_pipe_says_what_it_is(cli, tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")
    for source, says in [("/dev/null", "is a device, not a config file"), (tmp_path / "pipe.yaml", "named pipe")]:
        result = cli("init", "x", "--from", source, "--dir", tmp_path / "out")
        assert result.exit_code == 2 and says in result.stderr and "directory" not in result.stderr, result.stderr


def test_init_on_a_full_disk_leaves_no_file_and_the_retry_works(tmp_path):
    def small_files():  # every write past 64 bytes fails as on a full disk (EFBIG instead of ENOSPC)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))

    command = [sys.executable, "-m", "learnai_cli", "init", "full", "--dir", str(tmp_path / "configs")]
    full = subprocess.run(command, capture_output=True, text=True, preexec_fn=small_files, timeout=120)
    assert full.returncode == 2 and "nothing was written" in full.stderr, full.stderr
    assert "Traceback" not in full.stderr and list((tmp_path / "configs").iterdir()) == []
    retry = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert retry.returncode == 0 and (tmp_path / "configs" / "full.yaml").stat().st_size > 100, retry.stderr
