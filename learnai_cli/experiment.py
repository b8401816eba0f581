"""Builds an experiment's parts from a validated config: data splits, model, loss, optimizer, scheduler."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import torch

from learnai_cli import registry
from learnai_cli.config import ExperimentConfig
from learnai_cli.data.splits import DatasetSplits, TensorSplit, cache_in_memory, carve, split_targets
from learnai_cli.engine.batches import make_batches
from learnai_cli.engine.device import resolve_device, seed_everything
from learnai_cli.engine.distributed import NOT_DISTRIBUTED, Distributed, check_batch_size, setup
from learnai_cli.errors import ConfigError, DataError, short_repr


@dataclass
class Experiment:
    config: ExperimentConfig
    device: torch.device
    data: DatasetSplits
    task: str
    model: torch.nn.Module
    loss_fn: Any
    from_logits: bool
    optimizer: Optional[torch.optim.Optimizer] = None
    scheduler: Any = None
    scheduler_interval: str = "epoch"
    job: Distributed = NOT_DISTRIBUTED

    def batches(self, split_name: str, shuffle: bool = False, limit: Optional[int] = None):
        """Batches of one split on the experiment's device; train uses batch_size, others eval_batch_size."""
        split = getattr(self.data, split_name)
        if split is None or len(split) == 0:
            return None
        train = self.config.train
        size = train.batch_size if split_name == "train" else train.eval_batch_size
        return make_batches(
            split,
            size,
            shuffle,
            self.device,
            seed=self.config.seed,
            limit=limit,
            num_workers=self.config.data.num_workers,
            channels_last=train.channels_last,
            collate_fn=self.data.collate_fn,
            shard=(self.job.rank, self.job.world_size) if split_name == "train" else (0, 1),  # every rank validates on all of val
        )

    @property
    def num_classes(self) -> Optional[int]:
        if self.task == "binary":
            return 2
        return len(self.data.class_names) if self.data.class_names else None


def build_data(config: ExperimentConfig) -> tuple[DatasetSplits, str]:
    """The dataset with train/val/test carved and limited as the data section says."""
    section = config.data
    entry = registry.DATASETS.get(section.name)
    try:
        splits = registry.DATASETS.build(section.name, section.kwargs, seed=config.seed)
    except (ValueError, RuntimeError, MemoryError, OverflowError, TypeError) as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise DataError(f"dataset '{section.name}' cannot be built with {short_repr(section.kwargs)}: {first_line}") from None
    task = entry.meta["task"]
    carved = carve(splits, section.val_split, section.test_split, section.limit, config.seed, stratify=task != "regression")
    return cache_in_memory(carved, section.memory_budget_mb, section.num_workers), task


def build_model(config: ExperimentConfig) -> torch.nn.Module:
    """The model alone, seeded; a builder that fails on these arguments is a config error."""
    registry.load_builtins()
    seed_everything(config.seed, config.train.deterministic)
    try:
        return registry.MODELS.build(config.model.name, config.model.kwargs)
    except (RuntimeError, ValueError, TypeError) as error:
        raise ConfigError(f"model '{config.model.name}' cannot be built with {config.model.kwargs}: {error}") from None


def build_experiment(config: ExperimentConfig, with_optimizer: bool = True, job: Distributed = NOT_DISTRIBUTED) -> Experiment:
    """Seed, pick the device (this rank's, under torchrun), build everything, and check that model and data fit together."""
    registry.load_builtins()
    check_batch_size(job, config.train.batch_size)
    device = setup(job, resolve_device(config.device))
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    data, task = build_data(config)
    model = build_model(config).to(device)
    if config.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    loss_fn = registry.LOSSES.build(config.loss.name, config.loss.kwargs)
    from_logits = registry.LOSSES.get(config.loss.name).meta.get("from_logits", True)
    experiment = Experiment(config, device, data, task, model, loss_fn, from_logits, job=job)
    check_model_fits_data(experiment)
    _check_record_predictions(experiment)
    if "tensorboard" in config.train.loggers:
        from learnai_cli.engine.tensorboard_logger import require_tensorboard

        require_tensorboard()
    if with_optimizer:
        experiment.optimizer = registry.OPTIMIZERS.build(config.optimizer.name, config.optimizer.kwargs, params=model.parameters())
        _add_scheduler(experiment)
    return experiment


