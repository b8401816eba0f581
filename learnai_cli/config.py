"""The experiment config: schema, YAML loading, key=value overrides, and validation errors.

Everything is checked once here, at the edge; the rest of the code gets an
ExperimentConfig and never sees raw dicts. Every problem found is reported in
one pass, each naming its key path, what was expected and the closest valid name.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from learnai_cli.config_messages import describe_schema_error, kind_of, located
from learnai_cli.config_yaml import check_structure, describe_yaml_error, load_text, parse_yaml, read_yaml
from learnai_cli.errors import ConfigError, clip, did_you_mean
from learnai_cli.value_types import NonNegativeFloat, PositiveFloat, RealNumber, WholeNumber, merged_union_errors

__all__ = [
    "ExperimentConfig", "load", "validate", "apply_overrides", "read_yaml", "parse_yaml", "config_schema", "flatten",
]  # fmt: skip

FRAMEWORK_DATA_KEYS = ("name", "val_split", "test_split", "limit", "num_workers", "memory_budget_mb")

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


# Each builder section and the registry its `name` is looked up in.
BUILDER_SECTIONS = {
    "data": "datasets",
    "model": "models",
    "loss": "losses",
    "optimizer": "optimizers",
    "scheduler": "schedulers",
}

SECTION_MODELS: dict[str, type[BaseModel]] = {
    "": ExperimentConfig,
    "train": TrainSection,
    "train.early_stopping": EarlyStopping,
    "train.stop_when": StopWhen,
}


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> tuple[dict[str, str], list[str]]:
    """Set `a.b.c=value` (value parsed as YAML) in place; returns {key path: override} and problems."""
    origins, problems = {}, []
    for override in overrides:
        key, sep, text = override.partition("=")
        if not sep or not key.strip() or any(not part for part in key.split(".")):
            problems.append(f"override '{clip(override)}' must look like key.path=value (e.g. optimizer.lr=0.01)")
            continue
        try:
            value = load_text(text)
            check_structure(value, f"override '{clip(override)}'")
        except (yaml.YAMLError, ValueError, RecursionError) as error:
            problems.append(f"override '{clip(override)}': the value is not valid YAML: {describe_yaml_error(error)}")
            continue
        except ConfigError as error:
            problems.append(error.message)
            continue
        problem = _set_path(raw, key.strip().split("."), value)
        if problem:
            problems.append(f"override '{clip(override)}': {problem}")
        origins[key.strip()] = override
    return origins, problems


def _set_path(raw: dict[str, Any], parts: list[str], value: Any) -> str | None:
    node = raw
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            return f"'{clip('.'.join(parts[: depth + 1]))}' is {kind_of(child)}, not a section"
        node = child
    node[parts[-1]] = value
    return None


def load(
    path: str | Path, overrides: list[str] | tuple[str, ...] = (), plugins: list[str] | tuple[str, ...] = ()
) -> ExperimentConfig:
    """Read, override and validate a config file; raises one ConfigError listing every problem.

    `plugins` come from the command line (--plugin): files are relative to the current directory.
    """
    path = Path(path)
    raw = read_yaml(path)
    if plugins:
        named = raw.get("plugins") if isinstance(raw.get("plugins"), list) else []
        raw["plugins"] = named + [str(Path(p).resolve()) if p.endswith(".py") else p for p in plugins]
    return validate(raw, source=str(path), overrides=list(overrides), base_dir=path.parent, paths_from=path.parent)


def validate(
    raw: dict[str, Any],
    source: str,
    overrides: list[str] = (),
    base_dir: Path = Path("."),
    paths_from: Optional[Path] = None,
) -> ExperimentConfig:
    """The validated config with every builder's defaults filled in.

    With `paths_from` (a config file's folder), the builder arguments registered as paths become absolute:
    relative ones resolve against that folder, or against the current directory when an override set them.
    Without it (a run's config.yaml, recorded absolute) paths stay as they are.
    """
    from learnai_cli import plugins, registry

    origins, problems = apply_overrides(raw, list(overrides))
    plugin_paths, plugin_problems = plugins.load_all(raw.get("plugins"), base_dir)
    problems += plugin_problems

    try:
        config = ExperimentConfig.model_validate(raw)
    except ValidationError as error:
        config = None
        problems += [describe_schema_error(e, origins, SECTION_MODELS) for e in merged_union_errors(error.errors())]

    resolved = dict(raw)
    for section, registry_name in BUILDER_SECTIONS.items():
        body = raw.get(section)
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            continue  # the schema check above already reported it
        reserved = FRAMEWORK_DATA_KEYS if section == "data" else ("name",)
        kwargs = {k: v for k, v in body.items() if k not in reserved}
        found = registry.REGISTRIES[registry_name]
        if body["name"] not in found:
            problems.append(located(f"{section}.name", found.unknown_name_message(body["name"]), origins))
            continue
        if found.allow_references and ":" in body["name"]:
            try:
                reference = found.reference(body["name"], base_dir, plugin_paths)
                body = {**body, "name": reference.name}  # file paths made absolute
            except ConfigError as error:
                problems.append(located(f"{section}.name", error.message, origins))
                continue
        kwargs, arg_problems = found.check(body["name"], kwargs)
        problems += [located(f"{section}.{arg}", text, origins) for arg, text in arg_problems]
        if paths_from is not None and not arg_problems:
            kwargs = _absolute_paths(found.get(body["name"]), section, kwargs, paths_from, origins)
        resolved[section] = {**{k: v for k, v in body.items() if k in reserved}, **kwargs}

    if config is not None:
        mode_given = isinstance(raw.get("train"), dict) and "mode" in raw["train"]
        problems += _check_monitor(config, mode_given and paths_from is not None)
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise ConfigError(f"{source}: {count} in the config", problems)

    resolved["plugins"] = plugin_paths
    return ExperimentConfig.model_validate(resolved)


BUILTIN_PREFIX = "builtin:"  # data.path: builtin:diabetes.csv.gz names learnai_cli/data/builtin/diabetes.csv.gz


def _absolute_paths(entry, section: str, kwargs: dict[str, Any], folder: Path, origins: dict[str, str]) -> dict:
    """The builder's path arguments (Entry.path_arguments, and meta `globs=` for glob patterns) made absolute;
    see validate()."""
    resolved = dict(kwargs)
    for argument in (*entry.path_arguments, *entry.meta.get("globs", ())):
        value = resolved.get(argument)
        if isinstance(value, str) and value:
            key = f"{section}.{argument}"
            base = str((Path.cwd() if any(key == k or key.startswith(k + ".") for k in origins) else folder).absolute())
            base = glob.escape(base) if argument in entry.meta.get("globs", ()) else base
            resolved[argument] = os.path.normpath(os.path.join(base, os.path.expanduser(value)))
            if value.startswith(BUILTIN_PREFIX):  # a file shipped inside the package, wherever it is installed
                resolved[argument] = str(Path(__file__).parent / "data" / "builtin" / value[len(BUILTIN_PREFIX) :])
    return resolved


def _check_monitor(config: ExperimentConfig, check_mode: bool = False) -> list[str]:
    """train.monitor must name a metric this task actually records, and (`check_mode`: a new config that sets
    train.mode) be kept in the direction it improves. A run's recorded config is not re-judged: it trained so."""
    from learnai_cli import metrics, registry

    if config.data.name not in registry.DATASETS:
        return []  # the unknown dataset is reported already
    task = registry.DATASETS.get(config.data.name).meta["task"]
    # task="auto": the builder decides from the data, so any task's metric may be recorded
    tasks = metrics.TASK_METRICS if task == "auto" else (task,)
    names = dict.fromkeys(name for each in tasks for name in metrics.names_for_task(each))
    valid = ["train_loss", "val_loss"] + [f"val_{name}" for name in names]
    described = f"data '{config.data.name}'" if task == "auto" else f"a {task} task"
    problems = []
    for key, metric in (
        ("train.monitor", config.train.monitor),
        ("train.stop_when.metric", config.train.stop_when and config.train.stop_when.metric),
    ):
        if metric and metric not in valid:
            problems.append(
                f"{key}: '{metric}' is not recorded for {described}.{did_you_mean(metric, valid)} Valid: "
                f"{', '.join(valid)}"
            )
    monitor, mode = config.train.monitor, config.train.mode
    if check_mode and monitor in valid and mode != better_mode(monitor):
        keeps = "lowest" if mode == "min" else "highest"
        problems.append(
            f"train.mode: '{mode}' would keep the checkpoint with the {keeps} {monitor}, the worst one: "
            f"{monitor} is better when {'higher' if better_mode(monitor) == 'max' else 'lower'}. Set train.mode: "
            f"{better_mode(monitor)}, or leave train.mode out (it follows the monitor)"
        )
    stop = config.train.stop_when
    if stop and (stop.below is None) == (stop.above is None):
        problems.append("train.stop_when: give exactly one of below or above")
    return problems


def config_schema() -> dict[str, Any]:
    """A JSON Schema of the config file for editors (e.g. the YAML language server)."""
    schema = ExperimentConfig.model_json_schema()
    schema["title"] = "learnai experiment config"
    schema["description"] = "Builder sections take {name: <registered>, ...its arguments}; `learnai list` shows them."
    return schema
