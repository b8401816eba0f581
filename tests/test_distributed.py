"""Data-parallel training: 2 CPU processes with gloo under torchrun match a single process with the same global
batch."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import CONFIGS

# 2,000 points -> 1,600 to train: 25 global batches of 64, so no partial batch differs between the two.
SETTINGS = [
    "data.n=2000",
    "train.epochs=3",
    "train.batch_size=64",
    "train.deterministic=true",
    "optimizer.name=sgd",
    "optimizer.lr=0.1",
]


def final(run_dir: Path):
    weights = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["model"]
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return weights, [r for r in records if r["type"] == "epoch"]


def run_learnai(*arguments: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "learnai_cli", *arguments], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.slow
def test_two_processes_match_one_and_resume_exactly(tmp_path, cli):
    """One process (in this one, to save a start-up) vs 2 gloo processes (learnai's launcher), and a 2-process run
    stopped after epoch 1 (started with torchrun itself) then resumed: same weights and losses."""
    import yaml

    train = [str(CONFIGS / "linear_regression.yaml"), *SETTINGS]
    single = cli("train", *train, "--runs-dir", str(tmp_path / "single"))
    assert single.exit_code == 0, single.stderr
    ddp = run_learnai(
        "train",
        *train,
        "--nproc-per-node",
        "2",
        "--master-port",
        "29611",
        "--runs-dir",
        str(tmp_path / "ddp"),
        "--json",
    )
    assert json.loads(ddp.stdout)["status"] == "completed"  # one JSON object: only rank 0 reports

    (single_dir,), (ddp_dir,) = list((tmp_path / "single").iterdir()), list((tmp_path / "ddp").iterdir())
    meta = json.loads((ddp_dir / "meta.json").read_text())
    assert meta["distributed"]["world_size"] == 2 and meta["distributed"]["backend"] == "gloo"
    assert meta["distributed"]["replicas_identical"] is True  # both ranks ended with the same weights
    single_weights, single_epochs = final(single_dir)
    ddp_weights, ddp_epochs = final(ddp_dir)
    for key in single_weights:
        assert torch.allclose(single_weights[key], ddp_weights[key], atol=1e-5), key
    for one, two in zip(single_epochs, ddp_epochs):
        assert one["samples"] == two["samples"] == 1600
        assert two["train_loss"] == pytest.approx(one["train_loss"], rel=1e-4)
        assert two["val_loss"] == pytest.approx(one["val_loss"], rel=1e-4)

    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node=2",
        "--master-port=29612",
        "-m",
        "learnai_cli",
    ]
    stopped_root = tmp_path / "stopped"
    subprocess.run(
        [*torchrun, "train", *train, "train.epochs=1", "--runs-dir", str(stopped_root)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (stopped,) = list(stopped_root.iterdir())
    config = yaml.safe_load((stopped / "config.yaml").read_text())
    config["train"]["epochs"] = 3  # as if the 3-epoch run had been interrupted after its first epoch
    (stopped / "config.yaml").write_text(yaml.safe_dump(config))
    (stopped / "meta.json").write_text(
        json.dumps({**json.loads((stopped / "meta.json").read_text()), "status": "interrupted"})
    )
    run_learnai(
        "train",
        "--resume",
        stopped.name,
        "--nproc-per-node",
        "2",
        "--master-port",
        "29613",
        "--runs-dir",
        str(stopped_root),
    )
    resumed_weights, resumed_epochs = final(stopped)
    assert all(torch.equal(ddp_weights[k], resumed_weights[k]) for k in ddp_weights)
    assert [e["train_loss"] for e in resumed_epochs] == [e["train_loss"] for e in ddp_epochs]


def test_global_batch_must_divide_by_processes(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "learnai_cli",
            "train",
            str(CONFIGS / "linear_regression.yaml"),
            "train.batch_size=63",
            "--nproc-per-node",
            "2",
            "--master-port",
            "29615",
            "--runs-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # refused before torchrun starts: exit 2, one message, none per worker and no torchrun noise
    assert done.returncode == 2 and "must divide by 2" in done.stderr, done.stderr
    assert done.stderr.count("error:") == 1 and "SIGTERM" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_file_backed_dataset_with_a_distributed_sampler(tmp_path):
    from tests.test_images import make_tree

    make_tree(tmp_path / "images", per_class=12)
    config = tmp_path / "images.yaml"
    config.write_text(
        f"name: ddp_images\ndata: {{name: image_folder, root: {tmp_path / 'images'}, image_size: 28, val_split: 4, test_split: 4, memory_budget_mb: 0}}\n"
        "model: {name: basic_cnn, in_channels: 3, num_classes: 2}\nloss: {name: cross_entropy}\noptimizer: {name: sgd}\n"
        "train: {epochs: 2, batch_size: 4}\n"
    )
    done = run_learnai(
        "train",
        str(config),
        "--nproc-per-node",
        "2",
        "--master-port",
        "29616",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--json",
    )
    result = json.loads(done.stdout)
    assert result["status"] == "completed" and result["final"]["samples"] == 16  # 16 images, 8 per rank, a full epoch
    meta = json.loads((Path(result["run_dir"]) / "meta.json").read_text())
    assert meta["distributed"]["replicas_identical"] is True


@pytest.mark.slow
@pytest.mark.parametrize("signum,port", [(signal.SIGINT, None), (signal.SIGTERM, "29621")])
def test_a_stopped_distributed_run_prints_one_json_object_and_a_continue_command_that_keeps_its_launcher(
    tmp_path, signum, port
):
    """Ctrl-C reaches the whole process group (launcher, torchrun, workers); a SIGTERM from a supervisor reaches the
    launcher alone. Either way: exit 130, rank 0's one JSON object, and a continue command with --nproc-per-node."""
    import os
    import shlex
    import time

    launcher = ["--nproc-per-node", "2", *(["--master-port", port] if port else [])]
    # 100 steps an epoch: the first last.pt (the signal's cue) comes soon; 1,000 epochs: the run is still going
    long_run = [str(CONFIGS / "linear_regression.yaml"), "data.n=2000", "train.epochs=1000", "train.batch_size=16"]
    process = subprocess.Popen(
        [sys.executable, "-m", "learnai_cli", "train", *long_run, *launcher, "--runs-dir", str(tmp_path), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    while not list(tmp_path.glob("*/checkpoints/last.pt")) and process.poll() is None:
        time.sleep(0.05)
    if signum == signal.SIGINT:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and len(stdout.strip().splitlines()) == 1, stdout
    payload = json.loads(stdout)
    (run_dir,) = list(tmp_path.iterdir())
    assert payload["run_id"] == run_dir.name and payload["status"] == "interrupted"
    command = next(line for line in payload["error"].splitlines() if line.startswith("continue with: "))
    words = shlex.split(command.removeprefix("continue with: "))
    assert words[:4] == ["learnai", "train", "--resume", run_dir.name] and words[4 : 4 + len(launcher)] == launcher
    assert json.loads((run_dir / "meta.json").read_text())["status"] == "interrupted"


def test_the_continue_command_of_a_job_started_with_torchrun_itself_names_its_processes(monkeypatch):
    from learnai_cli.commands.train.processes import LAUNCH_OPTIONS_ENV, worker_launcher_options

    monkeypatch.delenv(LAUNCH_OPTIONS_ENV, raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert worker_launcher_options() == []  # not distributed: nothing to add
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert worker_launcher_options() == ["--nproc-per-node", "4"]
    for name, value in {
        "WORLD_SIZE": "8",
        "GROUP_RANK": "0",
        "MASTER_ADDR": "10.0.0.5",
        "MASTER_PORT": "29400",
    }.items():
        monkeypatch.setenv(name, value)
    expected = "--nproc-per-node 4 --nnodes 2 --master-addr 10.0.0.5 --master-port 29400"
    assert worker_launcher_options() == expected.split()
