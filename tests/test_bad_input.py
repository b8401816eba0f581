"""Bad input of every kind ends in a clear message and exit code 2 (or 1 for a failed run), never a traceback."""

from __future__ import annotations

import copy
import errno
import json
import multiprocessing
import os
from datetime import datetime
from pathlib import Path

import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learnai_cli.rundir import RunDir
from tests.conftest import CONFIGS

BASE = yaml.safe_load((CONFIGS / "linear_regression.yaml").read_text())
SECTIONS = ["name", "data", "model", "loss", "optimizer"]
NUMERIC_KEYS = [
    ("train", "epochs"),
    ("train", "batch_size"),
    ("train", "log_every_steps"),
    ("data", "n"),
    ("optimizer", "lr"),
    ("seed",),
]
POSITIVE_KEYS = [
    ("train", "epochs"),
    ("train", "batch_size"),
    ("train", "eval_batch_size"),
    ("train", "accumulate_steps"),
    ("data", "limit"),
]
KNOWN_WORDS = {"name", "seed", "device", "plugins", "data", "model", "loss", "optimizer", "scheduler", "train"}


def set_key(config: dict, path: tuple, value) -> dict:
    node = config
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    return config


not_a_number = st.one_of(
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.text(min_size=1, max_size=20).filter(lambda t: not _parses_as_number(t)),
    st.booleans().map(lambda b: [b]),
)


def _parses_as_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


identifier = st.from_regex(r"[a-z_]{1,12}", fullmatch=True)

malformed_config = st.one_of(
    # wrong types where numbers belong
    st.tuples(st.sampled_from(NUMERIC_KEYS), not_a_number).map(lambda kv: set_key(copy.deepcopy(BASE), *kv)),
    # zero, negative and absurd numbers where a positive one belongs
    st.tuples(st.sampled_from(POSITIVE_KEYS), st.integers(max_value=0)).map(
        lambda kv: set_key(copy.deepcopy(BASE), *kv)
    ),
    st.integers(min_value=2**63, max_value=2**200).map(lambda n: set_key(copy.deepcopy(BASE), ("seed",), n)),
    st.integers(max_value=-1).map(lambda n: set_key(copy.deepcopy(BASE), ("seed",), n)),
    st.floats(min_value=1.0001, max_value=1e300)
    .filter(lambda f: not f.is_integer())
    .map(lambda f: set_key(copy.deepcopy(BASE), ("data", "val_split"), f)),
    # unknown keys, in any section
    st.tuples(st.sampled_from(["", "train", "data", "model", "optimizer", "loss"]), identifier)
    .filter(
        lambda sk: (
            sk[1]
            not in KNOWN_WORDS
            | set(BASE.get(sk[0], {}) if sk[0] else {})
            | {
                "eval_batch_size",
                "shuffle",
                "max_steps",
                "limit_batches",
                "val_every_epochs",
                "monitor",
                "mode",
                "early_stopping",
                "grad_clip",
                "accumulate_steps",
                "checkpoint_every_steps",
                "skip_nonfinite_steps",
                "deterministic",
                "epochs",
                "batch_size",
                "log_every_steps",
                "val_split",
                "test_split",
                "limit",
                "reduction",
                "betas",
                "eps",
                "weight_decay",
                "x_min",
                "x_max",
                "noise",
                "n",
                "weight",
                "bias",
                "lr",
                "n_in",
                "n_out",
            }
        )
    )
    .map(lambda sk: set_key(copy.deepcopy(BASE), (sk[0], sk[1]) if sk[0] else (sk[1],), 1)),
    # missing sections
    st.sampled_from(SECTIONS).map(lambda key: {k: v for k, v in copy.deepcopy(BASE).items() if k != key}),
    # names nobody registered
    st.tuples(st.sampled_from(["model", "data", "loss", "optimizer"]), identifier).map(
        lambda sn: set_key(copy.deepcopy(BASE), (sn[0], "name"), sn[1] + "_unregistered")
    ),
)


@settings(
    max_examples=160, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(config=malformed_config)
def test_malformed_configs_exit_2_with_a_message(cli, tmp_path, config):
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(config))
    check_refused(cli, path)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(junk=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_junk_files_exit_2_with_a_message(cli, tmp_path, junk):
    path = tmp_path / "junk.yaml"
    path.write_bytes(junk)
    check_refused(cli, path)


def check_refused(cli, path: Path) -> None:
    result = cli("train", path)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not cli.runs_dir.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("model: &m {name: mlp, inner: *m}\n", "refers to itself"),
        ("a: &a [*a]\n", "refers to itself"),
        ("deep: " + "[" * 40 + "]" * 40 + "\n", "nested more than 32 levels"),
        ("deep: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
            "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
            "unknown section",  # shared anchors are fine to walk once, and the keys are still wrong
        ),
        ("name: !!python/object/new:os.system [echo hi]\n", "YAML tags that build Python objects are not allowed"),
        ("name: \x00\x01\n", "not valid YAML"),
    ],
)
def test_hostile_yaml(cli, tmp_path, text, expected):
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    result = cli("train", path)
    assert result.exit_code == 2 and expected in result.stderr, result.stderr


