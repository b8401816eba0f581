"""Hostile configs (issue 11), through the real CLI only: code execution through references (family 1),
values torch rejects (5), plugins that raise (6), custom losses that cannot train (7), and the small holes
of config parsing (10: duplicate keys, merge keys, megabyte values), plus property-based fuzzing.

Every refusal must: exit 2, name the key (or plugin/builder) in its message, print no traceback, create no
run directory and change nothing on disk.
"""

from __future__ import annotations

import math
import re
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.hostile import assert_refused, invoke, snapshot

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]  # a failing example is reported as found: bounded time
TINY_LINEAR = {"data": {"n": 64}, "train": {"epochs": 1, "batch_size": 16}}


# --- helpers -------------------------------------------------------------------------------------------


def merge(base: dict, changes: dict) -> dict:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def write_config(
    folder: Path,
    changes: dict | None = None,
    base: str = "linear_regression",
    name: str = "cfg",
    replace: dict | None = None,
) -> Path:
    """A shipped config made tiny, with `changes` merged in and whole sections swapped for `replace`."""
    raw = yaml.safe_load((CONFIGS / f"{base}.yaml").read_text())
    raw = merge(raw, TINY_LINEAR if base == "linear_regression" else {})
    raw = merge(raw, changes or {})
    raw.update(replace or {})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def assert_no_run(runs_dir: Path) -> None:
    made = sorted(p.name for p in runs_dir.iterdir()) if runs_dir.exists() else []
    assert not made, f"a refused config still left run directories behind: {made}"


# --- family 1: code execution through config references ------------------------------------------------

# References whose construction with the given arguments creates the marker file if they are ever built.
EXECUTING_REFERENCES = [
    ("subprocess:Popen", lambda m: {"args": ["touch", str(m)]}),
    ("subprocess:Popen", lambda m: {"args": f"touch {m}", "shell": True}),
    ("logging:FileHandler", lambda m: {"filename": str(m)}),
    ("zipfile:ZipFile", lambda m: {"file": str(m), "mode": "w"}),
    ("io:FileIO", lambda m: {"file": str(m), "mode": "w"}),
    ("tarfile:TarFile", lambda m: {"name": str(m), "mode": "w"}),
]


@pytest.mark.parametrize("command", ["config", "train"])
@pytest.mark.parametrize(
    "reference,arguments", EXECUTING_REFERENCES, ids=[f"{r}-{i}" for i, (r, _) in enumerate(EXECUTING_REFERENCES)]
)
def test_module_references_without_plugins_are_refused_and_never_executed(cli, tmp_path, command, reference, arguments):
    marker = tmp_path / "pwned"
    config = write_config(tmp_path / "cfg", {"loss": {"name": reference, **arguments(marker)}})
    before = snapshot(tmp_path / "cfg")
    code, output = invoke(cli, command, config)
    time.sleep(0.3)  # a spawned process would have touched the marker by now
    assert not marker.exists(), f"loss.name '{reference}' executed code from a config that names no plugins"
    assert_refused(code, output, ["loss.name"])
    assert_no_run(cli.runs_dir)
    assert snapshot(tmp_path / "cfg") == before


NON_PLUGIN_REFERENCES = [
    "os:system",
    "math:pi",
    "this:s",
    "builtins:eval",
    "builtins:exec",
    "builtins:print",
    "os:getcwd",
    "os:path",
    "shutil:rmtree",
    "subprocess:run",
    "importlib:import_module",
    "pickle:loads",
    "sys:exit",
    "torch.nn.functional:mse_loss",  # harmless, but still a module nobody listed in plugins
    "torch.nn:MSELoss",
]


@pytest.mark.parametrize("reference", NON_PLUGIN_REFERENCES)
def test_references_to_modules_not_named_in_plugins_exit_2(cli, tmp_path, reference):
    config = write_config(tmp_path / "cfg", {"loss": {"name": reference}})
    code, output = invoke(cli, "train", config)
    assert "Beautiful is better than ugly" not in output, "importing `this` ran module code"
    assert_refused(code, output, ["loss.name", reference.split(":")[0]])
    assert_no_run(cli.runs_dir)


