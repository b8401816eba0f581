"""The experiment config's schema: every section's keys, types and bounds, and the JSON Schema made from it.

Validation against it (and the registries) is in loading.py; the rest of the code gets an ExperimentConfig and never
sees raw dicts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from learnai_cli.registry.value_types import NonNegativeFloat, PositiveFloat, RealNumber, WholeNumber

FRAMEWORK_DATA_KEYS = ("name", "val_split", "test_split", "limit", "num_workers", "memory_budget_mb")
# Each builder section and the registry its `name` is looked up in.
BUILDER_SECTIONS = {
    "data": "datasets",
    "model": "models",
    "loss": "losses",
    "optimizer": "optimizers",
    "scheduler": "schedulers",
}

# Bounds far beyond any sane run and well inside int64: a typo of a few digits is an error, not a run that never ends.
MAX_EPOCHS = 1_000_000
MAX_STEPS = 10**12  # optimizer steps, batches and intervals counted in them, samples
MAX_BATCH_SIZE = 10**9
MAX_THREADS = 1024
Epochs = Annotated[WholeNumber, Field(gt=0, le=MAX_EPOCHS)]
Steps = Annotated[WholeNumber, Field(gt=0, le=MAX_STEPS)]
BatchSize = Annotated[WholeNumber, Field(gt=0, le=MAX_BATCH_SIZE)]

DEVICE_PATTERN = r"^(auto|cpu|cuda|cuda:\d+)$"  # the devices learnai runs on (config.yaml's device, --device)
# Recorded metrics (val_<name>) that improve upwards; losses, mse and mae go down.
HIGHER_IS_BETTER = ("accuracy",)


class Section(BaseModel):
    """A builder section: `{name: <registered>, **kwargs}`; the kwargs go to the builder."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def _split_size(value: Any) -> Union[int, float]:
    """A hold-out size: a count of samples (int >= 1) or a fraction of the data (0 < f < 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("expected a count (whole number >= 1) or a fraction between 0 and 1")
    if isinstance(value, int) and 1 <= value <= MAX_STEPS or isinstance(value, float) and 0 < value < 1:
        return value
    raise ValueError("expected a count (whole number >= 1) or a fraction between 0 and 1")


SplitSize = Annotated[Any, AfterValidator(_split_size)]


class DataSection(Section):
    """The dataset section; besides the builder's kwargs it sets how splits are carved."""

    val_split: SplitSize = Field(0.1, description="fraction (0-1) or count held out for validation")
    test_split: SplitSize = Field(0.1, description="fraction or count held out for test, if no official test set")
    limit: Optional[Steps] = Field(None, description="cap every split at this many samples (smoke runs)")
    num_workers: WholeNumber = Field(
        0, ge=0, le=64, description="DataLoader worker processes; in-memory datasets then go through a DataLoader too"
    )
    memory_budget_mb: WholeNumber = Field(
        1024, ge=0, le=2**40, description="decode file-backed datasets into memory once when they fit (0: never)"
    )


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class EarlyStopping(Strict):
    patience: Epochs = 5
    min_delta: NonNegativeFloat = 0.0


class StopWhen(Strict):
    """Stop as soon as a metric crosses a threshold (train_loss is checked every log interval)."""

    metric: str = "train_loss"
    below: Optional[RealNumber] = None
    above: Optional[RealNumber] = None


