"""Optimizers and learning-rate schedulers by name, plus the curriculum's hand-written SGD."""

from __future__ import annotations

import math
from typing import Annotated, Literal, Optional

import torch
from pydantic import Field
from torch import optim

from learnai_cli.registry import (
    OPTIMIZERS,
    SCHEDULERS,
    ArgumentError,
    Fraction,
    FractionBelow1,
    NonNegativeFloat,
    PositiveCount,
    PositiveFloat,
)


class ManualSGD(optim.Optimizer):
    """Plain gradient descent written out by hand: p -= lr * p.grad (no momentum, no decay)."""

    def __init__(self, params, lr: float):
        if not lr >= 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for parameter in group["params"]:
                if parameter.grad is not None:
                    parameter -= group["lr"] * parameter.grad
        return loss


def build_fast(optimizer_class, params, fused: Optional[bool], **settings) -> optim.Optimizer:
    """Use torch's fused kernel (one launch for all parameters) where it supports the device; else its default."""
    params = list(params)
    if fused is None:
        fused = all(p.device.type in ("cuda", "cpu") for p in params if isinstance(p, torch.Tensor))
        if fused:
            try:
                return optimizer_class(params, fused=True, **settings)
            except (RuntimeError, ValueError, TypeError):
                fused = False  # an older torch or an unsupported dtype/device: the default implementation
    return optimizer_class(params, fused=fused or None, **settings)


@OPTIMIZERS.register("manual_sgd")
def manual_sgd(params, lr: NonNegativeFloat = 0.01) -> optim.Optimizer:
    """The curriculum's by-hand update, p -= lr * grad under no_grad; matches sgd without momentum."""
    return ManualSGD(params, lr=lr)


@OPTIMIZERS.register("sgd")
def sgd(
    params,
    lr: NonNegativeFloat = 0.01,
    momentum: FractionBelow1 = 0.0,  # 1 or more adds up every past step undamped: the steps only grow
    weight_decay: NonNegativeFloat = 0.0,
    nesterov: bool = False,
    fused: Optional[bool] = None,
) -> optim.Optimizer:
    """Stochastic gradient descent (torch.optim.SGD), optionally with (Nesterov) momentum; fused kernel by default."""
    if nesterov and momentum == 0:
        raise ArgumentError("nesterov", "nesterov: true needs a momentum > 0 (e.g. optimizer.momentum=0.9)")
    return build_fast(optim.SGD, params, fused, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)


@OPTIMIZERS.register("adam")
def adam(
    params,
    lr: NonNegativeFloat = 1e-3,
    betas: tuple[FractionBelow1, FractionBelow1] = (0.9, 0.999),
    eps: NonNegativeFloat = 1e-8,
    weight_decay: NonNegativeFloat = 0.0,
    fused: Optional[bool] = None,
) -> optim.Optimizer:
    """Adam (torch.optim.Adam): adaptive per-parameter steps; a robust default; fused kernel by default."""
    return build_fast(optim.Adam, params, fused, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


@OPTIMIZERS.register("adamw")
def adamw(
    params,
    lr: NonNegativeFloat = 1e-3,
    betas: tuple[FractionBelow1, FractionBelow1] = (0.9, 0.999),
    eps: NonNegativeFloat = 1e-8,
    weight_decay: NonNegativeFloat = 0.01,
    fused: Optional[bool] = None,
) -> optim.Optimizer:
    """AdamW (torch.optim.AdamW): Adam with decoupled weight decay; fused kernel by default."""
    return build_fast(optim.AdamW, params, fused, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


@OPTIMIZERS.register("rmsprop")
def rmsprop(
    params,
    lr: NonNegativeFloat = 1e-2,
    alpha: Fraction = 0.99,
    momentum: FractionBelow1 = 0.0,
    weight_decay: NonNegativeFloat = 0.0,
) -> optim.Optimizer:
    """RMSprop (torch.optim.RMSprop): divides steps by a running RMS of gradients."""
    return optim.RMSprop(params, lr=lr, alpha=alpha, momentum=momentum, weight_decay=weight_decay)


@OPTIMIZERS.register("adagrad")
def adagrad(params, lr: NonNegativeFloat = 1e-2, weight_decay: NonNegativeFloat = 0.0) -> optim.Optimizer:
    """Adagrad (torch.optim.Adagrad): steps shrink with accumulated squared gradients."""
    return optim.Adagrad(params, lr=lr, weight_decay=weight_decay)


@OPTIMIZERS.register("adadelta")
def adadelta(
    params, lr: NonNegativeFloat = 1.0, rho: Fraction = 0.9, weight_decay: NonNegativeFloat = 0.0
) -> optim.Optimizer:
    """Adadelta (torch.optim.Adadelta): Adagrad with a decaying window instead of a full sum."""
    return optim.Adadelta(params, lr=lr, rho=rho, weight_decay=weight_decay)


def _optimizer_lrs(optimizer) -> list[float]:
    return [group["lr"] for group in optimizer.param_groups]


def _check_floor(optimizer, min_lr: float, what: str) -> None:
    """A floor above the optimizer's lr would be ignored (plateau) or turn a decay into a rise (cosine)."""
    lr = min(_optimizer_lrs(optimizer), default=min_lr)
    if min_lr > lr:
        raise ArgumentError(
            "min_lr",
            f"min_lr ({min_lr:g}) is above optimizer.lr ({lr:g}), so {what}; lower scheduler.min_lr "
            "or raise optimizer.lr",
        )


@SCHEDULERS.register("step", interval="epoch")
def step(optimizer, step_size: PositiveCount = 10, gamma: NonNegativeFloat = 0.1):
    """Multiply the learning rate (starting at optimizer.lr) by gamma every step_size epochs (StepLR)."""
    return optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)


@SCHEDULERS.register("cosine", interval="step")
def cosine(optimizer, epochs: int, steps_per_epoch: int, min_lr: NonNegativeFloat = 0.0):
    """Cosine decay from the optimizer's lr to min_lr over the whole run, stepped every batch."""
    _check_floor(optimizer, min_lr, "the cosine schedule would raise the rate instead of decaying it")
    return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs * steps_per_epoch), eta_min=min_lr)


