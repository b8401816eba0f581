"""The launcher's process options (what `learnai train --nproc-per-node` gives torchrun), and how a worker of the
job names them again for the continue command it prints."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass

DISTRIBUTED_FLAGS = ("--nproc-per-node", "--nnodes", "--node-rank", "--master-addr", "--master-port")
LAUNCH_OPTIONS_ENV = "LEARNAI_LAUNCH_OPTIONS"  # the launcher's options, for the workers' continue command


@dataclass(frozen=True)
class Processes:
    """torchrun's options: how many processes here, how many machines, and where rank 0 listens."""

    nproc_per_node: int
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str = "127.0.0.1"
    master_port: int = 29500


def launcher_options(processes: Processes) -> list[str]:
    """The options that start this job again the same way (those left at their default are left out)."""
    options = ["--nproc-per-node", str(processes.nproc_per_node)]
    default = Processes(processes.nproc_per_node)
    for flag, field in zip(DISTRIBUTED_FLAGS[1:], ("nnodes", "node_rank", "master_addr", "master_port")):
        if getattr(processes, field) != getattr(default, field):
            options += [flag, str(getattr(processes, field))]
    return options


def worker_launcher_options() -> list[str]:
    """In a worker of a distributed job: the learnai launcher options that start the job again (torchrun started
    by hand: --nproc-per-node and, across machines, the rest from torchrun's environment); [] outside one."""
    if "WORLD_SIZE" not in os.environ:
        return []
    if os.environ.get(LAUNCH_OPTIONS_ENV):
        return shlex.split(os.environ[LAUNCH_OPTIONS_ENV])
    local = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"]))
    nodes = max(1, int(os.environ["WORLD_SIZE"]) // max(local, 1))
    across = nodes > 1  # where rank 0 listens matters only across machines
    master = (os.environ.get("MASTER_ADDR", "127.0.0.1"), int(os.environ.get("MASTER_PORT", 29500))) if across else ()
    processes = Processes(local, nodes, int(os.environ.get("GROUP_RANK", 0)), *master)
    return launcher_options(processes)