def test_a_reference_to_a_module_outside_plugins_is_refused_even_when_other_plugins_are_named(cli, tmp_path):
    marker = tmp_path / "pwned"
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / f"harmless_{uuid.uuid4().hex[:8]}.py").write_text("VALUE = 1\n")
    plugin = next(folder.glob("harmless_*.py")).name
    config = write_config(
        folder, {"plugins": [plugin], "loss": {"name": "subprocess:Popen", "args": ["touch", str(marker)]}}
    )
    code, output = invoke(cli, "config", config)
    time.sleep(0.3)
    assert not marker.exists()
    assert_refused(code, output, ["loss.name"])


LOSS_HELPERS = """
import torch
from subprocess import Popen
from os import system
from torch.nn.functional import mse_loss as imported_mse
from torch.nn import MSELoss as ImportedLoss


def my_loss(outputs, targets):
    return ((outputs - targets) ** 2).mean()


class MyLoss(torch.nn.Module):
    def forward(self, outputs, targets):
        return ((outputs - targets) ** 2).mean()
"""


def _helpers(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    name = f"losses_{uuid.uuid4().hex[:8]}.py"
    (folder / name).write_text(LOSS_HELPERS)
    return name


@pytest.mark.parametrize("attribute", ["my_loss", "MyLoss"])
def test_a_function_or_class_defined_in_a_file_beside_the_config_stays_allowed(cli, tmp_path, attribute):
    folder = tmp_path / "cfg"
    helpers = _helpers(folder)
    config = write_config(folder, {"loss": {"name": f"{helpers}:{attribute}"}})
    code, output = invoke(cli, "config", config)
    assert "Traceback" not in output and code == 0, output[-3000:]


@pytest.mark.parametrize("attribute", ["Popen", "system", "imported_mse", "ImportedLoss", "torch"])
def test_objects_a_loss_file_merely_imported_are_refused(cli, tmp_path, attribute):
    folder = tmp_path / "cfg"
    helpers = _helpers(folder)
    marker = tmp_path / "pwned"
    extra = {"args": ["touch", str(marker)]} if attribute == "Popen" else {}
    config = write_config(folder, {"loss": {"name": f"{helpers}:{attribute}", **extra}})
    code, output = invoke(cli, "train", config)
    time.sleep(0.3)
    assert not marker.exists(), f"{helpers}:{attribute} (imported, not defined there) was built"
    assert_refused(code, output, ["loss.name", attribute])
    assert_no_run(cli.runs_dir)


@pytest.mark.parametrize("attribute,allowed", [("my_loss", True), ("Popen", False), ("imported_mse", False)])
def test_module_named_in_plugins_allows_only_what_it_defines(cli, tmp_path, monkeypatch, attribute, allowed):
    folder = tmp_path / "pkg"
    module = f"hostile_mod_{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    (folder / f"{module}.py").write_text(LOSS_HELPERS)
    monkeypatch.syspath_prepend(str(folder))
    marker = tmp_path / "pwned"
    extra = {"args": ["touch", str(marker)]} if attribute == "Popen" else {}
    config = write_config(tmp_path / "cfg", {"plugins": [module], "loss": {"name": f"{module}:{attribute}", **extra}})
    code, output = invoke(cli, "config", config)
    time.sleep(0.3 if attribute == "Popen" else 0)
    assert not marker.exists()
    if allowed:
        assert "Traceback" not in output and code == 0, output[-3000:]
    else:
        assert_refused(code, output, ["loss.name", attribute])


# --- family 5: values torch rejects ---------------------------------------------------------------------

TORCH_REJECTS = [
    (["optimizer.lr=-0.1"], "optimizer.lr"),
    (["optimizer.lr=.nan"], "optimizer.lr"),
    (["optimizer.lr=-.inf"], "optimizer.lr"),
    (["optimizer.name=sgd", "optimizer.lr=-1.0"], "optimizer.lr"),
    (["optimizer.name=manual_sgd", "optimizer.lr=-1.0"], "optimizer.lr"),
    (["optimizer.name=rmsprop", "optimizer.lr=.nan"], "optimizer.lr"),
    (["optimizer.betas=[1.5, 0.999]"], "optimizer.betas"),
    (["optimizer.betas=[0.9, -0.1]"], "optimizer.betas"),
    (["optimizer.name=adamw", "optimizer.betas=[0.9, 1.0]"], "optimizer.betas"),
    (["optimizer.eps=-1.0"], "optimizer.eps"),
    (["optimizer.weight_decay=-1.0"], "optimizer.weight_decay"),
    (["optimizer.name=sgd", "optimizer.momentum=-0.5"], "optimizer.momentum"),
    (["optimizer.name=rmsprop", "optimizer.momentum=-0.5"], "optimizer.momentum"),
    (["optimizer.name=sgd", "optimizer.nesterov=true"], "optimizer.nesterov"),
    (["optimizer.name=sgd", "optimizer.nesterov=true", "optimizer.momentum=0.0"], "optimizer.nesterov"),
    (["optimizer.name=rmsprop", "optimizer.alpha=-1.0"], "optimizer.alpha"),
    (["optimizer.name=adadelta", "optimizer.rho=1.5"], "optimizer.rho"),
    (["scheduler.name=reduce_on_plateau", "scheduler.factor=1.0"], "scheduler.factor"),
    (["scheduler.name=reduce_on_plateau", "scheduler.factor=2.5"], "scheduler.factor"),
    (["scheduler.name=step", "scheduler.step_size=0"], "scheduler.step_size"),
    (["scheduler.name=step", "scheduler.step_size=-3"], "scheduler.step_size"),
    ([f"train.threads={2**63}"], "train.threads"),
    ([f"train.threads={2**64 + 1}"], "train.threads"),
    (["device=cuda:99999"], "device"),
    (["device=cuda:99999999999999999999999999999"], "device"),
    (["train.epochs=" + "1" * 400, "train.max_steps=1"], "train.epochs"),
    (["train.batch_size=" + str(10**30), "train.max_steps=1"], "train.batch_size"),
    (["train.eval_batch_size=" + str(10**30), "train.max_steps=1"], "train.eval_batch_size"),
]


@pytest.mark.parametrize("overrides,key", TORCH_REJECTS, ids=[" ".join(o)[:60] for o, _ in TORCH_REJECTS])
def test_values_torch_rejects_exit_2_naming_the_key_with_no_run_dir(cli, tmp_path, overrides, key):
    config = write_config(tmp_path / "cfg")
    code, output = invoke(cli, "train", config, *overrides)
    assert_refused(code, output, [key])
    assert_no_run(cli.runs_dir)


@pytest.mark.parametrize(
    "overrides,key",
    [
        (["optimizer.lr=-0.1"], "optimizer.lr"),
        (["optimizer.betas=[1.5, 0.999]"], "optimizer.betas"),
        (["scheduler.name=reduce_on_plateau", "scheduler.factor=1.0"], "scheduler.factor"),
        ([f"train.threads={2**63}"], "train.threads"),
        (["train.epochs=" + "1" * 400], "train.epochs"),
        (["train.batch_size=" + str(10**30)], "train.batch_size"),
    ],
)
def test_learnai_config_refuses_the_same_values(cli, tmp_path, overrides, key):
    config = write_config(tmp_path / "cfg")
    code, output = invoke(cli, "config", config, *overrides)
    assert_refused(code, output, [key])


def _yaml_float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return "-.inf" if value < 0 else ".inf"
    return repr(float(value))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], phases=NO_SHRINK)
