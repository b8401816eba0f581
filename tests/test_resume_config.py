"""--resume trains with the run's own config.yaml: it says so, names the keys an edited source file changes (which
it does not use), and refuses a last.pt whose optimizer state another optimizer wrote before any file is rewritten
(issue 26 family 8, issue 31)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from tests.conftest import CONFIGS
from tests.test_train_further import files_of

TOY = CONFIGS / "toy_classes.yaml"


@pytest.fixture
def messages(caplog):
    caplog.set_level(logging.INFO, logger="learnai")
    return caplog


def started_from_a_copy(cli, tmp_path, *overrides: str) -> tuple[Path, str]:
    config = tmp_path / "mine.yaml"
    shutil.copy(TOY, config)
    return config, cli.json("train", config, "train.epochs=2", *overrides)["run_id"]


@pytest.mark.parametrize(
    "edit, named",
    [
        (("lr: 0.01", "lr: 0.1"), ["optimizer.lr: 0.01 here, 0.1 in the file"]),
        (("hidden: [5]", "hidden: [7, 3]"), ["model.hidden: [5] here, [7, 3] in the file"]),
        (("name: sgd", "name: adam"), ["optimizer.name: 'sgd' here, 'adam' in the file", "optimizer.momentum"]),
        (("batch_size: 6", "batch_size: 3"), ["train.batch_size: 6 here, 3 in the file"]),
    ],
)
def test_resume_names_what_an_edited_config_changes_and_does_not_use(cli, tmp_path, messages, edit, named):
    config, run_id = started_from_a_copy(cli, tmp_path)
    config.write_text(config.read_text().replace(*edit))
    resumed = cli.json("train", "--resume", run_id, "train.epochs=3")
    assert resumed["status"] == "completed"
    assert f"{config} changed since run {run_id} started" in messages.text
    assert all(words in messages.text for words in named), messages.text
    assert "so those changes are NOT used" in messages.text and f"--init-from {run_id}" in messages.text
    saved = (Path(resumed["run_dir"]) / "config.yaml").read_text()
    assert "lr: 0.01" in saved and "hidden:\n  - 5\n" in saved.replace("hidden: [5]", "hidden:\n  - 5\n")


def test_an_unchanged_config_only_says_which_config_resume_uses(cli, tmp_path, messages):
    _, run_id = started_from_a_copy(cli, tmp_path, "optimizer.lr=0.05")  # its own override is no change
    cli.json("train", "--resume", run_id, "train.epochs=3")
    assert "resuming with the run's own config.yaml" in messages.text and "changed since" not in messages.text


def test_a_source_file_that_is_gone_or_broken_is_no_obstacle(cli, tmp_path, messages):
    config, run_id = started_from_a_copy(cli, tmp_path)
    config.write_text("model: [")
    assert cli.json("train", "--resume", run_id, "train.epochs=3")["status"] == "completed"
    assert "no longer validates" in messages.text
    config.unlink()
    assert cli.json("train", "--resume", run_id, "train.epochs=4")["status"] == "completed"


@pytest.mark.parametrize("ours, theirs", [("sgd", "adam"), ("adam", "sgd"), ("rmsprop", "adagrad"), ("adamw", "sgd")])
def test_a_last_pt_of_another_optimizer_is_refused_before_anything_is_rewritten(cli, ours, theirs):
    run = cli.json("train", TOY, "train.epochs=2", f"optimizer.name={ours}", "optimizer.lr=0.01")
    other = cli.json("train", TOY, "train.epochs=2", f"optimizer.name={theirs}", "optimizer.lr=0.01")
    run_dir = Path(run["run_dir"])
    shutil.copy(Path(other["run_dir"]) / "checkpoints" / "last.pt", run_dir / "checkpoints" / "last.pt")
    before = files_of(run_dir)
    result = cli("train", "--resume", run["run_id"], "train.epochs=4")
    assert result.exit_code == 2, result.output
    assert (
        "its optimizer state was written by another optimizer" in result.stderr
        and "nothing was changed" in result.stderr
    )
    assert files_of(run_dir) == before
    assert json.loads((run_dir / "meta.json").read_text())["status"] == "completed"
