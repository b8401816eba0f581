"""Loading a config: read the YAML, apply key=value overrides, validate against the schema and the registries.

Everything is checked once here, at the edge. Every problem found is reported in one pass, each naming its key path,
what was expected and the closest valid name.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any, Optional

import yaml
from pydantic import BaseModel, ValidationError

from learnai_cli.config.messages import describe_schema_error, kind_of, located
from learnai_cli.config.schema import (
    BUILDER_SECTIONS,
    FRAMEWORK_DATA_KEYS,
    EarlyStopping,
    ExperimentConfig,
    StopWhen,
    TrainSection,
    better_mode,
)
from learnai_cli.config.yaml_reading import check_structure, describe_yaml_error, load_text, read_yaml
from learnai_cli.errors import ConfigError, clip, did_you_mean
from learnai_cli.registry.value_types import merged_union_errors

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
    from learnai_cli import registry
    from learnai_cli.registry import plugins

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
                resolved[argument] = str(Path(__file__).parents[1] / "data" / "builtin" / value[len(BUILTIN_PREFIX) :])
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
