"""Findings from how a run was set up: its data (splits too small to measure, imbalanced classes, validation
samples copied from training, unscaled or constant features) and its model (more outputs than classes, a frozen
backbone with random weights). Read from the data checks meta.json recorded when the run started."""

from __future__ import annotations

import math
from typing import Any, Optional

from learnai_cli.diagnose.finding import Finding, Run
from learnai_cli.numbers import is_finite_number

SMALL_SPLIT = 100  # fewer validation samples than this: an accuracy's 95% interval is wider than +-10 points
IMBALANCE_RATIO = 3.0  # the largest class more than this many times the smallest
# a split_overlap is said when at least 1% of a split copies training samples (a stray duplicate is chance)


def small_eval_split(run: Run) -> Optional[Finding]:
    samples = (run.baseline_split("val") or {}).get("samples") or _checked_samples(run)
    if not isinstance(samples, int) or samples >= SMALL_SPLIT:
        return None
    accuracies = run.series("val_accuracy")
    evidence: dict[str, Any] = {"val_samples": samples}
    said = f"the validation split has only {samples} sample{'s' if samples != 1 else ''}"
    sequences = _checked_samples(run)
    if isinstance(sequences, int) and sequences < samples:  # a label per time step: predictions, not samples
        said = f"the validation split has only {samples} predictions (a label per step of {sequences} sequence(s))"
    if accuracies:
        best = max(accuracies)
        low, high = wilson_interval(best, samples)
        evidence.update(best_val_accuracy=best, interval_95=[round(low, 4), round(high, 4)])
        said += f": the best val accuracy {best:.1%} could be anywhere from {low:.1%} to {high:.1%} (95% interval)"
    else:
        said += ": its loss moves with the few samples it has, more than with what the model learned"
    return Finding(
        "small_eval_split",
        "warning" if samples < 30 else "info",
        said,
        evidence,
        f"{run.more_validation()}, and read these numbers as rough",
    )