class TrainSection(Strict):
    epochs: Epochs = 10
    batch_size: BatchSize = 64
    eval_batch_size: BatchSize = 1024
    shuffle: bool = True
    max_steps: Optional[Steps] = Field(None, description="stop after this many optimizer steps in all")
    limit_batches: Optional[Steps] = Field(None, description="at most this many batches per epoch (train and val)")
    log_every_steps: Steps = Field(50, description="steps between loss syncs, step records and progress updates")
    health: bool = Field(
        True,
        description="read one batch's gradient norms, update ratios and dead/saturated units per log interval "
        "(learnai diagnose's dead_units, saturated_units, vanishing_gradients, exploding_gradients)",
    )
    val_every_epochs: Epochs = 1
    monitor: str = Field("val_loss", description="metric that picks best.pt: train_loss, val_loss or val_<metric>")
    mode: Literal["min", "max"] = Field(
        "min", description="whether a lower or higher monitor is better; default: the monitor's own (max for accuracy)"
    )
    early_stopping: Optional[EarlyStopping] = None
    stop_when: Optional[StopWhen] = Field(None, description="e.g. {metric: train_loss, below: 0.001}")
    loggers: list[Literal["csv", "tensorboard", "mlflow"]] = Field(
        ["csv"], description="csv (metrics.jsonl/csv, always written) and optionally tensorboard and mlflow"
    )
    record_predictions: bool = Field(
        False, description="1-D regression: store predictions on a grid each epoch (learnai plot --animate)"
    )
    grad_clip: Optional[PositiveFloat] = Field(None, description="clip the gradient norm to this value")
    accumulate_steps: Steps = Field(1, description="micro-batches whose gradients add up before one step")
    checkpoint_every_steps: Optional[Steps] = Field(
        None, description="also write last.pt every N optimizer steps (long epochs)"
    )
    skip_nonfinite_steps: WholeNumber = Field(
        0, ge=0, le=MAX_STEPS, description="skip up to N steps whose loss is NaN/inf before declaring divergence"
    )
    divergence_factor: Optional[PositiveFloat] = Field(
        1e7, description="diverged when the loss exceeds this multiple of its first value (null: only NaN/inf)"
    )
    deterministic: bool = False
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto",
        description="autocast dtype for forward passes (auto: bf16 on CUDA, fp32 on CPU); fp16 adds a GradScaler",
    )
    channels_last: bool = Field(False, description="NHWC memory layout for image models (faster convolutions)")
    compile: Union[bool, Literal["default", "reduce-overhead", "max-autotune"]] = Field(
        False, description="torch.compile the model (true or a mode)"
    )
    threads: Union[Literal["auto"], Annotated[WholeNumber, Field(gt=0, le=MAX_THREADS)]] = Field(
        "auto",
        description="CPU threads for torch; auto: 1 for tiny steps, else the cores this process may use",
    )

    @model_validator(mode="before")
    @classmethod
    def _mode_follows_monitor(cls, data: Any) -> Any:
        """Without train.mode, the monitor's own direction: val_accuracy + min would keep the worst checkpoint."""
        if isinstance(data, dict) and "mode" not in data and isinstance(data.get("monitor", "val_loss"), str):
            return {**data, "mode": better_mode(data.get("monitor", "val_loss"))}
        return data


def better_mode(metric: str) -> Literal["min", "max"]:
    """The direction in which a monitored metric improves."""
    return "max" if metric.removeprefix("val_") in HIGHER_IS_BETTER else "min"


class ExperimentConfig(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=80)
    seed: WholeNumber = Field(0, ge=0, lt=2**63)
    device: str = Field("auto", pattern=DEVICE_PATTERN)
    plugins: list[str] = []
    data: DataSection
    model: Section
    loss: Section
    optimizer: Section
    scheduler: Optional[Section] = None
    train: TrainSection = TrainSection()
    search: dict[str, str] = Field(
        {},
        description="learnai tune's search space: {key.path: 'loguniform(a,b)' | 'uniform(a,b)' | 'int(a,b)' | "
        "'choice(v1,v2)'}; learnai train ignores it",
    )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for config.yaml, `name` first in every section (no `search:` when there is none)."""
        data = self.model_dump(mode="json")
        if not data["search"]:
            del data["search"]
        for key in BUILDER_SECTIONS:
            if data.get(key) is not None:
                data[key] = {"name": data[key].pop("name"), **data[key]}
        return data


def flatten(resolved_config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'optimizer.lr': 0.01, ...}: the dotted key paths that overrides use, each with its value (lists whole)."""
    flat: dict[str, Any] = {}
    for key, value in resolved_config.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def config_schema() -> dict[str, Any]:
    """A JSON Schema of the config file for editors (e.g. the YAML language server)."""
    schema = ExperimentConfig.model_json_schema()
    schema["title"] = "learnai experiment config"
    schema["description"] = "Builder sections take {name: <registered>, ...its arguments}; `learnai list` shows them."
    return schema