def optimizer_steps_per_epoch(config: ExperimentConfig, train_size: int) -> int:
    batches = math.ceil(train_size / config.train.batch_size)
    if config.train.limit_batches:
        batches = min(batches, config.train.limit_batches)
    return math.ceil(batches / config.train.accumulate_steps)


def _add_scheduler(experiment: Experiment) -> None:
    section = experiment.config.scheduler
    if section is None:
        return
    steps = optimizer_steps_per_epoch(experiment.config, len(experiment.data.train))
    experiment.scheduler = registry.SCHEDULERS.build(
        section.name,
        section.kwargs,
        optimizer=experiment.optimizer,
        epochs=experiment.config.train.epochs,
        steps_per_epoch=steps,
        mode=experiment.config.train.mode,
    )
    experiment.scheduler_interval = registry.SCHEDULERS.get(section.name).meta["interval"]


def check_model_fits_data(experiment: Experiment) -> None:
    """One forward + loss on two training samples, so a shape mismatch is a config error before any run starts."""
    batches = make_batches(experiment.data.train, 2, False, experiment.device, seed=0, limit=1, collate_fn=experiment.data.collate_fn)
    inputs, targets = next(iter(batches))
    model = experiment.model
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            outputs = model(inputs)
            experiment.loss_fn(outputs, targets)
    except (RuntimeError, ValueError, IndexError, TypeError) as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        output_shape = f", model output {tuple(outputs.shape)}" if "outputs" in locals() else ""
        raise ConfigError(
            f"model '{experiment.config.model.name}' does not fit data '{experiment.config.data.name}' "
            f"with loss '{experiment.config.loss.name}': inputs {tuple(inputs.shape)}, targets {tuple(targets.shape)}"
            f"{output_shape}: {first_line}. Change the model's sizes ({_model_settings(experiment)}) to match the data."
        ) from None
    finally:
        model.train(was_training)
    _check_labels(experiment, outputs.shape[1] if outputs.dim() > 1 else 1)


def _check_record_predictions(experiment: Experiment) -> None:
    train = experiment.data.train
    one_dimensional = isinstance(train, TensorSplit) and train.inputs.dim() == 2 and train.inputs.shape[1] == 1
    if experiment.config.train.record_predictions and not (one_dimensional and experiment.task == "regression"):
        shape = tuple(train.inputs.shape) if isinstance(train, TensorSplit) else "file-backed"
        raise ConfigError(f"train.record_predictions needs 1-D regression data (inputs of shape (N, 1)); data '{experiment.config.data.name}' has {shape}")


def _model_settings(experiment: Experiment) -> str:
    kwargs = experiment.config.model.kwargs
    return ", ".join(f"model.{k}={v}" for k, v in kwargs.items() if isinstance(v, (int, list)) and not isinstance(v, bool)) or "model.*"


def _check_labels(experiment: Experiment, outputs: int) -> None:
    """Class labels must fit the model's outputs (and be 0/1 for a binary task), in every split."""
    if experiment.task == "regression":
        return
    splits = [getattr(experiment.data, name) for name in ("train", "val", "test")]
    targets = [split_targets(s) for s in splits if s is not None and len(s)]
    targets = [t for t in targets if t is not None]
    if not targets:
        return
    low, high = min(int(t.min()) for t in targets), max(int(t.max()) for t in targets)
    if experiment.task == "binary" and (low < 0 or high > 1):
        raise ConfigError(f"data '{experiment.config.data.name}' is a binary task but its labels range from {low} to {high}; they must be 0 or 1")
    if experiment.task == "classification" and outputs > 1 and (low < 0 or high >= outputs):
        raise ConfigError(
            f"data '{experiment.config.data.name}' has labels from {low} to {high} but model '{experiment.config.model.name}' "
            f"outputs {outputs} classes: set the model's class count ({_model_settings(experiment)}) to at least {high + 1}"
        )