def wilson_interval(proportion: float, samples: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion measured on `samples` trials."""
    denominator = 1 + z * z / samples
    centre = (proportion + z * z / (2 * samples)) / denominator
    spread = z * math.sqrt(proportion * (1 - proportion) / samples + z * z / (4 * samples * samples)) / denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)


def class_imbalance(run: Run) -> Optional[Finding]:
    counts = ((run.meta.get("data_checks") or {}).get("classes") or {}).get("train")
    if not isinstance(counts, list) or len(counts) < 2 or not all(isinstance(c, int) for c in counts):
        return None
    present = [c for c in counts if c > 0]
    if len(present) < 2 or max(present) <= IMBALANCE_RATIO * min(present):
        return None
    names = run.meta.get("class_names") if isinstance(run.meta.get("class_names"), list) else None
    largest = counts.index(max(counts))
    name = names[largest] if names and largest < len(names) else str(largest)
    share = max(counts) / sum(counts)
    return Finding(
        "class_imbalance",
        "info",
        f"the classes are imbalanced: '{name}' is {share:.0%} of the training labels, the "
        f"smallest class {min(present)} sample(s): always answering '{name}' already scores {share:.0%}, so judge "
        "accuracy against that (and look at the per-class recall in `learnai eval`)",
        {"train_counts": counts, "largest_share": round(share, 4)},
        f"compare with the baseline; per-class results: learnai eval {run.id}",
    )


def split_overlap(run: Run) -> Optional[Finding]:
    duplicates = (run.meta.get("data_checks") or {}).get("duplicates") or {}
    if duplicates.get("continuous_inputs"):
        return None  # continuous draws repeat only as float32 rounding collisions: no sample was copied
    copied = {name: duplicates.get(name) for name in ("val", "test") if isinstance(duplicates.get(name), int)}
    totals = {name: duplicates.get(f"{name}_samples") or 1 for name in copied}
    copied = {name: count for name, count in copied.items() if count > 0 and count >= 0.01 * totals[name]}
    if not copied:
        return None
    said = ", ".join(
        f"{count} of {duplicates.get(f'{name}_samples', '?')} {name} samples" for name, count in copied.items()
    )
    same = [name for name in copied if duplicates.get(f"{name}_is_train")]
    evidence: dict[str, Any] = {"copies": copied, "samples": {name: totals[name] for name in copied}}
    if same:  # the dataset's own design (toy_classes, hello): its few samples are train, val and test at once
        evidence["same_as_train"] = same
        return Finding(
            "split_overlap",
            "info",
            f"the dataset itself uses its training samples as its {' and '.join(same)} "
            f"split{'s' if len(same) > 1 else ''} ({said} are training samples): by design, so its results "
            "measure how well the model fits them, not how it does on new data",
            evidence,
            "nothing, for a lesson in fitting; to measure new data, train on a dataset with samples held out (a "
            "csv dataset holds out data.val_split)",
        )
    return Finding(
        "split_overlap",
        "warning",
        f"{said} are exact copies of training samples (byte for byte): those results measure how well "
        "the model remembers, not how it does on new data",
        evidence,
        _deduplicate(run),
    )


def _deduplicate(run: Run) -> str:
    """How to remove the copies, in the terms of the run's kind of data."""
    copies = {
        "csv": "duplicate rows",
        "image_folder": "duplicate image files (the same picture under two names, or in two class folders)",
    }.get(run.section("data").get("name"), "duplicate samples")
    return f"remove {copies} from the data before it is split (or use data with separate val/test files)"


def unscaled_inputs(run: Run) -> Optional[Finding]:
    features = (run.meta.get("data_checks") or {}).get("features")
    if not isinstance(features, dict):
        return None
    mean, largest, smallest = (features.get(k) for k in ("largest_abs_mean", "largest_std", "smallest_std"))
    if not all(isinstance(v, (int, float)) for v in (mean, largest, smallest)):
        return None
    if mean <= 3 and largest <= 10 and (smallest >= 0.1 or smallest == 0):
        return None
    return Finding(
        "unscaled_inputs",
        "warning",
        f"the input features are far from zero mean and unit scale (a mean of up to "
        f"{mean:.3g}, standard deviations from {smallest:.3g} to {largest:.3g}): gradient steps then suit some "
        "features and not others, so training is slow or unstable",
        {"largest_abs_mean": mean, "largest_std": largest, "smallest_std": smallest},
        "data.standardize=true"
        if run.section("data").get("name") == "csv"
        else "scale the features in the data "
        "(subtract each column's mean, divide by its standard deviation) before they reach the model",
    )


def unscaled_targets(run: Run) -> Optional[Finding]:
    """A regression's targets far from zero mean and unit scale: a fresh model's outputs start near 0, so the first
    epochs are spent moving them there (and with Adam, whose steps move a weight by about its lr, that takes about
    |mean| / lr steps)."""
    targets = (run.meta.get("data_checks") or {}).get("targets")
    if not isinstance(targets, dict) or not all(is_finite_number(targets.get(k)) for k in ("mean", "std")):
        return None
    mean, std = targets["mean"], targets["std"]
    if abs(mean) <= 3 * max(std, 1.0) and std <= 10 and not 0 < std < 0.1:
        return None
    said = (
        f"the regression targets are far from zero mean and unit scale (mean {mean:.4g}, standard deviation "
        f"{std:.3g}), while a fresh model's outputs start near 0: the loss is first dominated by that distance, "
        "and the epochs go into covering it"
    )
    lr, optimizer = run.first_lr, run.section("optimizer").get("name")
    if lr and optimizer in ("adam", "adamw") and abs(mean) > 3 * max(std, 1.0):
        said += (
            f"; {optimizer} moves each weight by about its lr per step, so reaching {mean:.4g} from 0 takes about "
            f"{abs(mean) / lr:,.0f} steps at lr {lr:g} (this run took {run.steps_done:,})"
        )
    return Finding(
        "unscaled_targets",
        "warning",
        said,
        {"target_mean": mean, "target_std": std, "lr": lr},
        "scale the targets in the data (subtract their mean and divide by their standard deviation; predictions "
        f"then scale back), or a higher optimizer.lr with more epochs (`learnai lr-find {run.config_hint}`)",
    )


def constant_features(run: Run) -> Optional[Finding]:
    constant = ((run.meta.get("data_checks") or {}).get("features") or {}).get("constant")
    if not isinstance(constant, list) or not constant:
        return None
    return Finding(
        "constant_features",
        "info",
        f"{len(constant)} input feature(s) never change in the training data (column "
        f"{', '.join(map(str, constant[:10]))}): they cannot help the model",
        {"constant_columns": constant},
        "drop them from the data (a csv dataset: data.features=[...] lists the columns to use)",
    )


def outputs_exceed_classes(run: Run) -> Optional[Finding]:
    outputs, names = run.meta.get("model_outputs"), run.meta.get("class_names")
    if run.meta.get("task") != "classification" or not isinstance(outputs, int) or not isinstance(names, list):
        return None
    if outputs <= len(names):
        return None
    return Finding(
        "outputs_exceed_classes",
        "warning",
        f"the model gives {outputs} outputs but the data has {len(names)} "
        f"classes: the {outputs - len(names)} extra outputs are never right, yet they take probability from the real "
        "ones",
        {"outputs": outputs, "classes": len(names)},
        _output_size_fix(run, len(names)),
    )


def _output_size_fix(run: Run, classes: int) -> str:
    """The model's own output-size key set to the class count (whichever of the usual names its section has)."""
    # experiment/outputs.OUTPUT_SIZE_KEYS, spelled here too: that module imports torch, diagnose must not
    key = next((k for k in ("num_classes", "out_features", "n_out", "classes") if k in run.section("model")), None)
    return f"model.{key}={classes}" if key else f"set the model's output size to {classes}"


def frozen_random_backbone(run: Run) -> Optional[Finding]:
    model = run.section("model")
    if not model.get("freeze_backbone") or model.get("pretrained"):
        return None
    return Finding(
        "frozen_random_backbone",
        "problem",
        "the backbone is frozen with random weights (pretrained: false, "
        "freeze_backbone: true): only the new head trains, on features that mean nothing",
        {"pretrained": False, "freeze_backbone": True},
        "model.pretrained=true to start from trained weights, or model.freeze_backbone=false to train it all",
    )


def _checked_samples(run: Run) -> Optional[int]:
    samples = ((run.meta.get("data_checks") or {}).get("duplicates") or {}).get("val_samples")
    return samples if isinstance(samples, int) else None


SETUP_RULES = (
    frozen_random_backbone,
    outputs_exceed_classes,
    split_overlap,
    small_eval_split,
    class_imbalance,
    unscaled_inputs,
    unscaled_targets,
    constant_features,
)
