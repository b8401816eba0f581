"""Builds an experiment's parts from a validated ExperimentConfig: data splits, model, loss, optimizer, scheduler."""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, Optional

import torch

from learnai_cli import metrics, registry
from learnai_cli.config import ExperimentConfig, Section
from learnai_cli.data.splits import DatasetSplits, TensorSplit, cache_in_memory, carve
from learnai_cli.engine.batches import make_batches
from learnai_cli.engine.device import resolve_device, seed_everything
from learnai_cli.engine.distributed import NOT_DISTRIBUTED, Distributed, check_batch_size, setup
from learnai_cli.engine.lazy_dynamo import skip_dynamo_import
from learnai_cli.engine.threads import (
    IdleLook,
    auto_threads,
    available_cpus,
    default_threads,
    macs_per_sample,
    start_idle_look,
)
from learnai_cli.errors import ConfigError, counted
from learnai_cli.experiment.baseline import compute_baseline
from learnai_cli.experiment.fit_check import check_fit_and_precision, dataset_code, first_samples
from learnai_cli.experiment.outputs import LOGITS, output_kind
from learnai_cli.log import logger


@dataclass
class Experiment:
    experiment_config: ExperimentConfig
    device: torch.device
    data: DatasetSplits
    task: str
    model: torch.nn.Module
    loss_fn: Any
    output_kind: str  # experiment/outputs.py: logits, probabilities, log_probabilities or target_values
    optimizer: Optional[torch.optim.Optimizer] = None
    scheduler: Any = None
    scheduler_interval: str = "epoch"
    job: Distributed = NOT_DISTRIBUTED
    baseline: Optional[dict] = None  # experiment/baseline.py: the trivial predictor's scores on val and test
    output_shape: tuple[int, ...] = ()  # one sample's model output, as the fit check saw it
    sample_macs: Optional[int] = None  # multiply-adds of one sample's forward pass, counted by the fit check

    def batches(self, split_name: str, shuffle: bool = False, limit: Optional[int] = None):
        """Batches of one split on the experiment's device; train uses batch_size, others eval_batch_size."""
        split = getattr(self.data, split_name)
        if split is None or len(split) == 0:
            return None
        train = self.experiment_config.train
        size = train.batch_size if split_name == "train" else train.eval_batch_size
        return make_batches(
            split,
            size,
            shuffle,
            self.device,
            seed=self.experiment_config.seed,
            limit=limit,
            num_workers=self.experiment_config.data.num_workers,
            channels_last=train.channels_last,
            collate_fn=self.data.collate_fn,
            shard=(self.job.rank, self.job.world_size)
            if split_name == "train"
            else (0, 1),  # every rank validates on all of val
        )

    @property
    def from_logits(self) -> bool:
        """Whether a binary output is thresholded at 0 (raw scores) rather than at 0.5."""
        return self.output_kind == LOGITS

    @property
    def num_classes(self) -> Optional[int]:
        if self.task == "binary":
            return 2
        return len(self.data.class_names) if self.data.class_names else None


def build_data(experiment_config: ExperimentConfig) -> tuple[DatasetSplits, str]:
    """The dataset with train/val/test carved and limited as the data section says."""
    section = experiment_config.data
    splits = build_part("data", registry.DATASETS, section, seed=experiment_config.seed)
    task = splits.task or registry.DATASETS.get(section.name).meta["task"]
    if task not in metrics.TASK_METRICS:  # task="auto" at registration: the builder must say which it chose
        raise ConfigError(
            f"data '{section.name}' decides its task from the data but its builder returned task={splits.task!r}; "
            f"it must return one of {', '.join(metrics.TASK_METRICS)}"
        )
    _warn_unused_splits(section, splits)
    with dataset_code(section.name):  # carving and caching read the dataset's samples: its own code runs
        carved = carve(
            splits,
            section.val_split,
            section.test_split,
            section.limit,
            experiment_config.seed,
            stratify=task != "regression",
        )
        if carved.after_carve is not None:  # e.g. standardisation with the training split's statistics only
            carved = carved.after_carve(carved)
        return cache_in_memory(carved, section.memory_budget_mb, section.num_workers), task


