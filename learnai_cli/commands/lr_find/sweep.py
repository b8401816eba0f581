"""The range test itself: the config's model, data, loss and optimizer, built as `train` builds them, trained for
a few hundred steps while the lr grows exponentially; the loss of every step recorded until it explodes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from learnai_cli import registry
from learnai_cli.config import ExperimentConfig
from learnai_cli.engine.device import autocast, grad_scaler, seed_everything
from learnai_cli.engine.lazy_dynamo import skip_dynamo_import
from learnai_cli.engine.threads import SMALL_STEP_MACS, available_cpus, default_threads, macs_per_sample
from learnai_cli.experiment import Experiment, build_experiment, build_part
from learnai_cli.experiment.fit_check import first_samples

EXPLODED = 4.0  # the test stops once the smoothed loss stays this many times its best for a quarter of a decade


@dataclass
class Sweep:
    """What the range test asked for and what it recorded: one lr, raw loss and smoothed loss per step."""

    start: float
    end: float
    steps: int
    beta: float
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # each step's loss on its own batch
    smoothed: list[float] = field(default_factory=list)  # exponential moving average, bias-corrected
    stopped: str = "end"  # end: every step ran; exploded: past EXPLODED x best; nonfinite: nan/inf

    @property
    def per_decade(self) -> float:
        return (self.steps - 1) / max(1e-12, math.log10(self.end / self.start))

    @property
    def patience(self) -> int:
        """Steps the loss must stay past EXPLODED x best to end the test: a quarter of a decade, so one unlucky
        batch (a small batch's loss jumps) does not end it."""
        return max(2, round(self.per_decade / 4))

    def lr_at(self, step: int) -> float:
        return self.start * (self.end / self.start) ** (step / max(1, self.steps - 1))


def smoothing(start: float, end: float, steps: int) -> float:
    """The moving average's beta: it averages over about a quarter of a decade of lr, however dense the sweep, so
    its lag stays a fixed fraction of a decade (at the default 200 steps over 8 decades: about 6 steps, beta 0.84)."""
    return 1.0 - 1.0 / max(2.0, Sweep(start, end, steps, 0.0).per_decade / 4)


def range_test(experiment_config: ExperimentConfig, start: float, end: float, steps: int) -> Sweep:
    """Train a fresh model (the config's initial weights: the same seed builds the same model) with the config's
    optimizer, lr from `start` to `end` over `steps` optimizer steps; nothing is saved."""
    experiment = build_experiment(experiment_config, with_optimizer=False)
    _steady_threads(experiment)
    if not experiment_config.train.compile:
        skip_dynamo_import()
    optimizer = build_part(
        "optimizer", registry.OPTIMIZERS, experiment_config.optimizer, params=experiment.model.parameters()
    )
    seed_everything(experiment_config.seed, experiment_config.train.deterministic)  # dropout, shuffles: repeatable
    sweep = Sweep(start, end, steps, smoothing(start, end, steps))
    _train(experiment, optimizer, sweep)
    return sweep


def _train(experiment: Experiment, optimizer: torch.optim.Optimizer, sweep: Sweep) -> None:
    settings = experiment.experiment_config.train
    scaler = grad_scaler(experiment.device, settings.precision)
    model, average, best, above = experiment.model, 0.0, math.inf, 0
    model.train()
    batches = _endless(experiment)
    for step in range(sweep.steps):
        lr = sweep.lr_at(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = 0.0
        for _ in range(settings.accumulate_steps):  # one optimizer step takes the batches a training step takes
            inputs, targets = next(batches)
            with autocast(experiment.device, settings.precision):
                batch_loss = experiment.loss_fn(model(inputs), targets) / settings.accumulate_steps
            (scaler.scale(batch_loss) if scaler else batch_loss).backward()
            loss += batch_loss.item()
        if not math.isfinite(loss):
            sweep.stopped = "nonfinite"
            return
        _step(optimizer, scaler, model, settings.grad_clip)
        average = sweep.beta * average + (1 - sweep.beta) * loss
        smoothed = average / (1 - sweep.beta ** (step + 1))
        sweep.lrs.append(lr)
        sweep.losses.append(loss)
        sweep.smoothed.append(smoothed)
        best = min(best, smoothed)
        above = above + 1 if smoothed > EXPLODED * best else 0
        if above >= sweep.patience:
            sweep.stopped = "exploded"
            return


def _step(optimizer, scaler, model: torch.nn.Module, grad_clip) -> None:
    if scaler and grad_clip:
        scaler.unscale_(optimizer)
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    if scaler:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def _endless(experiment: Experiment):
    """Training batches, shuffled as `train` shuffles them, pass after pass for as many steps as the test takes."""
    batches = experiment.batches("train", shuffle=True)
    while True:
        yield from batches


def _steady_threads(experiment: Experiment) -> None:
    """train.threads auto looks at how busy the CPUs are, and another count of threads adds sums in another order:
    the range test picks the count without looking, so a second call records the very same curve."""
    if experiment.experiment_config.train.threads != "auto":
        return
    inputs, _ = first_samples(experiment, 2)
    model = experiment.model
    model.eval()
    try:
        with torch.random.fork_rng(devices=[experiment.device.index or 0] if experiment.device.type == "cuda" else []):
            macs = macs_per_sample(model, inputs) * experiment.experiment_config.train.batch_size
    except Exception:  # the model's own code: the test's first step reports it
        macs = SMALL_STEP_MACS
    finally:
        model.train()
    torch.set_num_threads(1 if macs < SMALL_STEP_MACS else max(1, min(default_threads(), available_cpus())))