@given(
    optimizer=st.sampled_from(["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "manual_sgd"]),
    lr=st.one_of(st.floats(max_value=-1e-12, allow_nan=False), st.just(math.nan)),
)
def test_property_a_negative_or_nan_learning_rate_is_a_config_error(cli, optimizer, lr):
    with tempfile.TemporaryDirectory() as scratch:
        config = write_config(Path(scratch), {"optimizer": {"name": optimizer, "lr": lr}})
        code, output = invoke(cli, "config", config)
    assert_refused(code, output, ["optimizer.lr"])


# --- family 6: plugins that raise -------------------------------------------------------------------------

RAISES = {
    "KeyError": "raise KeyError('{tag}')",
    "AssertionError": "assert False, '{tag}'",
    "FileNotFoundError": "open('/nonexistent/{tag}')",
    "ZeroDivisionError": "raise ZeroDivisionError('{tag}')",
    "SystemExit": "raise SystemExit('{tag}')",
}

BUILDERS = {  # where: (registration, signature, config section)
    "model": ("MODELS.register('{name}')", "def build(n_in: int = 1):", "model"),
    "dataset": ("DATASETS.register('{name}', task='regression')", "def build(seed: int = 0):", "data"),
    "loss": ("LOSSES.register('{name}')", "def build():", "loss"),
    "optimizer": ("OPTIMIZERS.register('{name}')", "def build(params, lr: float = 0.1):", "optimizer"),
    "scheduler": ("SCHEDULERS.register('{name}', interval='epoch')", "def build(optimizer):", "scheduler"),
}


def _plugin_config(folder: Path, where: str, exception: str) -> tuple[Path, str, str, str]:
    """A plugin file beside the config that raises `exception` at import or in one builder the config names."""
    tag = f"kaboom-{uuid.uuid4().hex[:8]}"
    name = f"hostile_{uuid.uuid4().hex[:8]}"  # registries are process-wide: every test registers a new name
    plugin = f"plugin_{uuid.uuid4().hex[:8]}.py"
    statement = RAISES[exception].format(tag=tag)
    folder.mkdir(parents=True, exist_ok=True)
    replace = {}
    if where == "import":
        source = f"import math\n{statement}\n"
    else:
        decorator, signature, section = BUILDERS[where]
        source = (
            "from learnai_cli.registry import MODELS, DATASETS, LOSSES, OPTIMIZERS, SCHEDULERS\n\n"
            f"@{decorator.format(name=name)}\n{signature}\n"
            '    """A builder that fails."""\n'
            f"    {statement}\n"
        )
        replace = {section: {"name": name}}
    (folder / plugin).write_text(source)
    return write_config(folder, {"plugins": [plugin]}, replace=replace), plugin, name, tag


@pytest.mark.parametrize("exception", list(RAISES))
@pytest.mark.parametrize("where", ["import", *BUILDERS])
def test_plugin_errors_exit_2_naming_the_plugin_or_builder_and_the_message(cli, tmp_path, where, exception):
    config, plugin, name, tag = _plugin_config(tmp_path / "cfg", where, exception)
    before = snapshot(tmp_path / "cfg")
    code, output = invoke(cli, "train", config)
    who = plugin if where == "import" else (name, plugin)
    assert_refused(code, output, [who, tag])
    assert_no_run(cli.runs_dir)
    assert snapshot(tmp_path / "cfg") == before


# --- family 7: custom losses that cannot train ------------------------------------------------------------

SCALAR = ("scalar", "tensor")
BAD_LOSSES = [
    ("float", "def bad(outputs, targets):\n    return 1.0\n", SCALAR),
    ("int", "def bad(outputs, targets):\n    return 3\n", SCALAR),
    ("none", "def bad(outputs, targets):\n    return None\n", SCALAR),
    ("string", "def bad(outputs, targets):\n    return 'loss'\n", SCALAR),
    ("vector", "def bad(outputs, targets):\n    return (outputs - targets) ** 2\n", ("scalar",)),
    ("matrix", "def bad(outputs, targets):\n    return outputs @ targets.T\n", ("scalar",)),
    ("detached", "def bad(outputs, targets):\n    return ((outputs - targets) ** 2).mean().detach()\n", ("grad",)),
    ("constant", "def bad(outputs, targets):\n    return torch.tensor(0.5)\n", ("grad",)),
    ("nan", "def bad(outputs, targets):\n    return ((outputs - targets) ** 2).mean() * float('nan')\n", ("finite",)),
    ("inf", "def bad(outputs, targets):\n    return ((outputs - targets) ** 2).mean() + float('inf')\n", ("finite",)),
    (
        "module_vector",
        "class bad(torch.nn.Module):\n    def forward(self, outputs, targets):\n        return (outputs - targets).abs()\n",
        ("scalar",),
    ),
]


@pytest.mark.parametrize("command", ["train", "config"])
@pytest.mark.parametrize("case,body,check", BAD_LOSSES, ids=[c for c, _, _ in BAD_LOSSES])
def test_custom_losses_that_cannot_train_exit_2_before_any_run_dir(cli, tmp_path, command, case, body, check):
    folder = tmp_path / "cfg"
    folder.mkdir()
    loss_file = f"loss_{case}_{uuid.uuid4().hex[:8]}.py"
    (folder / loss_file).write_text("import torch\n\n" + body)
    config = write_config(folder, {"loss": {"name": f"{loss_file}:bad"}})
    code, output = invoke(cli, command, config)
    assert_refused(code, output, [("loss", loss_file), check])
    assert_no_run(cli.runs_dir)


# --- family 10: YAML holes and megabyte values -------------------------------------------------------------

BASE_TEXT = """name: dup
data:
  name: linear
  n: 64
model:
  name: linear_regression
loss:
  name: mse
optimizer:
  name: adam
  lr: 0.05
train:
  epochs: 1
"""

DUPLICATES = [
    ("top-level section", BASE_TEXT + "optimizer:\n  name: sgd\n", "optimizer", (9, 14)),
    ("nested key", BASE_TEXT.replace("  lr: 0.05\n", "  lr: 0.05\n  lr: 5.0\n"), "lr", (11, 12)),
    ("name", BASE_TEXT.replace("name: dup\n", "name: dup\nname: other\n"), "name", (1, 2)),
    ("train key", BASE_TEXT + "  epochs: 3\n", "epochs", (13, 14)),
]


@pytest.mark.parametrize("case,text,key,lines", DUPLICATES, ids=[d[0] for d in DUPLICATES])
@pytest.mark.parametrize("command", ["config", "train"])
def test_duplicate_yaml_keys_are_refused_naming_the_key_and_line(cli, tmp_path, command, case, text, key, lines):
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    code, output = invoke(cli, command, path)
    assert_refused(code, output, [key, "duplicate"])
    found = [int(n) for n in re.findall(r"line (\d+)", output)]
    assert any(n in lines for n in found), f"no 'line {lines[0]}' or 'line {lines[1]}' in:\n{output[-2000:]}"
    assert_no_run(cli.runs_dir)


@pytest.mark.parametrize("value", ["5", "[1, 2]", "text", "null", "[{a: 1}, 3]"])
def test_a_merge_key_with_a_non_mapping_is_reported_as_a_merge_problem(cli, tmp_path, value):
    path = tmp_path / "merge.yaml"
    path.write_text(BASE_TEXT.replace("train:\n", f"train:\n  <<: {value}\n"))
    code, output = invoke(cli, "config", path)
    assert_refused(code, output, [("merge", "<<"), "line"])
    assert "build python objects" not in output.lower(), "a bad merge key is not a Python-object tag"


def test_a_valid_merge_key_still_works(cli, tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text(BASE_TEXT.replace("train:\n  epochs: 1\n", "train:\n  <<: {epochs: 1, batch_size: 8}\n"))
    code, output = invoke(cli, "config", path)
    assert "Traceback" not in output and code == 0, output[-3000:]


MEGABYTE = "x" * 1_000_000
HUGE_VALUES = [
    ("override value of a name", ["optimizer.name=" + MEGABYTE]),
    ("override value of the run name", ["name=" + MEGABYTE]),
    ("override of a loss reference", ["loss.name=" + MEGABYTE + ":f"]),
    ("override key", [MEGABYTE + "=1"]),
    ("override nested key", ["train." + MEGABYTE + "=1"]),
    ("override of a number with a megabyte of digits", ["train.epochs=" + "9" * 1_000_000]),
    ("override of a device", ["device=" + MEGABYTE]),
    ("override of a list", ["model.hidden=[" + ",".join(["1"] * 20_000) + "]"]),
]


@pytest.mark.parametrize("case,overrides", HUGE_VALUES, ids=[c for c, _ in HUGE_VALUES])
def test_a_megabyte_value_is_not_echoed_back_in_full(cli, tmp_path, case, overrides):
    config = write_config(tmp_path / "cfg")
    code, output = invoke(cli, "config", config, *overrides)
    assert "Traceback" not in output, output[:3000]
    assert code == 2, output[:3000]
    assert len(output) < 5000, f"{len(output):,} characters of output for a bad value"


def test_a_megabyte_value_in_the_file_is_not_echoed_back(cli, tmp_path):
    config = write_config(tmp_path / "cfg", {"name": MEGABYTE, "optimizer": {"name": MEGABYTE}})
    code, output = invoke(cli, "train", config)
    assert "Traceback" not in output and code == 2, output[:3000]
    assert len(output) < 5000, f"{len(output):,} characters of output"
    assert_no_run(cli.runs_dir)


@pytest.mark.parametrize("command", ["eval", "show", "plot", "rm"])
def test_a_megabyte_run_id_is_not_echoed_back(cli, command):
    code, output = invoke(cli, command, "2026" + MEGABYTE)
    assert "Traceback" not in output and code == 2, output[:3000]
    assert len(output) < 5000, f"{len(output):,} characters of output"


# --- property-based fuzzing of overrides and config files ---------------------------------------------------

FUZZ_KEYS = [
    "optimizer.lr",
    "optimizer.betas",
    "optimizer.name",
    "loss.name",
    "scheduler.name",
    "train.epochs",
    "train.batch_size",
    "train.precision",
    "train.monitor",
    "data.val_split",
    "name",
    "device",
    "seed",
]
HOSTILE_TEXTS = [
    "",
    "[]",
    "{}",
    "null",
    ".nan",
    "-.inf",
    "1e999",
    "-1",
    "0",
    "9" * 400,
    "9" * 5000,
    "!!python/object/apply:os.system ['true']",
    "*a",
    "&a [*a]",
    "{<<: 5}",
    "subprocess:Popen",
    "os:system",
    "../../etc/passwd",
    "\x00",
    "\udcff",
    "[[[[[[[[[[]]]]]]]]]]",
    "cuda:" + "9" * 30,
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], phases=NO_SHRINK)
@given(
    key=st.sampled_from(FUZZ_KEYS),
    value=st.one_of(
        st.sampled_from(HOSTILE_TEXTS),
        st.text(max_size=40),
        st.integers().map(str),
        st.floats().map(_yaml_float),
    ),
)
def test_property_no_override_value_gives_a_traceback(cli, tmp_path, key, value):
    config = tmp_path / "cfg.yaml"
    if not config.exists():
        write_config(tmp_path, name="cfg")
    code, output = invoke(cli, "config", config, f"{key}={value}")
    assert "Traceback" not in output, f"{key}={value!r}:\n{output[-3000:]}"
    assert code in (0, 2), f"{key}={value!r}: exit {code}\n{output[-3000:]}"
    assert len(output) < 20_000
    if code == 2:
        assert key.split(".")[0] in output or "override" in output, f"{key}={value!r}:\n{output[-3000:]}"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], phases=NO_SHRINK)
