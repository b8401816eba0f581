"""An experiment's parts built from a validated ExperimentConfig, before any run directory exists: data splits,
model, loss, optimizer, scheduler and device (build.py), whether the model's output suits the loss (loss_pairing.py)
and which precision it trains in (precision.py). It imports no recorders, run directories or plots.
"""

from learnai_cli.experiment.build import Experiment, build_data, build_experiment, build_model, build_part

__all__ = ["Experiment", "build_data", "build_experiment", "build_model", "build_part"]
