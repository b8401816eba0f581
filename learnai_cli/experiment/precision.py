"""train.precision for this experiment: auto becomes bf16 on a CUDA device when the model and loss run under bf16
autocast (fp32 otherwise); an explicit bf16/fp16 they cannot run under is a config error before any run starts."""

from __future__ import annotations

import torch

from learnai_cli.engine.batches import make_batches
from learnai_cli.engine.device import autocast, effective_precision
from learnai_cli.errors import ConfigError
from learnai_cli.log import logger

__all__ = ["native_on_cpu", "resolve_precision", "warn_if_emulated"]


def resolve_precision(experiment) -> str:
    """The precision the run will use, recorded in its config.yaml instead of auto (so eval and resume match)."""
    asked = experiment.experiment_config.train.precision
    precision = effective_precision(experiment.device, asked)
    if precision == "fp32":
        return precision
    failure = _fails_under(experiment, precision)
    if failure is None or _fails_under(experiment, "fp32") is not None:
        return precision  # runs under it, or fails in fp32 too: the model/data check reports that problem
    names = experiment.experiment_config
    what = f"model '{names.model.name}' with loss '{names.loss.name}'"
    if asked == "auto":
        logger.info(f"train.precision auto: fp32, since {what} cannot run under {precision} autocast ({failure})")
        return "fp32"
    raise ConfigError(
        f"train.precision: {precision}: {what} cannot run under {precision} autocast on {experiment.device}: "
        f"{failure}. Use train.precision=fp32 (or auto, which picks what works)"
    )


def _fails_under(experiment, precision: str):
    """The first line of what a forward + loss + backward on two training samples raises under `precision`, or
    None. The model runs in eval mode with the RNGs restored and gradients through autograd.grad: nothing changes."""
    data, model = experiment.data, experiment.model
    batches = make_batches(data.train, 2, False, experiment.device, seed=0, limit=1, collate_fn=data.collate_fn)
    inputs, targets = next(iter(batches))
    cuda = [experiment.device.index or 0] if experiment.device.type == "cuda" else []
    was_training = model.training
    model.eval()
    try:
        # cuDNN's RNN has no backward in eval mode and its convolutions may ask for large workspaces: the check
        # runs torch's own kernels, which do neither
        with torch.random.fork_rng(devices=cuda), torch.backends.cudnn.flags(enabled=False):
            with autocast(experiment.device, precision):
                loss = experiment.loss_fn(model(inputs), targets)
            parameters = [p for p in model.parameters() if p.requires_grad]
            if loss.requires_grad and parameters:
                torch.autograd.grad(loss, parameters, allow_unused=True)
        return None
    except KeyboardInterrupt:
        raise
    except Exception as error:
        return (str(error).strip().splitlines() or [type(error).__name__])[0]
    finally:
        model.train(was_training)


# The CPU instructions that run each half precision natively (torch.cpu's checks; older torch lacks them).
NATIVE_ON_CPU = {"bf16": ("_is_avx512_bf16_supported", "_is_amx_tile_supported"), "fp16": ("_is_amx_fp16_supported",)}


def native_on_cpu(precision: str) -> bool | None:
    """Whether this CPU has instructions for `precision` (fp32: always); None where this torch cannot tell."""
    if precision == "fp32":
        return True
    checks = [getattr(torch.cpu, name, None) for name in NATIVE_ON_CPU.get(precision, ())]
    return None if not checks or None in checks else any(check() for check in checks)


def warn_if_emulated(device: torch.device, precision: str) -> None:
    """bf16/fp16 asked on a CPU without their instructions: torch emulates them, several times slower than fp32
    (8x on configs/mnist_cnn.yaml on an AVX2-only CPU): say so, with the override."""
    if device.type != "cpu" or native_on_cpu(precision) is not False:
        return
    logger.warning(
        f"train.precision {precision} on a CPU without {precision} instructions "
        f"({torch.backends.cpu.get_cpu_capability()}): torch emulates {precision}, so this runs several times slower "
        f"than in fp32. Use train.precision=fp32 (or auto, fp32 on a CPU)"
    )
