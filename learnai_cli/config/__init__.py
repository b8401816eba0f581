"""The experiment config: its schema (schema.py), loading a YAML file with key=value overrides and validating it
(loading.py), strict YAML reading (yaml_reading.py) and how a problem reads (messages.py).

Every command gets an ExperimentConfig from `load` (a config file) or `validate` (a run's recorded config.yaml).
"""

from learnai_cli.config.loading import apply_overrides, load, validate
from learnai_cli.config.schema import (
    DEVICE_PATTERN,
    ExperimentConfig,
    Section,
    TrainSection,
    better_mode,
    config_schema,
    flatten,
)
from learnai_cli.config.yaml_reading import parse_yaml, read_yaml

__all__ = [
    "DEVICE_PATTERN",
    "ExperimentConfig",
    "Section",
    "TrainSection",
    "apply_overrides",
    "better_mode",
    "config_schema",
    "flatten",
    "load",
    "parse_yaml",
    "read_yaml",
    "validate",
]
