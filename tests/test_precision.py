"""train.precision: auto records what ran (fp32 on CPU), an explicit precision the model cannot run under is a config
error before any run directory exists, and a run trained on CUDA evaluates on a machine without one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import CONFIGS, Cli

TOY = CONFIGS / "toy_classes.yaml"

NO_AUTOCAST_MODEL = (
    "import torch\n"
    "from torch import nn\n"
    "from learnai_cli.registry import MODELS\n\n"
    "class Exact(nn.Linear):\n"
    "    def forward(self, x):\n"
    "        if torch.is_autocast_enabled(x.device.type):\n"
    "            raise RuntimeError('exact_head needs full precision')\n"
    "        return super().forward(x)\n\n"
    "@MODELS.register('exact_head')\n"
    "def exact_head(n_in: int = 2, n_out: int = 3):\n"
    "    '''A linear layer that refuses to run under autocast.'''\n"
    "    return Exact(n_in, n_out)\n"
)


def test_auto_precision_is_recorded_as_what_ran(cli):
    payload = cli.json("train", TOY, "train.epochs=1")
    import torch

    recorded = yaml.safe_load((Path(payload["run_dir"]) / "config.yaml").read_text())
    on_gpu = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    assert recorded["train"]["precision"] == ("bf16" if on_gpu else "fp32")  # auto: bf16 on CUDA, fp32 on a CPU


def test_an_explicit_precision_the_model_cannot_run_under_is_a_config_error(tmp_path, cli, runs_dir):
    (tmp_path / "exact.py").write_text(NO_AUTOCAST_MODEL)
    config = yaml.safe_load(TOY.read_text())
    config["plugins"] = ["exact.py"]
    config["model"] = {"name": "exact_head", "n_in": 2, "n_out": 3}
    path = tmp_path / "exact.yaml"
    path.write_text(yaml.safe_dump(config))
    refused = cli("train", path, "train.precision=bf16")
    assert refused.exit_code == 2
    assert "train.precision: bf16: model 'exact_head'" in refused.stderr
    assert "exact_head needs full precision" in refused.stderr and "train.precision=fp32" in refused.stderr
    assert not runs_dir.exists()
    assert cli.json("train", path, "train.precision=auto", "train.epochs=1")["status"] == "completed"


def test_a_run_trained_on_cuda_evaluates_where_there_is_none(cli, caplog):
    import torch

    payload = cli.json("train", TOY, "train.epochs=1", "device=cpu")
    config_path = Path(payload["run_dir"]) / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config_path.write_text(yaml.safe_dump({**config, "device": "cuda"}))  # as a GPU machine would have written it
    result = cli("eval", payload["run_id"], "--json")
    if torch.cuda.is_available():
        assert result.exit_code == 0  # it runs on the GPU
        return
    assert result.exit_code == 0, result.stderr
    assert "trained on cuda; no CUDA here, so it runs on the CPU" in caplog.text
    assert json.loads(result.stdout)["metrics"]["accuracy"] >= 0
    named = cli("eval", payload["run_id"], "--device", "cuda")
    assert named.exit_code == 2 and "CUDA is not available" in named.stderr
    bad = cli("eval", payload["run_id"], "--device", "gpu")
    assert bad.exit_code == 2 and "--device 'gpu'" in bad.stderr


@pytest.fixture(scope="module")
def device_cli(tmp_path_factory) -> tuple[Cli, str]:
    cli = Cli(tmp_path_factory.mktemp("devices") / "runs")
    return cli, cli.json("train", TOY, "train.epochs=1", "device=cpu")["run_id"]


@pytest.mark.parametrize("command", ["eval", "predict"])
@pytest.mark.parametrize("device", ["gpu", "mps", "cuda:x", "cuda:-1", "cpu ", "", "xla", "meta"])
def test_a_device_flag_learnai_cannot_use_is_refused_in_the_flags_own_terms(device_cli, command, device):
    cli, toy_run = device_cli
    arguments = [toy_run] + (["0.5,0.5"] if command == "predict" else [])
    result = cli(command, *arguments, "--device", device)
    assert result.exit_code == 2, result.stderr
    assert "--device" in result.stderr and "auto, cpu, cuda or cuda:N" in result.stderr, result.stderr
    assert "config.yaml" not in result.stderr and "device=" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["eval", "predict"])
def test_device_cuda_without_cuda_advises_the_flag(device_cli, command):
    cli, toy_run = device_cli
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    arguments = [toy_run] + (["0.5,0.5"] if command == "predict" else [])
    result = cli(command, *arguments, "--device", "cuda")
    assert result.exit_code == 2 and "CUDA is not available here; use --device cpu" in result.stderr, result.stderr


@pytest.mark.parametrize("native", [False, True])
def test_bf16_on_a_cpu_without_bf16_instructions_is_said_to_be_emulated(cli, mnist_root, monkeypatch, caplog, native):
    """torch.cpu's instruction checks stand in for the CPU (CI's may have them or not): without them, bf16 autocast
    is emulated and several times slower than fp32, which the run says with the override."""
    import torch

    for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.setattr(torch.cpu, name, lambda: native)
    result = cli("train", CONFIGS / "mnist_cnn.yaml", f"data.root={mnist_root}", "data.val_split=20", "train.epochs=1")
    assert result.exit_code == 0, result.output
    said = result.output + caplog.text
    assert ("torch emulates bf16" in said and "train.precision=fp32" in said) is not native, said[-2000:]
    settings = [f"data.root={mnist_root}", "data.val_split=20", "train.epochs=1", "train.precision=fp32"]
    fp32 = cli("train", CONFIGS / "mnist_cnn.yaml", *settings)
    assert fp32.exit_code == 0 and "torch emulates" not in fp32.output