@SCHEDULERS.register("onecycle", interval="step")
def onecycle(
    optimizer,
    epochs: int,
    steps_per_epoch: int,
    max_lr: Optional[NonNegativeFloat] = None,
    pct_start: Annotated[float, Field(gt=0, lt=1)] = 0.25,
    div_factor: PositiveFloat = 25.0,
    final_div_factor: PositiveFloat = 1e4,
    anneal_strategy: Literal["cos", "linear"] = "cos",
    cycle_momentum: Optional[bool] = None,
):
    """One-cycle policy (OneCycleLR): warm up from lr/div_factor to the peak, then anneal far below.

    The peak is the optimizer's lr (optimizer.lr) unless max_lr sets it (then optimizer.lr is not used; train warns
    when both are set and differ). cycle_momentum (null: when the optimizer already uses momentum, or Adam-style
    betas) cycles momentum/beta1 between 0.85 and 0.95; it is never switched on for an optimizer without momentum."""
    peak = _optimizer_lrs(optimizer) if max_lr is None else max_lr
    if cycle_momentum is None:
        cycle_momentum = all("betas" in group or group.get("momentum", 0) > 0 for group in optimizer.param_groups)
    elif cycle_momentum and not all("betas" in g or "momentum" in g for g in optimizer.param_groups):
        raise ArgumentError("cycle_momentum", "cycle_momentum: true needs an optimizer with momentum or betas")
    # OneCycleLR divides by zero when the warm-up spans under one step (tiny smoke runs); pad the cycle.
    total_steps = max(epochs * steps_per_epoch, math.ceil(2 / pct_start) + 2)
    return optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=peak,
        total_steps=total_steps,
        pct_start=pct_start,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        anneal_strategy=anneal_strategy,
        cycle_momentum=cycle_momentum,
    )


@SCHEDULERS.register("reduce_on_plateau", interval="plateau")
def reduce_on_plateau(
    optimizer,
    mode: str = "min",
    factor: FractionBelow1 = 0.1,
    patience: Annotated[int, Field(ge=0, le=10**6)] = 10,
    threshold: NonNegativeFloat = 1e-4,
    min_lr: NonNegativeFloat = 0.0,
):
    """Cut the lr (starting at optimizer.lr) by factor when the monitored metric stops improving for patience
    epochs, never below min_lr."""
    _check_floor(optimizer, min_lr, "the rate could never be cut and factor would be ignored")
    return optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode=mode, factor=factor, patience=patience, threshold=threshold, min_lr=min_lr
    )
