"""The first-batch check, before any run starts: one forward + loss + backward on two training samples says whether
model, data and loss fit together (and, run under the run's autocast, whether the model trains in that precision);
what fails is a config error in a learner's words."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import torch

from learnai_cli.engine.batches import make_batches
from learnai_cli.engine.device import autocast, effective_precision
from learnai_cli.engine.threads import counting_macs
from learnai_cli.errors import ConfigError, LearnaiError, UsageError, counted, short_repr
from learnai_cli.experiment.loss_pairing import check_output_fits_loss
from learnai_cli.experiment.outputs import check_outputs_fit_labels, model_settings
from learnai_cli.experiment.precision import resolve_precision, warn_if_emulated

__all__ = ["check_fit_and_precision", "check_model_fits_data", "dataset_code", "first_samples"]


@contextmanager
def dataset_code(name: str):
    """A dataset's own exception while its samples are read is a config error naming the user's line."""
    try:
        yield
    except (KeyboardInterrupt, MemoryError, LearnaiError):
        raise
    except Exception as error:
        from learnai_cli.registry.plugins import describe_exception

        raise ConfigError(f"data '{name}' failed reading its samples: {describe_exception(error)}") from None


def check_fit_and_precision(experiment) -> tuple[tuple[int, ...], str]:
    """The fit check run under the precision the run will train in: passing there also answers whether the model
    runs under that autocast, one first-batch pass instead of two (0.1-0.4 s of a CPU bf16 vision run's start-up).
    Any failure under autocast is checked again in fp32, so errors and auto's fallback read exactly as before."""
    wanted = effective_precision(experiment.device, experiment.experiment_config.train.precision)
    if wanted != "fp32":
        warn_if_emulated(experiment.device, wanted)
        try:
            return check_model_fits_data(experiment, wanted), wanted
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception:
            pass  # the fp32 check below says whether the model or the precision is the problem
    return check_model_fits_data(experiment), resolve_precision(experiment)


def check_model_fits_data(experiment, precision: str = "fp32") -> tuple[int, ...]:
    """One forward + loss (with gradients) on two training samples, before any run starts: a shape mismatch, or a
    loss that cannot train (not a scalar tensor, not finite, no gradient path to the parameters) is a config error.

    Nothing changes: the model runs in eval mode, gradients go to autograd.grad (never into .grad) and the random
    number generators are restored, so a run trains exactly as it would without this check. `precision`: the
    autocast the forward and loss run under. Returns the shape of one sample's output."""
    data = experiment.data
    model, names = experiment.model, experiment.experiment_config
    inputs, targets = first_samples(experiment, 2)
    _check_finite_data(names.data.name, inputs, targets)
    was_training = model.training
    model.eval()
    cuda = [experiment.device.index or 0] if experiment.device.type == "cuda" else []
    try:
        # torch's own kernels: cuDNN's RNN has no eval-mode backward, its convolutions may want large workspaces
        with torch.random.fork_rng(devices=cuda), torch.backends.cudnn.flags(enabled=False):
            with counting_macs(model) as counted, autocast(experiment.device, precision):  # macs: thread choice
                outputs = model(inputs)
            experiment.sample_macs = sum(counted) // max(1, len(inputs) if isinstance(inputs, torch.Tensor) else 1)
            mismatch = check_output_fits_loss(names.loss.name, model, outputs, experiment.task)
            if mismatch:
                raise ConfigError(f"model '{names.model.name}' with loss '{names.loss.name}': {mismatch}")
            # the whole label set against the outputs first: a loss on two samples would blame the input sizes
            check_outputs_fit_labels(experiment, outputs.shape[1] if outputs.dim() > 1 else 1)
            with autocast(experiment.device, precision):
                loss = experiment.loss_fn(outputs, targets)
            _check_loss(experiment, loss)
    except (KeyboardInterrupt, ConfigError):
        raise
    except BaseException as error:
        raise _does_not_fit(experiment, error, inputs, targets, locals().get("outputs")) from None
    finally:
        model.train(was_training)
    return tuple(outputs.shape[1:])


def _does_not_fit(experiment, error: BaseException, inputs: Any, targets: Any, outputs: Any) -> Exception:
    """What the first forward and loss raising says to the user: out of memory, a non-deterministic op, or the
    model's sizes not matching the data."""
    names = experiment.experiment_config
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0].rstrip(".")
    memory = isinstance(error, (MemoryError, torch.cuda.OutOfMemoryError)) or "can't allocate memory" in first_line
    if memory:
        return UsageError(
            f"model '{names.model.name}' does not fit in the memory of {experiment.device} even for 2 samples: "
            "choose a smaller model" + (" (or device=cpu)" if experiment.device.type == "cuda" else "")
        )
    if "deterministic" in first_line:  # torch.use_deterministic_algorithms refused an op of this model
        return ConfigError(
            f"train.deterministic: model '{names.model.name}' uses an operation with no deterministic "
            f"implementation on {experiment.device}: {first_line}. Set train.deterministic=false"
        )
    if _raised_in_user_code(error):  # the plugin's own raise, not torch refusing a shape
        from learnai_cli.registry.plugins import describe_exception

        return ConfigError(
            f"model '{names.model.name}' with data '{names.data.name}' and loss '{names.loss.name}' failed on its "
            f"first batch, in your own code: {describe_exception(error)}. Fix that line; `learnai config CONFIG` "
            "checks it again without training"
        )
    output_shape = f", model output {tuple(outputs.shape)}" if isinstance(outputs, torch.Tensor) else ""
    return ConfigError(
        f"model '{names.model.name}' does not fit data '{names.data.name}' with loss '{names.loss.name}': "
        f"inputs {tuple(inputs.shape)}, targets {tuple(targets.shape)}{output_shape}: {first_line}. "
        f"Each sample has {_sample_text(inputs)}: set the model's sizes (now {model_settings(experiment)}) "
        "to take that."
    )