@given(
    content=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
)
def test_property_arbitrary_config_bytes_exit_2_without_traceback(cli, tmp_path, content):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(content)
    code, output = invoke(cli, "config", path)
    assert "Traceback" not in output, f"{content!r}:\n{output[-3000:]}"
    assert code == 2, f"{content!r}: exit {code}\n{output[-3000:]}"
    assert not cli.runs_dir.exists()


# --- family 12: model sizes, true/false where a number goes, union members, mode against the monitor --------

MODEL_SIZES = [  # every shipped model's size arguments are bounded: zero or negative is refused naming the key
    ("toy_classes", "model.hidden=[0]", "model.hidden.0"),
    ("toy_classes", "model.hidden=[5,0]", "model.hidden.1"),
    ("toy_classes", "model.hidden=-3", "model.hidden"),
    ("toy_classes", "model.out_features=0", "model.out_features"),
    ("toy_classes", "model.dropout=1.5", "model.dropout"),
    ("linear_regression", "model.n_out=0", "model.n_out"),
    ("logistic_regression", "model.n_in=-1", "model.n_in"),
    ("rnn_hello", "model.hidden=0", "model.hidden"),
    ("rnn_hello", "model.num_layers=0", "model.num_layers"),
    ("rnn_hello", "model.embedding_dim=-8", "model.embedding_dim"),
    ("names_gru", "model.num_classes=0", "model.num_classes"),
    ("mnist_cnn", "model.channels=[16,0]", "model.channels.1"),
    ("mnist_deep_cnn", "model.hidden=[0]", "model.hidden.0"),
    ("mnist_inception", "model.branch=0", "model.branch"),
    ("mnist_resnet", "model.image_size=0", "model.image_size"),
]


