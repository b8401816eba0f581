"""`learnai config`: validate a config without training, build its model and, when the data is at hand, fit one
batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from learnai_cli.errors import DataNotHere


def check_config(config_path: Path, overrides: list[str], plugin_specs: list[str]) -> dict[str, Any]:
    """The resolved config, the model's parameter count, and what was checked of the data."""
    from learnai_cli import config as config_module
    from learnai_cli.experiment import build_experiment, build_model
    from learnai_cli.recorders.loggers import require_loggers

    experiment_config = config_module.load(config_path, overrides, plugins=plugin_specs)
    require_loggers(experiment_config.train.loggers)  # it would not train here without them
    try:
        model, data_checked = build_experiment(experiment_config).model, "model and data fit"
    except DataNotHere as missing:  # e.g. MNIST not downloaded yet: the config itself can still be checked
        model, data_checked = build_model(experiment_config), f"data not checked: {missing.message.splitlines()[0]}"
    return {
        "config": experiment_config.to_dict(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "data_check": data_checked,
    }
