"""`learnai export`: every shipped model family round-trips, the exported file is loaded back and checked on real
inputs of other batch sizes and lengths, and a file that fails its check is never written."""

from __future__ import annotations

import copy
import errno
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import pytest
import torch

from learnai_cli import rundir
from learnai_cli.commands.evaluate import load_trained
from tests.conftest import CONFIGS, REPO, Cli

TINY = ("train.epochs=1", "train.limit_batches=2")
MNIST = ("data.val_split=20", "data.limit=40", "train.batch_size=8", *TINY)
NAMES = ("data.limit=300", "train.batch_size=64", *TINY)
# model family -> (shipped config, overrides that make its run tiny); MNIST ones also get the generated MNIST root.
FAMILIES = {
    "linear_regression": ("linear_regression", "data.n=60", *TINY),
    "logistic_regression": ("logistic_regression", "data.n=60", *TINY),
    "mlp": ("toy_classes", *TINY),
    "basic_cnn": ("mnist_basic_cnn", *MNIST),
    "mnist_cnn": ("mnist_cnn", *MNIST),
    "deep_cnn": ("mnist_deep_cnn", *MNIST),
    "inception_net": ("mnist_inception", *MNIST),
    "residual_net": ("mnist_resnet", *MNIST),
    "char_rnn": ("rnn_hello", *TINY),
    "char_rnn_cell_embedding": ("rnn_hello", "model.cell=rnn_cell", "model.input_mode=embedding", *TINY),
    "char_lstm_2_layers": ("rnn_hello", "model.cell=lstm", "model.num_layers=2", *TINY),
    "name_gru_bidirectional": ("names_gru", "model.hidden=16", *NAMES),
    "name_bilstm_padding": ("bilstm_padding", "model.hidden=8", *NAMES),
}
SLOW_FAMILIES = {"zoo_resnet18": ("zoo_finetune", "data.size=24", "data.image_size=32", "train.batch_size=8", *TINY)}
SEQUENCES = ("name_gru_bidirectional", "name_bilstm_padding")
PLUGIN = """
import torch
from torch import nn

from learnai_cli.registry import MODELS


class Trimming(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(59, 8, padding_idx=0)
        self.head = nn.Linear(8, 18)

    def forward(self, x):
        x = x[:, : int((x != 0).sum(dim=1).max())]  # a Python int: a trace keeps the example's value
        return self.head(self.embedding(x).mean(dim=1))


@MODELS.register("trimming_names")
def trimming_names():
    '''Names averaged over their characters, trimmed to the batch's longest name.'''
    return Trimming()
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory, mnist_root):
    """(cli, run_of): one tiny run per family for the whole module, trained the first time a test asks for it."""
    cli, trained = Cli(tmp_path_factory.mktemp("runs")), {}

    def run_of(family: str) -> str:
        if family not in trained:
            config, *overrides = {**FAMILIES, **SLOW_FAMILIES}[family]
            extra = (f"data.root={mnist_root}",) if config.startswith("mnist") else ()
            payload = cli.json("train", CONFIGS / f"{config}.yaml", *overrides, *extra)
            assert payload["status"] == "completed", payload
            trained[family] = payload["run_id"]
        return trained[family]

    return cli, run_of


def unseen_inputs(cli: Cli, run_id: str):
    """The trained model and real inputs of shapes the export command never checked: a batch of 4 and, for
    sequences, that batch cut to length 3."""
    experiment, _, _ = load_trained(rundir.resolve(cli.runs_dir, run_id))
    inputs = next(iter(experiment.batches("train")))[0]
    inputs = torch.cat([inputs] * 4)[:4].clone()
    batches = [inputs] + ([inputs[:, :3].clone()] if inputs.dim() == 2 and not inputs.is_floating_point() else [])
    return experiment.model.cpu().eval(), batches


def assert_matches(exported_model, cli: Cli, run_id: str) -> None:
    model, batches = unseen_inputs(cli, run_id)
    with torch.no_grad():
        for inputs in batches:
            torch.testing.assert_close(exported_model(inputs), model(inputs), rtol=1e-3, atol=1e-4)


def export(cli: Cli, run_id: str, *args: str) -> dict:
    exported = cli.json("export", run_id, *args)
    assert exported["ok"], exported
    if exported["format"] in ("safetensors", "state_dict"):  # the tensors themselves are compared, no inputs
        assert exported["checked_inputs"] == [] and exported["checked_tensors"] > 0
        assert exported["max_abs_diff"] == 0 and exported["dynamic_dims"] == {}
        return exported
    assert len(exported["checked_inputs"]) == 3 and exported["max_abs_diff"] < 1e-4
    assert [entry["shape"][0] for entry in exported["checked_inputs"]] == [1, 3, 5]  # the example has 2
    return exported


@pytest.mark.parametrize(
    "family", [*FAMILIES, *(pytest.param(family, marks=pytest.mark.slow) for family in SLOW_FAMILIES)]
)
def test_every_shipped_family_round_trips_through_torch_export(runs, family):
    cli, run_of = runs
    exported = export(cli, run_of(family))  # pt2 is the default
    assert exported["format"] == "pt2" and exported["example_input_shape"][0] == 2
    if family.startswith(("char", "name")):
        assert exported["dynamic_dims"] == {"0": "batch", "1": "length"}
        lengths = {entry["shape"][1] for entry in exported["checked_inputs"]}
        assert lengths - {exported["example_input_shape"][1]}  # checked on other lengths than exported with
    if family in SEQUENCES or family == "linear_regression":
        assert_matches(torch.export.load(exported["path"]).module(), cli, run_of(family))


def onnx_runner(path: str):
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda inputs: torch.from_numpy(session.run(None, {name: inputs.numpy()})[0])


def weights_runner(fmt: str, path: str, cli: Cli, run_id: str):
    from safetensors.torch import load_file

    state = load_file(path) if fmt == "safetensors" else torch.load(path, weights_only=True)
    model, _ = unseen_inputs(cli, run_id)
    fresh = copy.deepcopy(model)
    for tensor in fresh.state_dict().values():
        tensor.data.zero_()  # its weights can only come from the file
    fresh.load_state_dict(state)
    return fresh


@pytest.mark.parametrize(
    "family,fmt",
    [
        ("linear_regression", "onnx"),
        *((family, fmt) for family in SEQUENCES for fmt in ("torchscript", "safetensors", "state_dict")),
        *(pytest.param(family, "onnx", marks=pytest.mark.slow) for family in SEQUENCES),
    ],
)
def test_other_formats_round_trip(runs, family, fmt):
    cli, run_of = runs
    run_id = run_of(family)
    exported = export(cli, run_id, "--format", fmt)
    path = exported["path"]
    if fmt == "onnx":
        loaded = onnx_runner(path)
    elif fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            loaded = torch.jit.load(path)
        assert exported["dynamic_dims"] == {"0": "batch", "1": "length"}  # what its check varied, as for pt2
    else:
        loaded = weights_runner(fmt, path, cli, run_id)
    assert_matches(loaded, cli, run_id)


def test_onnx_is_quiet_unless_verbose(runs):
    cli, run_of = runs
    quiet = cli("export", run_of("linear_regression"), "--format", "onnx", "--json")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert len(quiet.stdout.splitlines()) == 1 and json.loads(quiet.stdout)["ok"]
    verbose = cli("export", run_of("linear_regression"), "--format", "onnx", "--verbose", "--json")
    assert verbose.exit_code == 0 and "[torch.onnx]" in verbose.stderr
    assert len(verbose.stdout.splitlines()) == 1  # the exporter's lines never reach stdout, which is --json's


def test_a_mismatching_export_is_exit_1_and_writes_nothing(tmp_path, cli):
    (tmp_path / "trimming.py").write_text(PLUGIN)
    trained = cli.json(
        "train", CONFIGS / "names_gru.yaml", f"plugins=[{tmp_path / 'trimming.py'}]", "model={name: trimming_names}",
        *NAMES,
    )  # fmt: skip
    traced = cli("export", trained["run_id"], "--format", "torchscript", "--json")
    assert traced.exit_code == 1, traced.stdout
    failed = json.loads(traced.stdout)
    assert failed["input"].startswith("input ") and "differs from the trained model on input" in failed["error"]
    assert "nothing written" in traced.stderr and failed["max_abs_diff"] > 1e-4
    export_dir = Path(trained["run_dir"]) / "export"
    assert not export_dir.exists() or not any(export_dir.iterdir())  # no file, no temp file
    refused = cli("export", trained["run_id"])
    assert refused.exit_code == 2 and "cannot be exported to pt2" in refused.stderr
    assert "safetensors, state_dict) always work" in refused.stderr and "Traceback" not in refused.stderr
    assert cli.json("export", trained["run_id"], "--format", "safetensors")["max_abs_diff"] == 0


def test_bad_format_and_help(cli):
    bad = cli("export", "latest", "--format", "tflite")
    assert bad.exit_code == 2 and "pt2, onnx, safetensors, torchscript, state_dict" in bad.stderr
    text = cli("export", "--help").stdout
    assert "deprecated" in text and "learnai[onnx]" in text and "--verbose" in text


def test_every_refusal_is_whole_sentences_even_from_a_wrapped_exporter_error(tmp_path, cli):
    (tmp_path / "untraceable.py").write_text(UNTRACEABLE)
    trained = cli.json(
        "train", CONFIGS / "linear_regression.yaml", f"plugins=[{tmp_path / 'untraceable.py'}]",
        "model={name: untraceable}", "data.n=60", *TINY,
    )  # fmt: skip
    refused = cli("export", trained["run_id"], "--format", "torchscript")
    assert refused.exit_code == 2, refused.stderr
    message = " ".join(refused.stderr.split())
    assert "cannot be exported to torchscript: this layer keeps its state in a Python list that a trace cannot " in (
        message
    )
    assert "follow across calls. Use --format pt2 instead." in message and "Details" not in message
    assert message.endswith("--format pt2 or --format onnx may work.")


UNTRACEABLE = """
import torch
from torch import nn

