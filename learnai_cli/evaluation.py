"""`learnai eval`: rebuild a run's model and data from its config.yaml, load a checkpoint, evaluate a split."""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import Any

from learnai_cli.errors import UsageError
from learnai_cli.runs import RunDir, write_json

SPLITS = ("test", "val", "train")


def checkpoint_path(run: RunDir, checkpoint: str) -> Path:
    """best | last | a path to a .pt file."""
    if checkpoint in ("best", "last"):
        path = run.checkpoints / f"{checkpoint}.pt"
        if not path.is_file():
            raise UsageError(f"run {run.id} has no {checkpoint}.pt (status: {run.meta().get('status', 'unknown')}); try --checkpoint last")
        return path
    path = Path(checkpoint)
    if not path.is_file():
        raise UsageError(f"--checkpoint: '{checkpoint}' is neither best, last nor an existing checkpoint file")
    return path


def load_trained(run: RunDir, checkpoint: str = "best"):
    """The run's experiment rebuilt from its config.yaml, with the checkpoint's weights; (experiment, path, checkpoint)."""
    from learnai_cli import config as config_module
    from learnai_cli.engine.checkpoint import load_checkpoint
    from learnai_cli.experiment import build_experiment

    path = checkpoint_path(run, checkpoint)
    config = config_module.validate(run.config(), source=str(run.config_path), base_dir=run.path)
    experiment = build_experiment(config, with_optimizer=False)
    state = load_checkpoint(path)
    experiment.model.load_state_dict(state["model"])
    return experiment, path, state


def evaluate_run(run: RunDir, checkpoint: str = "best", split: str = "test") -> dict[str, Any]:
    """Evaluate and write eval.json (plus a confusion matrix plot for classification); returns the results."""
    from learnai_cli.engine.device import autocast
    from learnai_cli.engine.evaluate import confusion_matrix, evaluate

    if split not in SPLITS:
        raise UsageError(f"--split must be one of {', '.join(SPLITS)} (got '{split}')")
    experiment, path, state = load_trained(run, checkpoint)
    config = experiment.config
    batches = experiment.batches(split)
    if batches is None:
        raise UsageError(f"run {run.id}: its data has no {split} split")
    precision = functools.partial(autocast, experiment.device, config.train.precision)  # as in training
    results = evaluate(experiment.model, batches, experiment.loss_fn, experiment.task, experiment.from_logits, autocast=precision)
    report: dict[str, Any] = {
        "run_id": run.id,
        "split": split,
        "checkpoint": str(path),
        "checkpoint_epoch": state.get("epoch"),
        "samples": len(getattr(experiment.data, split)),
        "metrics": results,
        "evaluated": datetime.now().isoformat(timespec="seconds"),
    }
    if experiment.num_classes:
        matrix = confusion_matrix(experiment.model, batches, experiment.task, experiment.from_logits, experiment.num_classes, autocast=precision)
        report["class_names"] = experiment.data.class_names or [str(i) for i in range(experiment.num_classes)]
        report["confusion_matrix"] = matrix
        report["per_class_accuracy"] = {
            name: (row[i] / sum(row) if sum(row) else None) for i, (name, row) in enumerate(zip(report["class_names"], matrix))
        }
    if experiment.data.info:
        report["data_info"] = experiment.data.info
    if "vocabulary" in experiment.data.info:
        report["predicted_text"] = _decode_prediction(experiment, split)
    report["parameters"] = _small_parameters(experiment.model)
    if "true_coefficients" in experiment.data.info:
        report.update(_polynomials(report["parameters"], experiment.data.info["true_coefficients"]))
    write_json(run.eval_path, report)
    report["plots"] = [str(p) for p in _plots(run)]
    return report


def _small_parameters(model) -> dict[str, list]:
    """Weights of tiny models (e.g. linear regression's w and b), so eval can show what was learned."""
    parameters = dict(model.named_parameters())
    if sum(p.numel() for p in parameters.values()) > 32:
        return {}
    return {name: p.detach().cpu().view(-1).tolist() for name, p in parameters.items()}


def _decode_prediction(experiment, split: str) -> str:
    """For character-sequence tasks (rnn_hello): the model's output for the split's first sequence, as text."""
    import torch

    vocabulary = experiment.data.info["vocabulary"]
    inputs = getattr(experiment.data, split).inputs[:1].to(experiment.device)
    experiment.model.eval()
    with torch.no_grad():
        indices = experiment.model(inputs).argmax(dim=1)[0].tolist()
    return "".join(vocabulary[i] for i in indices)


SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def polynomial_text(coefficients: list[float]) -> str:
    """'y = 1.000 + 2.000x + 3.000x²' from coefficients lowest power first."""
    terms = []
    for power, value in enumerate(coefficients):
        variable = "" if power == 0 else "x" if power == 1 else "x" + str(power).translate(SUPERSCRIPTS)
        sign = "-" if value < 0 else "+"
        terms.append((sign, f"{abs(value):.3f}{variable}"))
    first_sign, first = terms[0]
    return "y = " + ("-" if first_sign == "-" else "") + first + "".join(f" {sign} {term}" for sign, term in terms[1:])


def _polynomials(parameters: dict[str, list], true_coefficients: list[float]) -> dict[str, Any]:
    """A linear model on polynomial features is a polynomial: show it beside the one that made the data."""
    weight, bias = parameters.get("linear.weight"), parameters.get("linear.bias")
    if not weight or not bias:
        return {}
    learned = [bias[0], *weight]
    return {"learned_polynomial": polynomial_text(learned), "true_polynomial": polynomial_text(true_coefficients)}


def _plots(run: RunDir) -> list[Path]:
    from learnai_cli.plots import plot_run

    return plot_run(run)
