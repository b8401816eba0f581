"""An exported model takes the same raw input as `learnai predict`: a CSV run's standardisation and an image run's
normalisation are inside the graph, and every file says what it takes, the class order and what its outputs are."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
import yaml

from tests.conftest import CONFIGS

RAW_ROWS = [[1.0, 15.0], [5.5, 15.0], [3.2, 11.0], [0.2, 19.5]]


@pytest.fixture(scope="module")
def species_run(tmp_path_factory):
    """A standardised CSV classifier whose features are far from zero mean and unit scale (width is 10-20)."""
    from tests.conftest import Cli

    folder = tmp_path_factory.mktemp("species")
    rng = np.random.default_rng(0)
    lines = ["length,width,species"]
    for _ in range(120):
        length, width = rng.uniform(0, 6), rng.uniform(10, 20)
        lines.append(f"{length:.3f},{width:.3f},{'setosa' if length < 3.3 else 'virginica'}")
    (folder / "table.csv").write_text("\n".join(lines) + "\n")
    config = {
        "name": "species",
        "data": {"name": "csv", "path": "table.csv", "target": "species", "val_split": 0.2},
        "model": {"name": "mlp", "in_features": 2, "hidden": [8], "out_features": 2},
        "loss": {"name": "cross_entropy"},
        "optimizer": {"name": "adam", "lr": 0.05},
        "train": {"epochs": 15, "batch_size": 16},
    }
    (folder / "species.yaml").write_text(yaml.safe_dump(config))
    cli = Cli(folder / "runs")
    return cli, cli.json("train", folder / "species.yaml")["run_id"]


def predicted(cli, run_id: str, row: list[float]) -> list[float]:
    top = cli.json("predict", run_id, ",".join(map(str, row)))["top"]
    return [next(p["probability"] for p in top if p["class"] == name) for name in ("setosa", "virginica")]


def onnx_outputs(path: str, inputs: np.ndarray) -> torch.Tensor:
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {session.get_inputs()[0].name: inputs})[0])


def graph_outputs(fmt: str, path: str, inputs: np.ndarray) -> torch.Tensor:
    if fmt == "onnx":
        return onnx_outputs(path, inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        module = torch.export.load(path).module() if fmt == "pt2" else torch.jit.load(path)
    with torch.no_grad():
        return module(torch.from_numpy(inputs))


def file_metadata(fmt: str, path: str) -> dict:
    extra = {"learnai.json": ""}
    if fmt == "onnx":
        import onnx

        return json.loads({p.key: p.value for p in onnx.load(path).metadata_props}["learnai"])
    if fmt == "pt2":
        torch.export.load(path, extra_files=extra)
    elif fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            torch.jit.load(path, _extra_files=extra)
    else:
        from safetensors import safe_open

        with safe_open(path, "pt") as opened:
            return json.loads(opened.metadata()["learnai"])
    return json.loads(extra["learnai.json"])


@pytest.mark.parametrize("fmt", ["pt2", "onnx", "torchscript"])
def test_a_standardised_csv_export_takes_raw_rows_and_answers_as_predict_does(species_run, fmt):
    cli, run_id = species_run
    exported = cli.json("export", run_id, "--format", fmt)
    assert exported["preprocessing"]["kind"] == "standardize" and exported["preprocessing_inside"]
    assert exported["input"].startswith("raw feature rows") and exported["class_names"] == ["setosa", "virginica"]
    rows = np.array(RAW_ROWS, dtype=np.float32)
    probabilities = torch.softmax(graph_outputs(fmt, exported["path"], rows), dim=1)
    for row, answer in zip(RAW_ROWS, probabilities):
        assert answer.tolist() == pytest.approx(predicted(cli, run_id, row), abs=2e-3)  # predict rounds to 3 digits
    described = file_metadata(fmt, exported["path"])
    assert described["preprocessing"] == exported["preprocessing"] and described["outputs"] == "logits"
    assert described["class_names"] == ["setosa", "virginica"] and described["preprocessing_inside"]


def test_a_weights_export_records_the_preprocessing_its_consumer_must_apply(species_run):
    cli, run_id = species_run
    exported = cli.json("export", run_id, "--format", "safetensors")
    described = file_metadata("safetensors", exported["path"])
    assert not described["preprocessing_inside"] and described["preprocessing"]["kind"] == "standardize"
    assert "prepared as `preprocessing` says" in described["input"]
    shown = cli("export", run_id, "--format", "safetensors")
    assert "standardized first: (x - mean) / std" in shown.stdout and "setosa, virginica" in shown.stdout


def test_a_damaged_recorded_statistic_falls_back_to_the_data_as_rebuilt(species_run, tmp_path):
    cli, run_id = species_run
    meta_path = cli.runs_dir / run_id / "meta.json"
    original = meta_path.read_text()
    try:
        meta_path.write_text(json.dumps({**json.loads(original), "standardization": {"mean": "x", "std": [0]}}))
        exported = cli.json("export", run_id, "--format", "pt2")
        assert exported["preprocessing"]["kind"] == "standardize" and exported["preprocessing"]["std"][0] > 0
    finally:
        meta_path.write_text(original)


def test_an_mnist_export_takes_pixels_in_zero_one_and_normalises_them_itself(cli, runs_dir, mnist_root):
    from learnai_cli import rundir
    from learnai_cli.commands.evaluate import load_trained

    tiny = (f"data.root={mnist_root}", "data.val_split=20", "train.epochs=1", "train.limit_batches=2")
    run_id = cli.json("train", CONFIGS / "mnist_cnn.yaml", *tiny)["run_id"]
    exported = cli.json("export", run_id, "--format", "onnx")
    assert exported["preprocessing"] == {
        "kind": "normalize",
        "input": "28x28 images, 1 channel (grayscale) first, pixel values in [0, 1]",
        "mean": [0.1307],
        "std": [0.3081],
    }
    experiment, _, _ = load_trained(rundir.resolve(runs_dir, run_id))
    normalised = next(iter(experiment.batches("val")))[0][:3].cpu()
    pixels = normalised * 0.3081 + 0.1307  # what ToTensor gives for those images
    with torch.no_grad():
        expected = experiment.model.cpu().eval()(normalised)
    torch.testing.assert_close(onnx_outputs(exported["path"], pixels.numpy()), expected, rtol=1e-3, atol=1e-4)


def test_a_run_without_preprocessing_says_its_inputs_are_taken_as_they_are(cli):
    run_id = cli.json("train", CONFIGS / "linear_regression.yaml", "train.epochs=2")["run_id"]
    exported = cli.json("export", run_id)
    assert exported["preprocessing"] is None and exported["input"] == "the model's inputs as they are"
    assert file_metadata("pt2", exported["path"])["preprocessing"] is None
