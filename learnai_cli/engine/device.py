"""Choosing the device and seeding every random number generator."""

from __future__ import annotations

import platform
import random

import numpy as np
import torch

from learnai_cli.errors import UsageError, short_repr


def resolve_device(spec: str) -> torch.device:
    """auto -> CUDA when available, else CPU; an explicit cuda that is missing is a clear error."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    kind, _, index = spec.partition(":")
    if kind == "cuda":  # checked before torch parses it: an index beyond int64 would be a RuntimeError there
        if not torch.cuda.is_available():
            raise UsageError(
                f"device: {short_repr(spec)} was asked for but CUDA is not available here; use device=auto or "
                "device=cpu"
            )
        if index and (not index.isdigit() or len(index) > 6 or int(index) >= torch.cuda.device_count()):
            raise UsageError(
                f"device: {short_repr(spec)} does not exist; this machine has {torch.cuda.device_count()} CUDA "
                f"device(s): cuda:0 to cuda:{torch.cuda.device_count() - 1}"
            )
    try:
        return torch.device(spec)
    except (RuntimeError, ValueError) as error:
        raise UsageError(f"device: {short_repr(spec)} is not a device torch knows: {error}") from None


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


PRECISION_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(device: torch.device, precision: str):
    """Mixed precision for forward passes; fp32 is a no-op context."""
    return torch.autocast(
        device.type, dtype=PRECISION_DTYPES.get(precision, torch.float32), enabled=precision in PRECISION_DTYPES
    )


def grad_scaler(device: torch.device, precision: str):
    """fp16 needs loss scaling so small gradients do not underflow; bf16 and fp32 do not."""
    return torch.amp.GradScaler(device.type) if precision == "fp16" else None


def seed_everything(seed: int, deterministic: bool) -> None:
    """Seed python, numpy and torch (CPU and CUDA); optionally force deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
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