def _warn_unused_splits(section: Any, splits: DatasetSplits) -> None:
    """A hold-out size other than the default for a split the dataset ships itself is not used: say so."""
    default = type(section).model_fields
    for key, given in (("val_split", splits.val), ("test_split", splits.test)):
        value = getattr(section, key)
        if given is not None and value != default[key].default:
            logger.warning(
                f"data.{key}={value} is not used: dataset '{section.name}' has its own {key.split('_')[0]} split "
                f"({counted(len(given), 'sample')})"
            )


def build_model(experiment_config: ExperimentConfig) -> torch.nn.Module:
    """The model alone, seeded; a builder that fails on these arguments is a config error."""
    seed_everything(experiment_config.seed, experiment_config.train.deterministic)
    return build_part("model", registry.MODELS, experiment_config.model)


def build_part(key: str, found: registry.Registry, section: Section, **provided: Any) -> Any:
    """Build one config section; whatever its builder raises is a ConfigError naming `key` (and the argument to
    blame, when it can be told), so no builder ends in a traceback or a half-made run."""
    try:
        return found.build(section.name, section.kwargs, **provided)
    except registry.BuildFailed as failed:
        raise ConfigError(
            f"{key}.{failed.argument}: {failed.message}" if failed.argument else f"{key}: {failed.message}"
        ) from None


def build_experiment(
    experiment_config: ExperimentConfig,
    with_optimizer: bool = True,
    job: Distributed = NOT_DISTRIBUTED,
    threads: Optional[int] = None,
    own_pids: tuple[int, ...] = (),
) -> Experiment:
    """Seed, pick the device (this rank's, under torchrun), build everything, and check that model and data fit
    together. `threads`: the count a resumed run started with, kept under train.threads auto (the same sums);
    `own_pids`: this command's helper processes, whose CPU time train.threads auto counts as idle."""
    check_batch_size(job, experiment_config.train.batch_size)
    look = start_idle_look(own_pids)  # train.threads auto's look at the CPUs overlaps the set-up below
    device = setup(job, resolve_device(experiment_config.device))
    data, task = build_data(experiment_config)
    model = build_model(experiment_config).to(device)
    if experiment_config.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    loss_fn = build_part("loss", registry.LOSSES, experiment_config.loss)
    kind = output_kind(registry.LOSSES.get(experiment_config.loss.name).meta, model)
    experiment = Experiment(experiment_config, device, data, task, model, loss_fn, kind, job=job)
    experiment.output_shape, precision = check_fit_and_precision(experiment)  # auto -> what this device runs
    experiment.baseline = compute_baseline(experiment, experiment.output_shape)
    if precision != experiment_config.train.precision:
        train_section = experiment_config.train.model_copy(update={"precision": precision})
        experiment.experiment_config = experiment_config = experiment_config.model_copy(update={"train": train_section})
    torch.set_num_threads(_thread_count(experiment, threads, own_pids, look))  # before the first training step
    _check_record_predictions(experiment)
    if with_optimizer:
        if not experiment_config.train.compile:
            skip_dynamo_import()  # torch.optim would import torch._dynamo (seconds) and never use it
        experiment.optimizer = build_part(
            "optimizer", registry.OPTIMIZERS, experiment_config.optimizer, params=model.parameters()
        )
        _add_scheduler(experiment)
    return experiment


def optimizer_steps_per_epoch(experiment_config: ExperimentConfig, train_size: int) -> int:
    batches = math.ceil(train_size / experiment_config.train.batch_size)
    if experiment_config.train.limit_batches:
        batches = min(batches, experiment_config.train.limit_batches)
    return math.ceil(batches / experiment_config.train.accumulate_steps)