@pytest.mark.parametrize("base,override,key", MODEL_SIZES, ids=[f"{b} {o}" for b, o, _ in MODEL_SIZES])
def test_model_sizes_below_one_are_config_errors_naming_the_key(cli, base, override, key):
    code, output = invoke(cli, "train", CONFIGS / f"{base}.yaml", override, "train.epochs=1")
    assert_refused(code, output, [f"{key}:", ("greater than", "less than")])
    assert_no_run(cli.runs_dir)


def test_learnai_list_shows_the_bounds_of_model_sizes(cli):
    shown = cli("list", "models").stdout
    assert "hidden: Union[PositiveCount, list[PositiveCount]]" in shown and "n_out: PositiveCount = 1" in shown


def test_a_plugin_model_with_a_zero_width_layer_still_trains(cli, tmp_path):
    """A user's model may have an empty layer; counting its work for train.threads auto must not fail on it."""
    name = f"odd_{uuid.uuid4().hex[:8]}"  # registries are process-wide: every test registers a new name
    (tmp_path / "odd.py").write_text(
        "from torch import nn\nfrom learnai_cli.registry import MODELS\n\n"
        "class Odd(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.empty, self.head = nn.Linear(1, 0), nn.Linear(1, 1)\n\n"
        "    def forward(self, x):\n"
        "        return self.head(x) + self.empty(x).sum()\n\n"
        f"@MODELS.register('{name}')\n"
        "def odd():\n"
        '    """A model with an empty layer."""\n'
        "    return Odd()\n"
    )
    config = write_config(tmp_path, {"plugins": ["odd.py"]}, replace={"model": {"name": name}})
    code, output = invoke(cli, "train", config, "--json")
    assert code == 0, output[-3000:]


