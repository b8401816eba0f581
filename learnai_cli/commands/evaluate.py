"""`learnai eval`: rebuild a run's model and data from its config.yaml, load a checkpoint, evaluate a split."""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from learnai_cli.atomic import write_json
from learnai_cli.data import fingerprint as data_fingerprint
from learnai_cli.errors import UsageError
from learnai_cli.log import logger
from learnai_cli.rundir import RunDir
from learnai_cli.rundir.writable import check_run_writable

SPLITS = ("test", "val", "train")


def checkpoint_path(run: RunDir, checkpoint: str) -> Path:
    """best | last | a path to a .pt file."""
    if checkpoint in ("best", "last"):
        path = run.checkpoint(checkpoint)
        if not path.is_file():
            raise UsageError(missing_checkpoint(run, checkpoint))
        return path
    path = Path(checkpoint)
    if not path.is_file():
        raise UsageError(f"--checkpoint: '{checkpoint}' is neither best, last nor an existing checkpoint file")
    return path


def checkpoint_label(run: RunDir, checkpoint: str, path: Path) -> str:
    """What names an evaluation result: best, last, a file in this run's checkpoints/ by its stem, any other file by
    where it lies (<run id or folder>-<stem>), so evaluating another run's best.pt never replaces test-best.json."""
    if checkpoint in ("best", "last"):
        return checkpoint
    path = path.resolve()
    if path.parent == run.checkpoints.resolve():
        return path.stem
    owner = RunDir.owner_of_checkpoint(path)
    return f"{owner.name[:60]}-{path.stem}"


def missing_checkpoint(run: RunDir, checkpoint: str) -> str:
    """Why `checkpoint` (best | last) is missing, suggesting only a checkpoint that exists."""
    meta = run.meta(strict=False)
    status, message = meta.get("status", "unknown"), meta.get("message")
    other = "last" if checkpoint == "best" else "best"
    missing = f"run {run.id} has no {run.checkpoint(checkpoint).name}"
    if run.checkpoint(other).is_file():
        return f"{missing} (status: {status}); try --checkpoint {other}"
    why = f"status: {status}" + (f": {message}" if message else "")
    if status == "running":
        return f"{missing} and no {run.checkpoint(other).name} yet: it writes one at the end of its first epoch ({why})"
    return f"{missing} and no {run.checkpoint(other).name}: it wrote no checkpoint ({why})"


def load_trained(run: RunDir, checkpoint: str = "best", device: Optional[str] = None):
    """The run's experiment rebuilt from its config.yaml, with the checkpoint's weights, on `device` (default: the
    run's own device where this machine has it, else the CPU); (experiment, path, checkpoint)."""
    from learnai_cli.engine.checkpoint import load_checkpoint, load_model_state
    from learnai_cli.experiment import build_experiment

    path = checkpoint_path(run, checkpoint)
    experiment_config = trained_config(run, device)
    data_fingerprint.warn_if_changed(
        run.data_fingerprint_path, experiment_config.data.name, experiment_config.data.kwargs
    )
    experiment = build_experiment(experiment_config, with_optimizer=False)
    state = load_checkpoint(path)
    load_model_state(experiment.model, state, path)  # another architecture: a message naming the first key
    return experiment, path, state


def trained_config(run: RunDir, device: Optional[str] = None):
    """The run's config.yaml validated, its device replaced by `device` or one this machine has."""
    from learnai_cli import config as config_module

    recorded = run.read_config()
    recorded["device"] = device_here(recorded.get("device", "auto"), device)
    return config_module.validate(recorded, source=str(run.config_path), base_dir=run.path)


def device_here(recorded: Any, asked: Optional[str]) -> Any:
    """--device when given (checked like a config's device); a run trained on CUDA runs on the CPU of a machine
    without one, since a checkpoint's weights load on any device."""
    from learnai_cli.engine.device import resolve_device

    if asked is not None:
        resolve_device(asked, "--device")  # an unknown or missing device is a UsageError naming the flag
        return asked
    if isinstance(recorded, str) and recorded.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            logger.warning(f"this run trained on {recorded}; no CUDA here, so it runs on the CPU")
            return "cpu"
    return recorded


