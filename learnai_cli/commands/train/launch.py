"""`learnai train --nproc-per-node N`: the config (or the run to resume) checked once in this process, then the
same command relaunched under torch.distributed.run, one process per GPU (or CPU process)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

from learnai_cli.commands.train.processes import (
    DISTRIBUTED_FLAGS,
    LAUNCH_OPTIONS_ENV,
    Processes,
    launcher_options,
)
from learnai_cli.errors import ConfigError, UsageError


def check_before_launch(
    config_path: Optional[Path],
    overrides: list[str],
    plugin_specs: list[str],
    resume: Optional[str],
    root: Path,
    processes: Processes,
) -> None:
    """Everything that can be checked before torchrun starts a worker is checked here, once: a bad config, run,
    batch size or node layout is one message with exit 2, instead of one per worker followed by torchrun's own
    noise and exit 1."""
    from learnai_cli import config as config_module
    from learnai_cli import rundir
    from learnai_cli.recorders.loggers import require_loggers

    _check_nodes(processes)
    if resume is not None:
        from learnai_cli.commands.train import resume as resuming

        checked = resuming.check_before_launch(rundir.resolve(root, resume), overrides)
    elif config_path is None:
        raise UsageError("give a CONFIG file to train (e.g. configs/linear_regression.yaml), or --resume RUN_ID")
    else:
        checked = config_module.load(config_path, overrides, plugins=plugin_specs)
    require_loggers(checked.train.loggers)
    _check_batch_size(checked.train.batch_size, processes)
    _check_gpus_for(checked, processes.nproc_per_node)
    _check_model_fits_data(checked, processes)


def _check_model_fits_data(experiment_config, processes: Processes) -> None:
    """The model, loss and data fit together (one batch through the model, as `learnai config` checks): on the CPU,
    with the data read as the workers will but not decoded into memory, so a misfit is one message here and not one
    per worker. Data not on this machine yet is left to the workers (rank 0 downloads it)."""
    from learnai_cli import config as config_module
    from learnai_cli.errors import DataNotHere
    from learnai_cli.experiment import build_experiment

    resolved = experiment_config.to_dict()  # its paths are absolute already
    resolved = {**resolved, "device": "cpu", "data": {**resolved["data"], "memory_budget_mb": 0}}
    try:
        experiment = build_experiment(config_module.validate(resolved, source="the config"), with_optimizer=False)
    except DataNotHere:
        return
    samples, batch = len(experiment.data.train), experiment_config.train.batch_size
    if samples < batch:  # each process drops its partial last batch: no step would ever be taken
        world = processes.nproc_per_node * processes.nnodes
        fits = samples // world * world
        raise ConfigError(
            f"train.batch_size={batch} is more than the {samples} training samples: with several processes the "
            f"partial last batch is dropped, so no training step would be taken; use train.batch_size={fits} or "
            "less (a multiple of the process count), or train in one process"
            if fits
            else f"the {samples} training samples are fewer than the {world} processes: train in one process"
        )


def _check_nodes(processes: Processes) -> None:
    if processes.node_rank >= processes.nnodes:
        raise UsageError(
            f"--node-rank {processes.node_rank}: with --nnodes {processes.nnodes} the node ranks are "
            f"0..{processes.nnodes - 1}; give each machine its own rank in that range"
        )
    if not 1 <= processes.master_port <= 65535:
        raise UsageError(f"--master-port {processes.master_port} is not a port: use a free port in 1..65535")


def _check_batch_size(batch_size: int, processes: Processes) -> None:
    """train.batch_size is the global batch: each of the job's processes takes an equal share of it."""
    world = processes.nproc_per_node * processes.nnodes
    if batch_size % world == 0:
        return
    nodes = f" ({processes.nproc_per_node} per node on {processes.nnodes} nodes)" if processes.nnodes > 1 else ""
    lower, upper = batch_size // world * world, (batch_size // world + 1) * world
    suggestion = f"train.batch_size={lower} or {upper}" if lower else f"train.batch_size={upper}"
    raise ConfigError(
        f"train.batch_size={batch_size} is the global batch, shared equally by the {world} processes{nodes}: it must "
        f"divide by {world}; use {suggestion}, or a number of processes that divides {batch_size}"
    )


def _check_gpus_for(experiment_config, nproc_per_node: int) -> None:
    """On CUDA each process needs a GPU of its own (nccl): more processes than GPUs is refused before launching."""
    import torch

    device = experiment_config.device
    if device == "cpu" or not torch.cuda.is_available():
        return  # CPU processes (gloo), or a missing CUDA that each worker reports as a device error
    count = torch.cuda.device_count()
    if nproc_per_node > count:
        raise UsageError(
            f"--nproc-per-node {nproc_per_node}: each process trains on its own GPU and this machine has {count}; "
            f"use --nproc-per-node {count}, or device=cpu for CPU processes"
        )


def _without_flag_values(arguments: list[str]) -> list[str]:
    """The command line minus the launcher's own options (which torchrun takes instead)."""
    kept, skip_next = [], False
    for argument in arguments:
        if skip_next:
            skip_next = False
        elif argument in DISTRIBUTED_FLAGS:
            skip_next = True
        elif not argument.startswith(tuple(f + "=" for f in DISTRIBUTED_FLAGS)):
            kept.append(argument)
    return kept


# torch.distributed.run, but a stop signal ends it with exit 130 (interrupted) instead of its traceback (the
# workers say what happened to the run).
TORCHRUN = """import sys
from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.run import main
try:
    main()
except SignalException:
    sys.exit(130)  # interrupted, as learnai documents it (not 128 + the signal number)
"""


def launch(arguments: list[str], processes: Processes, json_output: bool = False) -> tuple[int, str]:
    """Run `learnai ARGUMENTS` (less the launcher's own options) under torch.distributed.run: (its exit code, what
    it printed on stdout with --json: rank 0's one object). The workers learn the launcher options from
    LAUNCH_OPTIONS_ENV, so the continue command they print keeps them."""
    command = [sys.executable, "-c", TORCHRUN, f"--nproc-per-node={processes.nproc_per_node}"]
    command += [f"--nnodes={processes.nnodes}", f"--node-rank={processes.node_rank}"]
    command += [f"--master-addr={processes.master_addr}", f"--master-port={processes.master_port}"]
    environment = {**os.environ, LAUNCH_OPTIONS_ENV: shlex.join(launcher_options(processes))}
    job = subprocess.Popen(
        command + ["-m", "learnai_cli", *_without_flag_values(arguments)],
        env=environment,
        stdout=subprocess.PIPE if json_output else None,  # passed on below: the job's one object, and nothing else
        text=True,
    )
    # The job reports for itself (rank 0: its message, its --json object, the continue command). A Ctrl-C reaches
    # every process of the terminal's group, torchrun and its workers included, so this one only waits; a SIGTERM
    # sent to this process alone is passed on to torchrun, which stops the workers.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, _forward_to(job))
    try:
        printed, _ = job.communicate()
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
    return job.returncode, printed or ""


def _forward_to(job: subprocess.Popen):
    def forward(signum, frame) -> None:
        job.send_signal(signum)

    return forward