BOOLEANS_AS_NUMBERS = [
    ("train.epochs=yes", "train.epochs"),
    ("train.epochs=true", "train.epochs"),
    ("train.batch_size=on", "train.batch_size"),
    ("seed=no", "seed"),
    ("train.threads=true", "train.threads"),
    ("data.limit=off", "data.limit"),
    ("model.n_in=true", "model.n_in"),
    ("scheduler.name=step", "scheduler.step_size=yes"),
]


@pytest.mark.parametrize("override,key", BOOLEANS_AS_NUMBERS)
def test_true_or_false_where_a_whole_number_goes_is_refused(cli, override, key):
    extra = [key] if "=" in key else []
    code, output = invoke(cli, "config", CONFIGS / "linear_regression.yaml", override, *extra)
    named = key.split("=")[0]
    assert_refused(code, output, [f"{named}:", "true/false"])


def test_a_boolean_for_a_plugin_builders_int_argument_is_refused(cli, tmp_path):
    name = f"sized_{uuid.uuid4().hex[:8]}"
    (tmp_path / "sized.py").write_text(
        "from typing import Optional\nfrom torch import nn\nfrom learnai_cli.registry import MODELS\n\n"
        f"@MODELS.register('{name}')\n"
        "def sized(n_in: int = 1, extra: Optional[list[int]] = None):\n"
        '    """A linear model with an unused list argument."""\n'
        "    return nn.Linear(n_in, 1)\n"
    )
    config = write_config(tmp_path, {"plugins": ["sized.py"]}, replace={"model": {"name": name, "extra": [1, True]}})
    code, output = invoke(cli, "config", config)
    assert_refused(code, output, ["model.extra.1:", "true/false"])