def evaluate_run(
    run: RunDir, checkpoint: str = "best", split: str = "test", device: Optional[str] = None
) -> dict[str, Any]:
    """Evaluate and write eval/<split>-<checkpoint>.json (plus, for a classifier, a confusion matrix plot and a gallery
    of the highest-loss examples), one result per split and checkpoint, so evaluating another split never replaces a
    result; returns the results."""
    from learnai_cli.commands import error_analysis
    from learnai_cli.engine.device import autocast
    from learnai_cli.engine.evaluate import ErrorAnalysis, evaluate

    if split not in SPLITS:
        raise UsageError(f"--split must be one of {', '.join(SPLITS)} (got '{split}')")
    check_run_writable(run.path, "the evaluation")  # before the evaluation, which may take minutes
    experiment, path, state = load_trained(run, checkpoint, device)
    batches = experiment.batches(split)
    if batches is None:
        raise UsageError(f"run {run.id}: its data has no {split} split")
    precision = functools.partial(
        autocast, experiment.device, experiment.experiment_config.train.precision
    )  # as trained
    analysis = ErrorAnalysis(experiment.loss_fn, experiment.task, experiment.from_logits, experiment.num_classes)
    results = evaluate(
        experiment.model,
        batches,
        experiment.loss_fn,
        experiment.task,
        experiment.from_logits,
        autocast=precision,
        analysis=analysis,  # the confusion matrix and the worst samples, in the same one pass
    )
    report: dict[str, Any] = {
        "run_id": run.id,
        "split": split,
        "checkpoint": str(path.absolute()),
        "checkpoint_epoch": state.get("epoch"),
        "samples": len(getattr(experiment.data, split)),
        "metrics": results,
        "baseline": _baseline(experiment.baseline, split),
        "evaluated": datetime.now().isoformat(timespec="seconds"),
    }
    errors, gallery = error_analysis.error_report(experiment, getattr(experiment.data, split), analysis.result())
    report.update(errors)
    report.update(_what_was_learned(experiment, split))
    run.eval_dir.mkdir(exist_ok=True)
    report["report"] = str(run.eval_report(split, checkpoint_label(run, checkpoint, path)))
    write_json(Path(report["report"]), report)
    report["plots"] = [str(p) for p in _plots(run, report, gallery)]
    return report


def _what_was_learned(experiment, split: str) -> dict[str, Any]:
    """What the data and the model declare they can show: decoded text, small weights, the learned polynomial."""
    from learnai_cli import registry

    info = experiment.data.info
    report: dict[str, Any] = {"data_info": info} if info else {}
    if "vocabulary" in info:
        report["predicted_text"] = _decode_prediction(experiment, split)
    report["parameters"] = _small_parameters(experiment.model)
    describe = registry.MODELS.get(experiment.experiment_config.model.name).meta.get("polynomial")
    learned = describe(experiment.model) if describe is not None and "true_coefficients" in info else None
    if learned:
        report["learned_polynomial"] = polynomial_text(learned)
        report["true_polynomial"] = polynomial_text(info["true_coefficients"])
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


def _plots(run: RunDir, report: dict[str, Any], gallery: list[dict[str, Any]]) -> list[Path]:
    """This evaluation's confusion matrix and gallery of its highest-loss examples, for a classifier; the training
    plots are train's (and `learnai plot`'s)."""
    if not report.get("confusion_matrix"):
        return []  # a regression: nothing to draw, so matplotlib is not even imported
    from learnai_cli.plots.figures import plot_evaluation
    from learnai_cli.plots.gallery import plot_gallery

    drawn = plot_evaluation(run, Path(report["report"]))
    if gallery:
        title = f"{run.id} ({report['split']} split, {Path(report['checkpoint']).stem})"
        drawn.append(plot_gallery(gallery, title, run.gallery_plot(Path(report["report"]))))
    return drawn


def _baseline(baseline: Optional[dict[str, Any]], split: str) -> Optional[dict[str, Any]]:
    """The trivial predictor's scores on this split (none for train: it is fitted there), with what it predicts."""
    scores = (baseline or {}).get(split)
    return {"predictor": baseline.get("predictor"), **scores} if isinstance(scores, dict) else None