from learnai_cli.registry import MODELS


class Untraceable(nn.Linear):
    def forward(self, x):
        if torch.jit.is_tracing():
            raise RuntimeError(
                "this layer keeps its state in a Python list that a trace cannot\\n"
                "follow across calls. Use --format pt2 instead.\\n\\nDetails: a long report"
            )
        return super().forward(x)


@MODELS.register("untraceable")
def untraceable():
    '''A linear layer that refuses to be traced.'''
    return Untraceable(1, 1)
"""


@pytest.mark.parametrize("in_the_way", ["export_is_a_file", "export_is_a_broken_link", "target_is_a_folder"])
def test_something_in_the_way_of_the_export_is_exit_2_naming_it(runs, in_the_way):
    cli, run_of = runs
    run_dir = cli.runs_dir / run_of("linear_regression")
    shutil.rmtree(run_dir / "export", ignore_errors=True)
    if in_the_way == "export_is_a_file":
        (run_dir / "export").write_text("not a folder")
        blamed, cause = run_dir / "export", "is a file, not a folder"
    elif in_the_way == "export_is_a_broken_link":
        (run_dir / "export").symlink_to(run_dir / "nowhere")
        blamed, cause = run_dir / "export", "is a symbolic link: learnai never writes a run's files through one"
    else:
        for name in ("model.pt2", "model_state_dict.pt"):
            (run_dir / "export" / name).mkdir(parents=True)
        blamed, cause = run_dir / "export" / "model", "a folder has that name"
    try:
        for fmt in ("pt2", "state_dict"):
            refused = cli("export", run_dir.name, "--format", fmt, "--json")
            assert refused.exit_code == 2 and "Traceback" not in refused.stderr, refused.stderr
            failed = json.loads(refused.stdout)
            assert failed["ok"] is False and failed["exit_code"] == 2
            assert str(blamed) in failed["error"] and cause in failed["error"], failed["error"]
    finally:
        if (run_dir / "export").is_dir() and not (run_dir / "export").is_symlink():
            shutil.rmtree(run_dir / "export")
        else:
            (run_dir / "export").unlink()


@pytest.mark.parametrize("fails", ["folder_creation", "temp_file", "rename"])
def test_a_write_the_system_refuses_is_exit_2_naming_the_path_and_cause(runs, monkeypatch, fails):
    """Permission denied, in each of export's writes (this suite runs as root in CI, where chmod denies nothing,
    so the system's refusal is raised where the write would be)."""
    cli, run_of = runs
    run_dir = cli.runs_dir / run_of("linear_regression")
    shutil.rmtree(run_dir / "export", ignore_errors=True)
    denied = PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    if fails == "folder_creation":
        denied.filename = str(run_dir / "export")
        monkeypatch.setattr(Path, "mkdir", lambda *args, **kwargs: (_ for _ in ()).throw(denied))
    elif fails == "temp_file":
        monkeypatch.setattr(tempfile, "mkstemp", lambda *args, **kwargs: (_ for _ in ()).throw(denied))
    else:
        monkeypatch.setattr(os, "replace", lambda *args: (_ for _ in ()).throw(denied))
    refused = cli("export", run_dir.name, "--format", "state_dict", "--json")
    assert refused.exit_code == 2 and "Traceback" not in refused.stderr, refused.stderr
    failed = json.loads(refused.stdout)
    assert failed["ok"] is False and "Permission denied" in failed["error"]
    assert f"cannot write {run_dir / 'export' / 'model_state_dict.pt'}" in failed["error"]
    monkeypatch.undo()
    assert not (run_dir / "export").exists() or not any((run_dir / "export").iterdir())  # no file, no temp file