def _add_scheduler(experiment: Experiment) -> None:
    section = experiment.experiment_config.scheduler
    if section is None:
        return
    _warn_peak_overrides_lr(experiment.experiment_config)
    steps = optimizer_steps_per_epoch(experiment.experiment_config, len(experiment.data.train))
    experiment.scheduler = build_part(
        "scheduler",
        registry.SCHEDULERS,
        section,
        optimizer=experiment.optimizer,
        epochs=experiment.experiment_config.train.epochs,
        steps_per_epoch=steps,
        mode=experiment.experiment_config.train.mode,
    )
    experiment.scheduler_interval = registry.SCHEDULERS.get(section.name).meta["interval"]


def schedule_built_from_epochs(scheduler_name: str) -> bool:
    """Whether a scheduler lays its schedule out over train.epochs (its builder takes `epochs`): --resume cannot
    stretch such a schedule to more epochs, and meta.json records it so `learnai diagnose` (no torch) knows."""
    return "epochs" in inspect.signature(registry.SCHEDULERS.get(scheduler_name).builder).parameters


def _warn_peak_overrides_lr(experiment_config: ExperimentConfig) -> None:
    """A scheduler's max_lr sets the rate itself: an optimizer.lr that differs would be silently unused."""
    max_lr = experiment_config.scheduler.kwargs.get("max_lr")
    lr = experiment_config.optimizer.kwargs.get("lr")
    if max_lr is not None and lr is not None and max_lr != lr:
        logger.warning(
            f"scheduler.max_lr ({max_lr}) sets the peak learning rate, so optimizer.lr ({lr}) is not used; "
            "drop scheduler.max_lr to let optimizer.lr set the peak, or set them equal"
        )


def _thread_count(
    experiment: Experiment, resumed_with: Optional[int], own_pids: tuple[int, ...], look: Optional[IdleLook] = None
) -> int:
    """train.threads, or for auto one thread when a step is tiny, else the idle CPUs this process may use (a
    resumed run: the count it started with, so its sums add up in the same order)."""
    setting = experiment.experiment_config.train.threads
    if setting != "auto":
        return setting
    if isinstance(resumed_with, int) and resumed_with >= 1:
        return min(resumed_with, available_cpus())
    if experiment.sample_macs is not None:  # counted by the fit check: no second forward pass
        step_macs = experiment.sample_macs * experiment.experiment_config.train.batch_size
    else:
        step_macs = _step_macs(experiment, first_samples(experiment, 2)[0])
    if step_macs is None:  # the model's own code failed: training reports it with the run's one-line error
        return max(1, min(default_threads(), available_cpus()))
    if experiment.experiment_config.train.deterministic:  # the same count on a busy machine: sums in the same order
        return auto_threads(step_macs, default_threads(), look_at_load=False)
    return auto_threads(step_macs, default_threads(), own_pids=own_pids, look=look)


def _check_record_predictions(experiment: Experiment) -> None:
    train = experiment.data.train
    one_dimensional = isinstance(train, TensorSplit) and train.inputs.dim() == 2 and train.inputs.shape[1] == 1
    if experiment.experiment_config.train.record_predictions and not (
        one_dimensional and experiment.task == "regression"
    ):
        shape = tuple(train.inputs.shape) if isinstance(train, TensorSplit) else "file-backed"
        raise ConfigError(
            "train.record_predictions needs 1-D regression data (inputs of shape (N, 1)); "
            f"data '{experiment.experiment_config.data.name}' has {shape}"
        )


def _step_macs(experiment: Experiment, inputs: Any) -> Optional[int]:
    """Multiply-adds of one training step, counted on a forward pass run as the fit check runs it (eval mode, the
    random number generators restored); None when the user's model raises meanwhile."""
    model, was_training = experiment.model, experiment.model.training
    model.eval()
    cuda = [experiment.device.index or 0] if experiment.device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=cuda):
            return macs_per_sample(model, inputs) * experiment.experiment_config.train.batch_size
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception:
        return None
    finally:
        model.train(was_training)