def test_labels_beyond_the_models_classes(cli):
    result = cli("train", CONFIGS / "toy_classes.yaml", "model.out_features=2")
    assert result.exit_code == 2
    assert (
        "has 3 classes (labels 0 to 2) but model 'mlp' gives 2 outputs" in result.stderr
        and "set model.out_features=3" in result.stderr
    )


def test_binary_labels_must_be_0_or_1(cli, tmp_path):
    csv = tmp_path / "bad_labels.csv"
    csv.write_text("\n".join(f"{i},{i % 3}" for i in range(30)))
    result = cli("train", CONFIGS / "diabetes.yaml", f"data.path={csv}", "model.in_features=1")
    # the diabetes dataset names the row itself (before it applies data.positive_label)
    assert result.exit_code == 2 and "row 3: the last column is the label and must be 0 or 1 (got 2)" in result.stderr


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("data.n=-5", "data.n: Input should be greater than 0"),  # refused by its type, before anything is built
        ("data.x_min=5", "data.x_min: dataset 'linear': x_min (5.0) must be below x_max"),  # by the builder
        ("data.weight=1e308", "data.weight: dataset 'linear': the generated targets overflow float32"),
    ],
)
def test_dataset_that_cannot_be_built_is_a_data_error(cli, override, words):
    result = cli("train", CONFIGS / "linear_regression.yaml", override)
    assert result.exit_code == 2 and words in result.stderr, result.stderr


def test_full_disk_keeps_the_previous_checkpoint(cli, runs_dir, monkeypatch):
    from learnai_cli import atomic

    original = atomic.write_atomic
    calls = {"last": 0}

    def fill_disk_on_second_last_pt(path, data):
        if path.name == "last.pt":
            calls["last"] += 1
            if calls["last"] == 2:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return original(path, data)

    monkeypatch.setattr(atomic, "write_atomic", fill_disk_on_second_last_pt)
    monkeypatch.setattr("learnai_cli.engine.checkpoint.write_atomic", fill_disk_on_second_last_pt)
    result = cli("train", CONFIGS / "toy_classes.yaml", "train.epochs=3")
    assert result.exit_code == 1 and "the disk is full" in result.stderr and "learnai train --resume" in result.stderr
    run = next(runs_dir.iterdir())
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["epoch"] == 1
    assert json.loads((run / "meta.json").read_text())["status"] == "failed"


def test_out_of_gpu_memory_suggests_a_batch_size(cli, monkeypatch):
    from learnai_cli.engine import trainer

    def out_of_memory(self):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(trainer.Trainer, "train_one_epoch", out_of_memory)
    result = cli("train", CONFIGS / "toy_classes.yaml", "train.batch_size=6")
    assert result.exit_code == 1 and "out of GPU memory at train.batch_size=6; try train.batch_size=3" in result.stderr


NAN_LOSS_PLUGIN = """
import torch
from torch import nn
from learnai_cli.registry import LOSSES

class NanOnThirdCall(nn.Module):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, outputs, targets):
        self.calls += 1
        loss = nn.functional.mse_loss(outputs, targets)
        return loss * float("nan") if self.calls == 3 else loss

@LOSSES.register("nan_on_third_call")
def nan_on_third_call():
    '''MSE, except the third call returns NaN (tests skip_nonfinite_steps).'''
    return NanOnThirdCall()
"""


def test_skip_nonfinite_steps(cli, tmp_path):
    plugin = tmp_path / "nan_loss.py"
    plugin.write_text(NAN_LOSS_PLUGIN)
    common = [
        "train.epochs=2",
        "data.n=200",
        "train.batch_size=50",
        "loss.name=nan_on_third_call",
        "--plugin",
        str(plugin),
    ]
    skipped = cli.json("train", CONFIGS / "linear_regression.yaml", "train.skip_nonfinite_steps=1", *common)
    # 160 training samples: 4 batches an epoch, 8 in all; the NaN batch is skipped, so 7 steps with finite losses.
    assert skipped["status"] == "completed" and skipped["final"]["step"] == 7
    assert skipped["final"]["train_loss"] < 100
    diverged = cli("train", CONFIGS / "linear_regression.yaml", "train.log_every_steps=1", *common)
    assert diverged.exit_code == 1 and "diverged" in diverged.stderr


def _make_run(root: str, barrier) -> str:
    barrier.wait()
    return RunDir.create(Path(root), "race", now=datetime(2026, 1, 1, 0, 0, 0)).id


@pytest.mark.slow
def test_eight_concurrent_starts_get_eight_directories(tmp_path):
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(8)
        with context.Pool(8) as pool:
            ids = pool.starmap(_make_run, [(str(tmp_path), barrier)] * 8)
    assert len(set(ids)) == 8 and len(os.listdir(tmp_path)) == 8


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("command", [["train"], ["config"], ["sweep", "/dev/zero", "seed=1,2"]])
def test_a_config_that_never_ends_is_refused_after_10_mb(cli, command):
    result = cli(*command, *([] if len(command) > 1 else ["/dev/zero"]))
    assert result.exit_code == 2 and "larger than 10 MB" in result.stderr, result.stderr


def test_a_key_given_twice_on_the_command_line_takes_the_last_as_scripts_layer_them(cli):
    payload = cli.json("config", CONFIGS / "toy_classes.yaml", "train.epochs=4", "seed=1", "train.epochs=5")
    assert payload["config"]["train"]["epochs"] == 5
