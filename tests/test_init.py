"""`learnai init NAME --from NAME|PATH`: a new config from a shipped template or from a config file of yours."""

from __future__ import annotations

import json
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
