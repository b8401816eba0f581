"""Choosing the device and seeding every random number generator."""

from __future__ import annotations

import contextlib
import os
import platform
import random

import numpy as np
import torch

from learnai_cli.config import DEVICE_PATTERN
from learnai_cli.errors import UsageError, short_repr


def resolve_device(spec: str, setting: str = "device") -> torch.device:
    """auto -> CUDA when available, else CPU; an explicit cuda that is missing is a clear error. `setting` is how the
    user gave it ("device" in a config, "--device" on a command line), so the advice is in that form."""
    import re

    given = f"{setting}: {short_repr(spec)}" if setting == "device" else f"{setting} {short_repr(spec)}"
    if not re.fullmatch(DEVICE_PATTERN, spec):
        raise UsageError(f"{given} is not a device learnai runs on: use auto, cpu, cuda or cuda:N (N a GPU's index)")
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    kind, _, index = spec.partition(":")
    if kind == "cuda":
        if not torch.cuda.is_available():
            use = "device=auto or device=cpu" if setting == "device" else f"{setting} cpu, or {setting} auto"
            raise UsageError(f"{given} was asked for but CUDA is not available here; use {use}")
        if index and (len(index) > 6 or int(index) >= torch.cuda.device_count()):
            raise UsageError(
                f"{given} does not exist; this machine has {torch.cuda.device_count()} CUDA "
                f"device(s): cuda:0 to cuda:{torch.cuda.device_count() - 1}"
            )
    return torch.device(spec)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


PRECISION_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def effective_precision(device: torch.device, precision: str) -> str:
    """auto -> bf16 on a CUDA device that has it (the measured GPU default), fp32 elsewhere (CPU results unchanged)."""
    if precision != "auto":
        return precision
    return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"


def autocast(device: torch.device, precision: str):
    """Mixed precision for forward passes; fp32 is a no-op context."""
    precision = effective_precision(device, precision)
    if precision not in PRECISION_DTYPES:
        return contextlib.nullcontext()  # cheaper per step than a disabled torch.autocast
    return torch.autocast(device.type, dtype=PRECISION_DTYPES[precision])


def grad_scaler(device: torch.device, precision: str):
    """fp16 needs loss scaling so small gradients do not underflow; bf16 and fp32 do not."""
    return torch.amp.GradScaler(device.type) if effective_precision(device, precision) == "fp16" else None


def weighted_loss(loss: torch.Tensor, samples: int) -> torch.Tensor | float:
    """loss x samples, for sums over an epoch: a number on the CPU, where reading a value costs nothing and tensor
    arithmetic costs a few microseconds an operation; a tensor on a GPU, left there so that no step waits for it."""
    if loss.device.type == "cpu":
        return loss.item() * samples
    return loss.detach().float() * samples


def out_of_memory_advice(batch: int, accumulate: int) -> str:
    """What to change when a step does not fit: half the batch, with accumulation keeping the effective batch."""
    if batch == 1:
        return "out of GPU memory at train.batch_size=1: the model itself does not fit; use a smaller model"
    return (
        f"out of GPU memory at train.batch_size={batch}; try train.batch_size={max(1, batch // 2)} "
        f"(with train.accumulate_steps={accumulate * 2} to keep the effective batch of {batch * accumulate})"
    )


def seed_everything(seed: int, deterministic: bool) -> None:
    """Seed python, numpy and torch (CPU and CUDA); optionally force deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS is only deterministic with it set
        torch.use_deterministic_algorithms(True, warn_only=False)
        torch.backends.cudnn.benchmark = False


def rng_states() -> dict:
    """Every global RNG's state as tensors and plain values (safe for weights_only checkpoints)."""
    numpy_kind, keys, position, has_gauss, cached_gauss = np.random.get_state()
    version, python_state, gauss = random.getstate()
    return {
        "python": {"version": version, "state": list(python_state), "gauss": gauss},
        "numpy": {
            "kind": numpy_kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": position,
            "has_gauss": has_gauss,
            "cached_gaussian": cached_gauss,
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_states(states: dict) -> None:
    python = states["python"]
    random.setstate((python["version"], tuple(python["state"]), python["gauss"]))
    numpy = states["numpy"]
    np.random.set_state(
        (
            numpy["kind"],
            numpy["keys"].numpy().astype(np.uint32),
            numpy["pos"],
            numpy["has_gauss"],
            numpy["cached_gaussian"],
        )
    )
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