def test_check_inputs_say_how_many_samples_the_split_really_has(runs):
    cli, run_of = runs
    exported = export(cli, run_of("char_rnn"), "--format", "torchscript")  # rnn_hello: one val sample
    assert exported["dynamic_dims"] == {"0": "batch", "1": "length"}  # checked at lengths 5 and 2, batches 1-5
    described = [entry["input"] for entry in exported["checked_inputs"]]
    assert described[0].startswith("input 1 (1 sample of the val split, length")
    assert described[1].startswith("input 2 (the val split's 1 sample, repeated 3 times, length")
    assert described[2].startswith("input 3 (the val split's 1 sample, repeated 5 times, length")


def test_weights_formats_need_no_data_and_graph_formats_say_where_it_was_expected(tmp_path, cli):
    data = tmp_path / "diabetes.csv.gz"
    shutil.copy(REPO / "learnai_cli" / "data" / "builtin" / "diabetes.csv.gz", data)
    trained = cli.json("train", CONFIGS / "csv_example.yaml", f"data.path={data}", *TINY)
    data.rename(tmp_path / "moved.csv.gz")
    for fmt in ("safetensors", "state_dict"):
        exported = export(cli, trained["run_id"], "--format", fmt)
        assert exported["checked_tensors"] == 4  # the MLP's two weights and two biases, compared exactly
    human = cli("export", trained["run_id"], "--format", "safetensors")
    assert human.exit_code == 0 and "matched the trained model's 4 tensors exactly" in human.stdout
    assert "is gone" not in human.stderr  # the data is not used, so its absence is not worth a warning
    for fmt in ("pt2", "torchscript"):
        refused = cli("export", trained["run_id"], "--format", fmt)
        assert refused.exit_code == 2 and "Traceback" not in refused.stderr
        assert f"--format {fmt} is checked on real inputs from the run's data" in refused.stderr
        assert f"data.path: {data}" in refused.stderr and "--format safetensors" in refused.stderr


