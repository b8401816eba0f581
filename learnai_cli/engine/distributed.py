"""Data-parallel training under torchrun: the process group, collectives, and which rank writes.

The launcher (`learnai train --nproc-per-node N`) lives in commands/train.py; the engine only
joins the group torchrun set up. train.batch_size stays the global batch: each rank trains on
its own slice of every batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from learnai_cli.errors import ConfigError, UsageError


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    launched: bool = False  # started by torchrun: a process group even for one process (the nccl path on one GPU)

    @property
    def enabled(self) -> bool:
        return self.launched or self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


NOT_DISTRIBUTED = Distributed()


def from_environment() -> Distributed:
    """The process's place in a torchrun job (WORLD_SIZE, RANK, LOCAL_RANK), or a single process."""
    if "WORLD_SIZE" not in os.environ or "LOCAL_RANK" not in os.environ:
        return NOT_DISTRIBUTED
    world, rank, local_rank = (int(os.environ[k]) for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK"))
    return Distributed(rank, world, local_rank, launched=True)


def setup(job: Distributed, device: torch.device) -> torch.device:
    """Join the process group (nccl on CUDA, gloo on CPU); returns this rank's device."""
    if not job.enabled:
        return device
    if device.type == "cuda":
        if job.local_rank >= torch.cuda.device_count():  # nccl needs one GPU per process
            raise UsageError(
                f"process {job.local_rank} of this node has no GPU of its own: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s); use --nproc-per-node {torch.cuda.device_count()}"
            )
        device = torch.device("cuda", job.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device


def check_batch_size(job: Distributed, batch_size: int) -> None:
    if job.enabled and batch_size % job.world_size:
        raise ConfigError(
            f"train.batch_size={batch_size} is the global batch and must divide by the {job.world_size} processes"
        )


def sum_across(job: Distributed, *values: torch.Tensor | float) -> list[float]:
    """Sums of the values over all ranks (one collective); the values themselves when not distributed."""
    if not job.enabled:  # one read per value, as cheap as stacking them first (and far cheaper on the CPU)
        return [float(v) for v in values]
    stacked = torch.stack([torch.as_tensor(v, dtype=torch.float64).cpu() for v in values]).to(_collective_device())
    dist.all_reduce(stacked)
    return stacked.cpu().tolist()


def gather(job: Distributed, value) -> list:
    if not job.enabled:
        return [value]
    gathered = [None] * job.world_size
    dist.all_gather_object(gathered, value)
    return gathered


def weights_checksum(model: torch.nn.Module) -> float:
    """A number that differs when any weight differs (to check that replicas stayed in sync)."""
    return float(
        sum(
            p.detach().double().sum() * (i + 1)
            for i, p in enumerate(model.state_dict().values())
            if p.is_floating_point()
        )
    )


def teardown(job: Distributed) -> None:
    """Leave the process group together: a rank destroying it while another still talks can abort that one."""
    if job.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def _collective_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
