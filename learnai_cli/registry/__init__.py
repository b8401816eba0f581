"""The registries of named builders (models, datasets, losses, optimizers, schedulers, metrics) that a config's
sections name: Registry and the registries themselves (registries.py), the bounded value types builders annotate
their arguments with (value_types.py), and importing the plugins a config names (plugins.py).

This package is plugin API: `from learnai_cli.registry import MODELS, PositiveCount` (docs/extending.md).
"""

from learnai_cli.registry.registries import (
    DATASETS,
    LOSSES,
    METRICS,
    MODELS,
    OPTIMIZERS,
    REGISTRIES,
    SCHEDULERS,
    ArgumentError,
    BuildFailed,
    Entry,
    Registry,
    builtin_locations,
)
from learnai_cli.registry.value_types import (
    Fraction,
    FractionBelow1,
    ImageSide,
    NonNegativeFloat,
    PositiveCount,
    PositiveFloat,
    RealNumber,
    SampleCount,
    WholeNumber,
)

__all__ = [
    "Registry",
    "Entry",
    "ArgumentError",
    "BuildFailed",
    "MODELS",
    "DATASETS",
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULERS",
    "METRICS",
    "REGISTRIES",
    "builtin_locations",
    "NonNegativeFloat",
    "PositiveFloat",
    "Fraction",
    "FractionBelow1",
    "PositiveCount",
    "WholeNumber",
    "RealNumber",
    "SampleCount",
    "ImageSide",
]
