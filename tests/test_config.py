"""Config loading, overrides, and every validation error path: exit code 2, the key named, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from learnai_cli import config as config_module
from learnai_cli.errors import ConfigError
from tests.conftest import CONFIGS


def problems_of(path: Path, *overrides: str) -> str:
    with pytest.raises(ConfigError) as caught:
        config_module.load(path, list(overrides))
    return caught.value.render()


def test_load_fills_builder_defaults_and_keeps_yaml_values():
    config = config_module.load(CONFIGS / "linear_regression.yaml")
    assert config.optimizer.name == "adam"
    assert config.optimizer.kwargs["lr"] == 0.05  # from the file
    assert config.optimizer.kwargs["betas"] == [0.9, 0.999]  # builder default, filled in
    assert config.train.epochs == 30 and config.train.log_every_steps == 50
    assert config.data.kwargs == {"n": 10000, "weight": 2.0, "bias": 1.0, "noise": 0.1, "x_min": 0.0, "x_max": 2.0}


def test_overrides_are_parsed_as_yaml_and_win_over_the_file():
    config = config_module.load(
        CONFIGS / "toy_classes.yaml",
        ["optimizer.lr=0.1", "train.epochs=3", "model.hidden=[8, 4]", "train.early_stopping.patience=2"],
    )
    assert config.optimizer.kwargs["lr"] == 0.1
    assert config.train.epochs == 3
    assert config.model.kwargs["hidden"] == [8, 4]
    assert config.train.early_stopping.patience == 2


def test_resolved_config_round_trips(tmp_path):
    import yaml

    config = config_module.load(CONFIGS / "mnist_cnn.yaml", ["train.epochs=2"])
    saved = tmp_path / "config.yaml"
    saved.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    assert config_module.load(saved) == config


def test_unknown_override_key_is_an_error_not_an_addition():
    text = problems_of(CONFIGS / "toy_classes.yaml", "model.hiden=64")
    assert "model.hiden: unknown argument for mlp. Did you mean 'hidden'?" in text
    assert "[from override 'model.hiden=64']" in text


def test_every_problem_is_reported_in_one_pass():
    text = problems_of(
        CONFIGS / "linear_regression.yaml",
        "optimizer.lr=abc",
        "train.epoch=3",
        "foo.bar=1",
        "loss.name=mes",
        "device=gpu",
        "data.val_split=-1",
        "model.n_inn=3",
    )
    assert "7 problems" in text
    assert "optimizer.lr: Input should be a valid number" in text and "(got 'abc')" in text
    assert "train.epoch: unknown key. Did you mean 'epochs'?" in text
    assert "foo: unknown section" in text
    assert "loss.name: unknown loss 'mes'. Did you mean 'mse'?" in text and "Valid: bce, bce_with_logits" in text
    assert "device: expected auto, cpu, cuda or cuda:N (got 'gpu')" in text
    assert "data.val_split: expected a count" in text
    assert "model.n_inn: unknown argument for linear_regression. Did you mean 'n_in'?" in text
    assert str(CONFIGS / "linear_regression.yaml") in text


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("train.epochs=0", "train.epochs: Input should be greater than 0"),
        ("train.mode=up", "train.mode: Input should be 'min' or 'max'"),
        ("train.monitor=val_acc", "train.monitor: 'val_acc' is not recorded for a regression task"),
        ("name=my run", "name: use letters, digits"),
        ("seed=[1]", "seed: Input should be a valid integer"),
        (
            "model=linear_regression",
            "model: is a section (name: and its settings), not a single value (got 'linear_regression'); to choose one, set model.name=linear_regression",
        ),
        ("optimizer.name=adamm", "Did you mean 'adam'?"),
        ("data.name=mnst", "data.name: unknown dataset 'mnst'. Did you mean 'mnist'?"),
        ("scheduler.name=cosin", "scheduler.name: unknown scheduler 'cosin'. Did you mean 'cosine'?"),
        ("scheduler.gamma=0.5", "scheduler.name: required key is missing"),
        ("optimizer.params=1", "optimizer.params: unknown argument for adam"),
        ("optimizer.lr.value=1", "'optimizer.lr' is 0.05, a number, not a section"),
        ("train=5", "train: is a section (keys such as epochs, batch_size"),
        ("train.epochs", "must look like key.path=value"),
        ("=3", "must look like key.path=value"),
        ("model.in_features=[", "the value is not valid YAML"),
    ],
)
def test_single_problems_name_the_key(override, expected):
    assert expected in problems_of(CONFIGS / "linear_regression.yaml", override)


def test_missing_sections_are_listed(tmp_path):
    path = tmp_path / "partial.yaml"
    path.write_text("name: partial\nmodel: {name: mlp, in_features: 2, out_features: 1}\n")
    text = problems_of(path)
    for section in ("data", "loss", "optimizer"):
        assert f"{section}: required key is missing" in text
    assert "model" not in text.split("required")[0]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "the config file is empty"),
        ("# only a comment\n", "holds no settings"),
        ("name: x\n  bad: [\n", "YAML syntax error at line 2, column 6"),
        ("- a\n- b\n", "the top level must be a mapping of sections, not a list"),
        ("name: !!python/object/apply:os.system ['echo hi']\n", "YAML tags that build Python objects are not allowed"),
    ],
)
def test_file_problems(tmp_path, content, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    assert expected in problems_of(path)


def test_missing_file_and_directory(tmp_path):
    assert "config file not found" in problems_of(tmp_path / "nope.yaml")
    assert "is a directory" in problems_of(tmp_path)


def test_cli_exit_code_2_and_no_traceback(cli, runs_dir):
    result = cli("train", CONFIGS / "linear_regression.yaml", "optimizer.lr=abc", "train.epoch=3")
    assert result.exit_code == 2
    assert "2 problems in the config" in result.stderr
    assert "Traceback" not in result.output
    assert not runs_dir.exists()  # nothing is created for a bad config


def test_cli_json_error_object(cli):
    result = cli("train", CONFIGS / "linear_regression.yaml", "loss.name=mes", "--json")
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload == {"ok": False, "exit_code": 2, "error": payload["error"]}
    assert "Did you mean 'mse'?" in payload["error"]


def test_config_command_prints_resolved_yaml_and_counts_parameters(cli):
    result = cli("config", CONFIGS / "mnist_cnn.yaml", "model.channels=[8, 16, 32]")
    assert result.exit_code == 0, result.output
    assert "channels:\n  - 8\n  - 16\n  - 32" in result.stdout or "channels:\n- 8" in result.stdout
    assert "eval_batch_size: 1024" in result.stdout
    payload = cli.json("config", CONFIGS / "mnist_cnn.yaml")
    assert payload["config"]["scheduler"]["name"] == "onecycle"
    assert payload["parameters"] > 10_000


def test_config_command_catches_a_model_that_does_not_fit_the_data(cli, mnist_root):
    result = cli(
        "config", CONFIGS / "mnist_cnn.yaml", f"data.root={mnist_root}", "data.val_split=20", "model.image_size=32"
    )
    assert result.exit_code == 2
    assert "model 'mnist_cnn' does not fit data 'mnist'" in result.stderr
    assert "inputs (2, 1, 28, 28)" in result.stderr and "model.image_size=32" in result.stderr


def test_config_command_checks_what_it_can_without_the_data(cli, tmp_path):
    payload = cli.json("config", CONFIGS / "mnist_cnn.yaml", f"data.root={tmp_path}", "data.download=false")
    assert payload["ok"] and payload["data_check"].startswith("data not checked: MNIST files are missing")
    for missing in (f"data.path={tmp_path / 'later.csv'}",):  # data that is not on this machine yet
        payload = cli.json("config", CONFIGS / "diabetes.yaml", missing)
        assert payload["ok"] and payload["data_check"].startswith("data not checked: CSV"), payload


@pytest.mark.parametrize(
    "config,overrides,words",
    [
        ("rnn_hello", ["data.source=abc", "data.target=ab"], "equally long"),
        ("rnn_hello", ["data.source=''", "data.target=''"], "non-empty"),
    ],
)
def test_config_command_fails_on_data_that_is_there_but_cannot_train(cli, config, overrides, words):
    result = cli("config", CONFIGS / f"{config}.yaml", *overrides)
    assert result.exit_code == 2 and words in result.stderr, result.stderr


def test_config_command_fails_on_a_file_where_the_image_folder_should_be(cli, tmp_path):
    (tmp_path / "photos").write_text("not a folder")
    config = tmp_path / "images.yaml"
    config.write_text(
        "name: images\ndata: {name: image_folder, root: photos, image_size: 28}\n"
        "model: {name: basic_cnn, in_channels: 3, num_classes: 2}\nloss: {name: cross_entropy}\n"
        "optimizer: {name: sgd, lr: 0.01}\n"
    )
    result = cli("config", config)
    assert result.exit_code == 2 and "is not a folder" in result.stderr, result.stderr


# --- strict YAML (config_yaml.py) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,expected",
    [
        ("a: 1\nb:\n  c: 2\n  c: 3\n", "duplicate key 'c' at line 4, column 3 (first at line 3)"),
        ("a: 1\na: 1\n", "duplicate key 'a' at line 2"),
        ("a:\n  <<: 5\n", "bad merge key '<<' at line 2"),
        ("a: !!python/object/apply:os.system [true]\n", "YAML tags that build Python objects are not allowed"),
        ("a: " + "9" * 5000 + "\n", "a number has too many digits"),
        ("a: [1, 2\n", "YAML syntax error at line 2"),
    ],
)
def test_parse_yaml_refuses_what_plain_yaml_would_accept_or_crash_on(text, expected):
    with pytest.raises(ConfigError) as caught:
        config_module.parse_yaml(text, "f.yaml")
    assert expected in caught.value.message and caught.value.message.startswith("f.yaml: ")


def test_merge_keys_still_merge_and_explicit_keys_still_win_over_merged_ones():
    data = config_module.parse_yaml("base: &b {epochs: 1, batch_size: 8}\ntrain:\n  <<: *b\n  epochs: 3\n", "f.yaml")
    assert data["train"] == {"epochs": 3, "batch_size": 8}


def test_overrides_with_huge_values_are_reported_clipped():
    problems = problems_of(CONFIGS / "linear_regression.yaml", "train.epochs=" + "9" * 100_000, "x" * 100_000 + "=1")
    assert "too many digits" in problems and "(100,013 characters)" in problems and len(problems) < 2000


# --- path arguments resolve against the config's folder ---------------------------------------------------


def test_relative_path_arguments_resolve_against_the_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    text = (CONFIGS / "diabetes.yaml").read_text().replace("  val_split:", "  path: sub/../mydata.csv\n  val_split:")
    (folder / "cfg.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    config = config_module.load(folder / "cfg.yaml")
    assert config.data.kwargs["path"] == str(folder / "mydata.csv")
    overridden = config_module.load(folder / "cfg.yaml", ["data.path=other.csv"])  # typed in a shell: the cwd
    assert overridden.data.kwargs["path"] == str(tmp_path / "other.csv")
    absolute = config_module.load(folder / "cfg.yaml", [f"data.path={tmp_path / 'abs.csv'}"])
    assert absolute.data.kwargs["path"] == str(tmp_path / "abs.csv")


def test_a_default_relative_path_also_resolves_against_the_config_folder(tmp_path):
    (tmp_path / "cfg.yaml").write_text((CONFIGS / "mnist_cnn.yaml").read_text().replace("  root: ../data\n", ""))
    assert config_module.load(tmp_path / "cfg.yaml").data.kwargs["root"] == str(tmp_path / "data")
    assert config_module.load(CONFIGS / "mnist_cnn.yaml").data.kwargs["root"] == str(CONFIGS.parent / "data")


def test_a_runs_recorded_config_keeps_its_paths_as_they_are(tmp_path):
    raw = config_module.load(CONFIGS / "mnist_cnn.yaml", ["data.root=data"]).to_dict()
    raw["data"]["root"] = "legacy/relative"  # a run from before paths were recorded absolute
    config = config_module.validate(raw, source="config.yaml", base_dir=tmp_path)
    assert config.data.kwargs["root"] == "legacy/relative"


def test_a_plugin_builder_with_a_path_annotation_gets_its_path_resolved_too(tmp_path):
    (tmp_path / "my_data.py").write_text(
        "from pathlib import Path\nfrom typing import Optional\nimport torch\n"
        "from learnai_cli.registry import DATASETS\nfrom learnai_cli.data.splits import DatasetSplits, TensorSplit\n\n"
        "@DATASETS.register('annotated_paths_data', task='regression')\n"
        "def annotated_paths_data(table: Path, extra: Optional[Path] = None, n: int = 4) -> DatasetSplits:\n"
        "    '''Zeros; its paths are only resolved.'''\n"
        "    return DatasetSplits(train=TensorSplit(torch.zeros(n, 1), torch.zeros(n, 1)))\n"
    )
    text = (CONFIGS / "linear_regression.yaml").read_text().replace("name: linear_regression\n", "name: paths\n", 1)
    raw = config_module.parse_yaml(text, "cfg.yaml")
    raw["plugins"] = ["my_data.py"]
    raw["data"] = {"name": "annotated_paths_data", "table": "t.csv", "extra": "sub/e.csv"}
    config = config_module.validate(raw, "cfg.yaml", base_dir=tmp_path, paths_from=tmp_path)
    assert config.data.kwargs["table"] == str(tmp_path / "t.csv")
    assert config.data.kwargs["extra"] == str(tmp_path / "sub" / "e.csv")