def test_another_checkpoint_is_exported_beside_the_best_and_named(runs, tmp_path):
    cli, run_of = runs
    run_id = run_of("char_rnn")
    run_dir = cli.runs_dir / run_id
    best = export(cli, run_id)
    written = Path(best["path"]).stat().st_ino  # a rewrite (atomic: a new file renamed over it) changes the inode
    last = cli("export", run_id, "--checkpoint", "last")
    assert last.exit_code == 0 and f"wrote {run_dir / 'export' / 'model-last.pt2'} (pt2, from checkpoints/last.pt" in (
        " ".join(last.stdout.split())
    )
    assert Path(best["path"]).name == "model.pt2" and Path(best["path"]).stat().st_ino == written  # not overwritten
    elsewhere = tmp_path / "epoch 7.pt"
    shutil.copy(run_dir / "checkpoints" / "last.pt", elsewhere)
    weights = export(cli, run_id, "--format", "state_dict", "--checkpoint", str(elsewhere))
    assert Path(weights["path"]).name == "model_state_dict-epoch_7.pt" and weights["checkpoint"] == str(elsewhere)
    assert {path.name for path in (run_dir / "export").iterdir()} >= {
        "model.pt2", "model-last.pt2", "model_state_dict-epoch_7.pt",
    }  # fmt: skip