def _sample_text(inputs: Any) -> str:
    """What one sample of the data holds, in a learner's words: 8 features, a 1x28x28 image, a sequence of 5 tokens."""
    if not isinstance(inputs, torch.Tensor):
        return f"{type(inputs).__name__} values"
    shape = tuple(inputs.shape[1:])
    if len(shape) == 1:
        return f"a sequence of {shape[0]} tokens" if not inputs.is_floating_point() else counted(shape[0], "feature")
    if len(shape) == 3:
        return f"a {'x'.join(map(str, shape))} image (channels x height x width)"
    return f"a tensor of shape {shape}"


def _check_finite_data(name: str, inputs: Any, targets: Any) -> None:
    """NaN or inf in the data itself (a zero std, a range past float32) is the data section's fault, not the loss's."""
    for what, values in (("inputs", inputs), ("targets", targets)):
        if isinstance(values, torch.Tensor) and values.is_floating_point() and not torch.isfinite(values).all():
            raise ConfigError(
                f"data: dataset '{name}' gives {what} that are not finite (nan or inf) in its first samples: check "
                "the data section's numbers (a std of 0, values beyond float32's ±3.4e38, a damaged file)"
            )


def _check_loss(experiment, loss: Any) -> None:
    """The loss must be a finite scalar tensor whose gradient reaches the model's parameters."""
    problem = None
    if not isinstance(loss, torch.Tensor):
        problem = f"returned a {type(loss).__name__}, not a scalar tensor"
    elif loss.numel() != 1:
        problem = f"returned a tensor of shape {tuple(loss.shape)}, not a scalar (reduce it, e.g. with .mean())"
    elif not torch.isfinite(loss.detach()).all() and not experiment.experiment_config.train.skip_nonfinite_steps:
        problem = f"is not finite ({loss.item()}) on the first batch"
    elif not loss.requires_grad:
        problem = "has no grad path to the model's parameters (was it detached, or built from constants?)"
    else:
        parameters = [p for p in experiment.model.parameters() if p.requires_grad]
        grads = torch.autograd.grad(loss, parameters, allow_unused=True) if parameters else [None]
        if all(g is None for g in grads):
            problem = "has no grad path to the model's parameters: it does not depend on the model's outputs"
    if problem:
        raise ConfigError(f"loss.name: loss {short_repr(experiment.experiment_config.loss.name)} {problem}")


def _raised_in_user_code(error: BaseException) -> bool:
    """The exception was raised by a line of the user's own code (a plugin file or module), not by torch or learnai."""
    import traceback

    from learnai_cli.registry.plugins import is_user_file

    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and is_user_file(frames[-1].filename)


def first_samples(experiment, count: int) -> tuple[Any, Any]:
    """The first `count` training samples as one batch; a dataset's or collate function's own failure is a config
    error naming the user's line."""
    data = experiment.data
    batches = make_batches(data.train, count, False, experiment.device, seed=0, limit=1, collate_fn=data.collate_fn)
    with dataset_code(experiment.experiment_config.data.name):
        return next(iter(batches))
