"""Keep torch._dynamo (about 2 s to import) out of runs that compile nothing.

torch.optim marks methods such as Optimizer.add_param_group with torch._disable_dynamo, whose
wrapper imports torch._dynamo on its first call just to look up `disable`, even when nothing is
ever compiled. Each wrapper caches what it calls in the wrapped function's `__dynamo_disable`
attribute; filling that cache with the plain function beforehand skips the import. A run with
train.compile still imports dynamo itself, and compiles only the model, never these methods.
"""

from __future__ import annotations

import sys


def skip_dynamo_import() -> int:
    """Pre-fill the wrappers' cache on torch.optim's classes; returns how many methods were unwrapped."""
    if "torch._dynamo" in sys.modules:
        return 0  # already paid for: let torch use it as it means to
    import torch.optim
    import torch.optim.lr_scheduler

    classes = [torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]
    unwrapped = 0
    for cls in classes:
        for attribute in vars(cls).values():
            wrapped = getattr(attribute, "__wrapped__", None)
            code = getattr(attribute, "__code__", None)
            if wrapped is not None and code is not None and code.co_filename.endswith("_compile.py"):
                setattr(wrapped, "__dynamo_disable", wrapped)
                unwrapped += 1
    return unwrapped


def step_without_dynamo(optimizer) -> None:
    """optimizer.step(), minus the wrapper that imports torch._dynamo to call graph_break (a no-op unless tracing).

    Falls back to optimizer.step() whenever the shortcut could differ: dynamo already imported (compiling),
    a differentiable optimizer, or step hooks registered.
    """
    import torch
    from torch.optim import optimizer as torch_optimizer

    hooks = getattr(torch_optimizer, "_global_optimizer_pre_hooks", {}) or getattr(
        torch_optimizer, "_global_optimizer_post_hooks", {}
    )
    own_hooks = getattr(optimizer, "_optimizer_step_pre_hooks", {}) or getattr(
        optimizer, "_optimizer_step_post_hooks", {}
    )
    if "torch._dynamo" in sys.modules or optimizer.defaults.get("differentiable") or hooks or own_hooks:
        optimizer.step()
        return
    step = type(optimizer).step
    while hasattr(step, "__wrapped__"):  # the profiling hook wrapper, then torch's grad-mode wrapper
        step = step.__wrapped__
    with torch.no_grad():
        step(optimizer)
    optimizer._opt_called = True  # what an LR scheduler's check of step order reads


def clear_gradients(optimizer) -> None:
    """optimizer.zero_grad(set_to_none=True) without its profiler record (a few microseconds, most of a tiny step)
    where the optimizer keeps torch's own zero_grad; one that overrides it is called as it is."""
    import torch

    if type(optimizer).zero_grad is not torch.optim.Optimizer.zero_grad:
        optimizer.zero_grad(set_to_none=True)
        return
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            parameter.grad = None