@pytest.mark.parametrize("text,value", [("1e6", 1000000), ("2e3", 2000), ("1.5e1", 15)])
def test_exponent_numbers_are_numbers_as_in_yaml_1_2(cli, text, value):
    """PyYAML reads 1e6 as text; a learner means a number (YAML 1.2), for whole numbers too when they are whole."""
    result = cli.json("config", CONFIGS / "linear_regression.yaml", f"train.epochs={text}", f"optimizer.lr={text}")
    result = result["config"]
    assert result["train"]["epochs"] == value and result["optimizer"]["lr"] == value


@pytest.mark.parametrize(
    "override,expected",
    [
        ("train.threads=abc", "train.threads: Input should be 'auto' or a valid integer"),
        ("train.threads=0", "train.threads: Input should be 'auto' or greater than 0"),
        ("train.compile=fast", "train.compile: Input should be a valid boolean"),
        ("model.hidden=[true]", "model.hidden.0: expected a whole number"),
    ],
)
def test_a_union_is_one_message_naming_the_key_only(cli, override, expected):
    base = "toy_classes" if override.startswith("model") else "linear_regression"
    code, output = invoke(cli, "config", CONFIGS / f"{base}.yaml", override)
    assert_refused(code, output, [expected])
    assert not re.search(r"literal\[|constrained-int|function-after|\.int:|\.list\[", output), output


def test_the_override_named_is_the_one_for_the_key(cli):
    code, output = invoke(cli, "config", CONFIGS / "linear_regression.yaml", "train=1", "train.epochs=1")
    assert_refused(code, output, ["train: is a section"])
    assert "train: is a section (keys such as epochs" in output and "[from override 'train=1']" in output
    assert "'train' is 1, a whole number, not a section" in output  # not Python's "is a int"


@pytest.mark.parametrize("monitor,expected", [("val_accuracy", "max"), ("val_loss", "min"), ("train_loss", "min")])
def test_train_mode_follows_the_monitor_when_not_given(cli, tmp_path, monitor, expected):
    raw = yaml.safe_load((CONFIGS / "toy_classes.yaml").read_text())
    raw["train"] = {k: v for k, v in raw["train"].items() if k != "mode"} | {"monitor": monitor}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert cli.json("config", path)["config"]["train"]["mode"] == expected


@pytest.mark.parametrize(
    "base,overrides,wrong",
    [
        ("toy_classes", ["train.mode=min"], "'min' would keep the checkpoint with the lowest val_accuracy"),
        ("toy_classes", ["train.monitor=val_loss"], "'max' would keep the checkpoint with the highest val_loss"),
        ("linear_regression", ["train.mode=max"], "'max' would keep the checkpoint with the highest val_loss"),
        ("linear_regression", ["train.monitor=val_mae", "train.mode=max"], "highest val_mae"),
    ],
)
def test_a_mode_that_keeps_the_worst_checkpoint_is_refused(cli, base, overrides, wrong):
    code, output = invoke(cli, "train", CONFIGS / f"{base}.yaml", *overrides)
    assert_refused(code, output, ["train.mode:", wrong])
    assert_no_run(cli.runs_dir)
