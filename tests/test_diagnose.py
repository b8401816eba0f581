"""`learnai diagnose`: a corpus of deliberately broken experiments, each diagnosed with its known cause, and the
shipped configs at their shipped settings, none of which gets a problem-level finding. Through the real CLI."""

from __future__ import annotations

import json
import re
import shlex

import numpy as np
import pytest
import yaml

from tests.conftest import CONFIGS


def codes(payload: dict, severity: str | None = None) -> set[str]:
    return {f["code"] for f in payload["findings"] if severity is None or f["severity"] == severity}


# (config, overrides, the codes it must be diagnosed with, a code it must not get)
BROKEN = [
    ("generalfit", ["optimizer.lr=1"], {"lr_too_high"}, "underfitting"),  # blew up, then settled near the mean
    ("diabetes", ["optimizer.lr=50"], {"lr_too_high"}, "lr_too_low"),
    ("toy_classes", ["optimizer.lr=100"], {"lr_too_high"}, "not_converged"),
    ("generalfit", ["optimizer.lr=1e-7"], {"no_better_than_baseline", "lr_too_low"}, "lr_too_high"),
    ("linear_regression", ["optimizer.lr=1e-6", "train.epochs=5"], {"no_better_than_baseline", "lr_too_low"}, None),
    ("diabetes", ["optimizer.lr=1e-6"], {"no_better_than_baseline", "lr_too_low"}, "overfitting"),
    ("generalfit", ["train.epochs=2"], {"not_converged"}, "no_better_than_baseline"),
    ("polynomial_regression", ["train.epochs=2"], {"not_converged"}, None),
    ("generalfit", ["train.epochs=1", "train.log_every_steps=1"], {"not_converged"}, None),  # within its one epoch
    (
        "generalfit",
        ["scheduler.name=step", "scheduler.step_size=1", "scheduler.gamma=0.01"],
        {"lr_decayed_early"},
        None,
    ),
    (
        "diabetes",
        ["scheduler.name=step", "scheduler.step_size=2", "scheduler.gamma=0.001"],
        {"lr_decayed_early"},
        "lr_too_low",
    ),
    ("toy_classes", [], {"small_eval_split", "split_overlap"}, None),
    # a loss that starts high (targets far from 0) is no spike; a short run that fell a little is no low lr
    ("linear_regression", ["data.bias=300", "train.epochs=10"], {"unscaled_targets"}, "lr_too_high"),
    (
        "linear_regression",
        ["data.bias=-300", "data.noise=0.5", "train.epochs=10"],
        {"unscaled_targets"},
        "underfitting",
    ),
    ("diabetes", ["train.epochs=3"], {"no_better_than_baseline"}, "lr_too_low"),
    # a model worse than chance on its own training data memorised nothing: the lr is the cause
    ("csv_example", ["optimizer.lr=5"], {"lr_too_high"}, "overfitting"),
    # an output sigmoid saturates as the model grows confident: no hidden unit is saturated
    ("logistic_regression", ["optimizer.lr=2"], {"lr_too_high"}, "saturated_units"),
    # health readings at the log interval: units dead or saturated, gradients vanishing or exploding
    ("generalfit", ["optimizer.lr=0.5"], {"dead_units", "lr_too_high"}, None),
    ("diabetes", ["optimizer.lr=50"], {"saturated_units"}, None),
    ("linear_regression", ["optimizer.lr=50"], {"exploding_gradients"}, None),
    # one reading only, then the run diverged: still an explosion
    ("linear_regression", ["optimizer.name=sgd", "optimizer.lr=0.5", "train.epochs=3"], {"exploding_gradients"}, None),
    ("diabetes", ["model.hidden=[16,16,16,16,16,16,16,16]", "train.epochs=10"], {"vanishing_gradients"}, None),
    (
        "generalfit",
        ["model.activation=sigmoid", "model.hidden=[32,32,32,32,32,32,32,32]", "train.epochs=5"],
        {"vanishing_gradients", "no_better_than_baseline"},
        None,
    ),
]


@pytest.mark.parametrize(
    "config, overrides, expected, absent", BROKEN, ids=[f"{c}-{'-'.join(o) or 'shipped'}" for c, o, _, _ in BROKEN]
)
def test_each_broken_experiment_is_diagnosed_with_its_cause(cli, config, overrides, expected, absent):
    payload = cli.json("train", CONFIGS / f"{config}.yaml", *overrides)
    assert expected <= codes(payload), payload["findings"]
    assert absent is None or absent not in codes(payload), payload["findings"]
    for finding in payload["findings"]:  # every finding is whole: a code, a severity, words, numbers, a fix
        assert finding["severity"] in ("problem", "warning", "info") and finding["message"] and finding["fix"]
        assert isinstance(finding["evidence"], dict) and finding["evidence"]
    check_fixes_are_accepted(cli, CONFIGS / f"{config}.yaml", overrides, payload["findings"])


# A word of a command a fix names: an option, a key=value, a config file or a run id; the first other word ends it.
COMMAND_WORD = re.compile(r"^(-[-\w]+|[\w.]+=\S*|\S+\.ya?ml|\d{4}-\d\d-\d\d_\S+)$")
OVERRIDE = re.compile(r"(?<![\w./-])((?:optimizer|scheduler|train|data|model|loss)\.[\w.]+=[^\s,;)`']+)")
SECTION = re.compile(r"'((?:optimizer|scheduler|train|data|model|loss)=\{[^}']*\})'")  # a whole section, quoted


def fix_commands(fix: str) -> list[list[str]]:
    """Each `learnai VERB ...` a fix names, as the words a shell would pass."""
    commands = []
    for start in re.finditer(r"learnai ([a-z-]+)", fix):
        words = ["learnai", start.group(1)]
        for word in shlex.split(fix[start.end() :].split("`")[0].split(";")[0]):
            if not COMMAND_WORD.match(word):
                break
            words.append(word)
        commands.append(words)
    return commands


def check_fixes_are_accepted(cli, config, overrides: list[str], findings: list[dict]) -> None:
    """What a fix tells the learner to type is accepted: its commands run (a train of more epochs trains; an lr-find
    config validates), and the overrides it suggests validate over the experiment's own."""
    for finding in findings:
        for words in fix_commands(finding["fix"]):
            verb, args = words[1], words[2:]
            result = cli("config", *args) if verb == "lr-find" else cli(verb, *args)
            assert result.exit_code == 0, (finding, result.output)
        if finding["fix"].startswith("learnai"):
            continue  # a command, checked above
        prose = re.sub(r"`[^`]*`", "", finding["fix"])  # without the commands, checked above
        for suggested in [*OVERRIDE.findall(prose), *SECTION.findall(prose)]:
            result = cli("config", config, *overrides, suggested)
            assert result.exit_code == 0, (finding, suggested, result.output)
            assert "is not used" not in result.output, (finding, suggested, result.output)  # accepted, and it acts


LONGER = [  # (overrides, whether --resume can carry the run on, the words that say why not)
    (["train.epochs=2"], True, None),
    (["train.epochs=2", "scheduler.name=step"], True, None),
    (["train.epochs=2", "scheduler.name=onecycle"], False, "its onecycle schedule is laid out over train.epochs"),
    (["train.epochs=2", "scheduler.name=cosine"], False, "its cosine schedule is laid out over train.epochs"),
    (["train.max_steps=30"], False, "it ended at train.max_steps=30"),
]


@pytest.mark.parametrize(
    "overrides, resumable, why_not", LONGER, ids=["plain", "step", "onecycle", "cosine", "max_steps"]
)
def test_train_longer_is_a_command_that_trains_longer(cli, overrides, resumable, why_not):
    """--resume cannot stretch a schedule laid out over train.epochs (onecycle, cosine) nor change train.max_steps:
    for those the fix is a new run of the same experiment with more epochs, and the printed command runs."""
    payload = cli.json("train", CONFIGS / "generalfit.yaml", *overrides)
    fix = next(f for f in payload["findings"] if f["code"] == "not_converged")
    [command] = fix_commands(fix["fix"])
    assert ("--resume" in command) == resumable, fix
    more = next(word for word in command if word.startswith("train.epochs="))
    if not resumable:
        replaced = {o for o in overrides if o.startswith(("train.epochs=", "train.max_steps="))}
        assert why_not in fix["fix"] and command.count(more) == 1 and not replaced & set(command), fix
        assert set(overrides) - replaced <= set(command), fix  # the rest of the experiment as it was
    if "scheduler.name=onecycle" in overrides:
        assert "its onecycle schedule annealed the lr" in fix["message"]
    longer = cli.json(*command[1:])
    assert longer["status"] == "completed" and longer["epochs"] == int(more.partition("=")[2]), longer


def test_a_scheduled_run_from_before_the_schedule_was_recorded_is_told_to_train_anew(cli, runs_dir):
    run_id = cli.json("train", CONFIGS / "generalfit.yaml", "train.epochs=2", "scheduler.name=step")["run_id"]
    meta_path = runs_dir / run_id / "meta.json"
    meta = json.loads(meta_path.read_text())
    assert meta.pop("schedule_built_from_epochs") is False
    meta_path.write_text(json.dumps(meta))  # as an older learnai wrote it: whether --resume could stretch it is unknown
    fix = next(f for f in cli.json("diagnose", run_id)["findings"] if f["code"] == "not_converged")
    [command] = fix_commands(fix["fix"])
    assert "--resume" not in command and "scheduler.name=step" in command and "its step schedule" in fix["fix"]


def test_a_run_without_last_checkpoint_or_its_start_command_is_told_to_train_anew_from_its_own_config(cli, runs_dir):
    run_id = cli.json("train", CONFIGS / "generalfit.yaml", "train.epochs=2")["run_id"]
    (runs_dir / run_id / "checkpoints" / "last.pt").unlink()
    meta_path = runs_dir / run_id / "meta.json"
    meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), "command": ["learnai", "tune"]}))
    fix = next(f for f in cli.json("diagnose", run_id)["findings"] if f["code"] == "not_converged")
    [command] = fix_commands(fix["fix"])
    assert "--resume" not in command and "no checkpoints/last.pt" in fix["fix"], fix
    assert command[2].endswith(f"{run_id}/config.yaml") and cli.json(*command[1:])["status"] == "completed"


def write_csv(tmp_path, features, labels, **data) -> str:
    names = [f"f{i}" for i in range(features.shape[1])]
    rows = [",".join([*map(str, names), "label"])]
    rows += [",".join([*(f"{v:.5g}" for v in row), str(label)]) for row, label in zip(features, labels)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    config = {
        "name": "table",
        "data": {"name": "csv", "path": "t.csv", "target": "label", "val_split": 0.25, "test_split": 0.1, **data},
        "model": {"name": "mlp", "in_features": features.shape[1], "hidden": [16], "out_features": 2},
        "loss": {"name": "cross_entropy"},
        "optimizer": {"name": "adam", "lr": 0.01},
        "train": {"epochs": 20, "batch_size": 8, "monitor": "val_loss"},
    }
    return config


def train_table(cli, tmp_path, config: dict) -> dict:
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    payload = cli.json("train", tmp_path / "c.yaml")
    check_fixes_are_accepted(cli, tmp_path / "c.yaml", [], payload["findings"])
    return payload


def test_a_big_model_on_a_tiny_noisy_table_overfits(cli, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    config = write_csv(tmp_path, x, (x[:, 0] + rng.normal(scale=2.0, size=60) > 0).astype(int), val_split=0.4)
    config["model"]["hidden"], config["train"]["epochs"] = [128, 128], 150
    payload = train_table(cli, tmp_path, config)
    overfitting = next(f for f in payload["findings"] if f["code"] == "overfitting")
    assert overfitting["evidence"]["rising_since_epoch"] == overfitting["evidence"]["best_epoch"] + 1
    assert "val loss rising since epoch" in overfitting["message"]


def test_a_big_model_monitored_by_accuracy_says_which_epoch_best_pt_keeps(cli, tmp_path, runs_dir):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    config = write_csv(tmp_path, x, (x[:, 0] + rng.normal(scale=2.0, size=60) > 0).astype(int), val_split=0.4)
    config["model"]["hidden"], config["train"]["epochs"] = [128, 128], 150
    config["train"].update(monitor="val_accuracy", mode="max")
    payload = train_table(cli, tmp_path, config)
    overfitting = next(f for f in payload["findings"] if f["code"] == "overfitting")
    kept = payload["best"]["epoch"]
    assert f"best.pt keeps epoch {kept}" in overfitting["fix"], (overfitting, payload["best"])
    if kept != overfitting["evidence"]["best_epoch"]:
        assert "the best val_accuracy" in overfitting["fix"]


def test_early_stopping_that_stopped_a_falling_loss_is_told_to_be_patient_not_to_resume(cli):
    overrides = ["train.early_stopping.patience=1"]
    payload = cli.json("train", CONFIGS / "generalfit.yaml", *overrides)
    finding = next(f for f in payload["findings"] if f["code"] == "not_converged")
    assert "early stopping ended the run" in finding["message"] and "--resume" not in finding["fix"]
    assert "train.early_stopping.patience=5" in finding["fix"] and finding["evidence"]["patience"] == 1
    assert shlex.split(finding["fix"]).count("train.early_stopping.patience=1") == 0  # replaced, not repeated
    check_fixes_are_accepted(cli, CONFIGS / "generalfit.yaml", overrides, payload["findings"])


def test_one_epoch_is_judged_by_its_interval_records_or_said_to_show_no_trend(cli):
    """One epoch has no trend across epochs: the loss readings within it say whether it was still falling."""
    falling = cli.json("train", CONFIGS / "generalfit.yaml", "train.epochs=1", "train.log_every_steps=1")
    finding = next(f for f in falling["findings"] if f["code"] == "not_converged")
    assert finding["severity"] == "warning" and "still improving at the end of its one epoch" in finding["message"]
    assert (
        finding["evidence"]["last_quarter_fall"] > 2 * finding["evidence"]["noise"]
        and "train.epochs=5" in finding["fix"]
    )
    unread = cli.json("train", CONFIGS / "generalfit.yaml", "train.epochs=1")  # 13 steps, a reading every 50
    finding = next(f for f in unread["findings"] if f["code"] == "not_converged")
    assert finding["severity"] == "info" and finding["evidence"] == {"epochs": 1, "interval_records": 0}
    assert "one epoch cannot show whether training converged" in finding["message"]
    check_fixes_are_accepted(cli, CONFIGS / "generalfit.yaml", ["train.epochs=1"], unread["findings"])


@pytest.mark.parametrize("config", ["toy_classes", "rnn_hello"])
def test_a_dataset_that_is_its_own_validation_split_is_said_by_design(cli, config):
    payload = cli.json("train", CONFIGS / f"{config}.yaml", "train.epochs=2")
    overlap = next(f for f in payload["findings"] if f["code"] == "split_overlap")
    assert overlap["severity"] == "info" and overlap["evidence"]["same_as_train"] == ["val", "test"]
    assert "the dataset itself uses its training samples as its val and test splits" in overlap["message"]
    samples = overlap["evidence"]["samples"]["val"]
    assert f"{samples} of {samples} val samples" in overlap["message"]
    small = next(f for f in payload["findings"] if f["code"] == "small_eval_split")
    if config == "rnn_hello":  # one sequence, a label per step: the two findings count the same split alike
        assert "only 5 predictions (a label per step of 1 sequence(s))" in small["message"]


def small_split_fix(payload: dict) -> str:
    return next(f for f in payload["findings"] if f["code"] == "small_eval_split")["fix"]


def test_a_small_val_split_of_the_datasets_own_is_not_told_to_change_data_val_split(cli):
    """toy_classes ships its own val split: data.val_split would be accepted and ignored."""
    payload = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=2")
    fix = small_split_fix(payload)
    assert "data.val_split=" not in fix and "ships its own val split" in fix
    check_fixes_are_accepted(cli, CONFIGS / "toy_classes.yaml", ["train.epochs=2"], payload["findings"])


@pytest.mark.parametrize("given, suggested", [(0.1, "data.val_split=0.2"), (0.3, "data.val_split=0.5"), (6, "=12")])
def test_a_small_held_out_val_split_is_told_to_hold_out_more_than_it_does(cli, tmp_path, given, suggested):
    x = np.random.default_rng(0).normal(size=(60, 2))
    config = write_csv(tmp_path, x, (x[:, 0] > 0).astype(int), val_split=given)
    config["train"]["epochs"] = 2
    payload = train_table(cli, tmp_path, config)
    assert suggested in small_split_fix(payload)
    more = cli.json("train", tmp_path / "c.yaml", "data.val_split=" + suggested.split("=")[-1])
    assert more["baseline"]["val"]["samples"] > payload["baseline"]["val"]["samples"]


def test_a_val_split_of_half_the_data_is_told_to_get_more_data(cli, tmp_path):
    x = np.random.default_rng(0).normal(size=(40, 2))
    config = write_csv(tmp_path, x, (x[:, 0] > 0).astype(int), val_split=0.5, test_split=0.1)
    config["train"]["epochs"] = 2
    assert small_split_fix(train_table(cli, tmp_path, config)).startswith("more data:")


def test_a_run_from_before_held_out_splits_were_recorded_is_told_the_condition(cli, runs_dir):
    run_id = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=2")["run_id"]
    meta_path = runs_dir / run_id / "meta.json"
    meta = json.loads(meta_path.read_text())
    del meta["held_out"]
    meta_path.write_text(json.dumps(meta))
    fix = small_split_fix(cli.json("diagnose", run_id))
    assert "data.val_split=0.2" in fix and "unless the dataset ships its own val split" in fix


def test_continuous_generated_data_is_no_overlap_though_float32_values_collide(cli, runs_dir):
    """poly4_smooth_l1's 200,000 uniform float32 draws repeat by rounding (1.7% of test): no sample was copied."""
    payload = cli.json("train", CONFIGS / "poly4_smooth_l1.yaml", "train.max_steps=5")
    assert "split_overlap" not in codes(payload)
    meta = json.loads((runs_dir / payload["run_id"] / "meta.json").read_text())
    duplicates = meta["data_checks"]["duplicates"]
    assert duplicates["continuous_inputs"] is True and duplicates["test"] > 0.01 * duplicates["test_samples"]


def test_exact_copies_are_compared_byte_for_byte():
    import torch

    from learnai_cli.data.splits import DatasetSplits, TensorSplit
    from learnai_cli.experiment.data_checks import _duplicates

    train = TensorSplit(torch.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]), torch.zeros(3))
    val = TensorSplit(torch.tensor([[-0.0, 1.0], [2.0, 3.0], [4.0, 5.000001]]), torch.zeros(3))  # -0.0: other bytes
    assert _duplicates(DatasetSplits(train=train, val=val)) == {"val": 1, "val_samples": 3}
    same = _duplicates(DatasetSplits(train=train, val=train, continuous_inputs=True))
    assert same == {"val": 3, "val_samples": 3, "val_is_train": True, "continuous_inputs": True}


def test_rows_copied_across_splits_are_found(cli, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 3))
    x, labels = np.concatenate([x] * 4), np.tile((x[:, 0] > 0).astype(int), 4)  # every row four times
    payload = train_table(cli, tmp_path, write_csv(tmp_path, x, labels))
    overlap = next(f for f in payload["findings"] if f["code"] == "split_overlap")
    assert overlap["evidence"]["copies"]["val"] > 0 and "exact copies of training samples" in overlap["message"]
    assert overlap["severity"] == "warning" and "same_as_train" not in overlap["evidence"]
    assert overlap["fix"].startswith("remove duplicate rows")


def test_copied_images_are_told_to_remove_duplicate_files_not_rows():
    from learnai_cli.diagnose.finding import Run
    from learnai_cli.diagnose.setup import split_overlap

    checks = {"duplicates": {"val": 3, "val_samples": 10}}
    run = Run("r", {"data_checks": checks}, [], {"data": {"name": "image_folder", "root": "photos"}})
    assert split_overlap(run).fix.startswith("remove duplicate image files (the same picture under two names")


@pytest.mark.parametrize("scale", [1000.0, 0.001])
def test_features_far_from_unit_scale_are_found_when_not_standardised(cli, tmp_path, scale):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(80, 3)) * scale + 5 * scale
    labels = (x[:, 0] > 5 * scale).astype(int)
    payload = train_table(cli, tmp_path, write_csv(tmp_path, x, labels, standardize=False))
    assert "unscaled_inputs" in codes(payload)
    standardised = train_table(cli, tmp_path, write_csv(tmp_path, x, labels))
    assert "unscaled_inputs" not in codes(standardised)  # learnai scaled them: nothing to say


def test_imbalanced_classes_and_extra_outputs_are_said(cli, tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(100, 2))
    labels = (x[:, 0] > 1.2).astype(int)  # about 12% positives
    config = write_csv(tmp_path, x, labels)
    config["model"]["out_features"] = 4
    payload = train_table(cli, tmp_path, config)
    assert {"class_imbalance", "outputs_exceed_classes"} <= codes(payload)
    # chance is log(the data's 2 classes), not log(the model's 4 outputs): the extra outputs are no class at all
    assert payload["baseline"]["val"]["loss"] == pytest.approx(np.log(2), abs=1e-6)


def test_a_frozen_random_backbone_is_a_problem(cli, tmp_path):
    """Judged from the config: the zoo model's pretrained: false with freeze_backbone: true."""
    run_id = cli.json("train", CONFIGS / "linear_regression.yaml", "train.epochs=2")["run_id"]
    run_dir = cli.runs_dir / run_id
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    config["model"] = {"name": "zoo", "architecture": "resnet18", "pretrained": False, "freeze_backbone": True}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    diagnosis = cli.json("diagnose", run_id)
    assert "frozen_random_backbone" in codes(diagnosis, "problem")


def test_the_shipped_zoo_smoke_test_is_said_to_learn_nothing_for_its_documented_reasons(cli):
    """zoo_finetune runs offline on random fake_images with a random frozen backbone (docs/diagnose.md)."""
    payload = cli.json("train", CONFIGS / "zoo_finetune.yaml", "data.size=32", "train.epochs=1")
    assert "frozen_random_backbone" in codes(payload, "problem")
    assert codes(payload, "problem") <= {"frozen_random_backbone", "no_better_than_baseline"}, payload["findings"]


HEALTHY = [
    "linear_regression",
    "polynomial_regression",
    "poly4_smooth_l1",
    "generalfit",
    "toy_classes",
    "logistic_regression",
    "diabetes",
    "csv_example",
    "rnn_hello",
]


@pytest.mark.parametrize("config", HEALTHY)
def test_no_shipped_config_at_its_shipped_settings_gets_a_problem(cli, config):
    payload = cli.json("train", CONFIGS / f"{config}.yaml")
    assert not codes(payload, "problem"), payload["findings"]


def test_diagnose_reads_any_run_from_its_files_and_saves_its_findings(cli, runs_dir):
    run_id = cli.json("train", CONFIGS / "generalfit.yaml", "train.epochs=2")["run_id"]
    diagnosis = cli.json("diagnose", run_id)
    assert set(diagnosis) >= {"run_id", "baseline", "findings"} and diagnosis["run_id"] == run_id
    saved = json.loads((runs_dir / run_id / "diagnosis.json").read_text())
    assert saved["findings"] == diagnosis["findings"]
    text = cli("diagnose", run_id).stdout
    assert "not_converged" in text and "try: learnai train --resume" in text and "baseline (val)" in text


def test_a_run_from_before_baselines_is_still_diagnosed(cli, runs_dir):
    run_id = cli.json("train", CONFIGS / "diabetes.yaml", "optimizer.lr=50")["run_id"]
    meta_path = runs_dir / run_id / "meta.json"
    meta = json.loads(meta_path.read_text())
    for key in ("baseline", "data_checks", "model_outputs", "output_kind", "class_names"):
        meta.pop(key, None)
    meta_path.write_text(json.dumps(meta))
    diagnosis = cli.json("diagnose", run_id)
    assert diagnosis["baseline"] is None and "lr_too_high" in codes(diagnosis)


@pytest.mark.parametrize("damage", ["", "{not json", '{"type": "epoch", "epoch": "x"}\n'])
def test_a_damaged_or_empty_run_is_diagnosed_without_a_traceback(cli, runs_dir, damage):
    run_id = cli.json("train", CONFIGS / "linear_regression.yaml", "train.epochs=2")["run_id"]
    (runs_dir / run_id / "metrics.jsonl").write_text(damage)
    result = cli("diagnose", run_id, "--json")
    assert result.exit_code == 0, result.output
    found = codes(json.loads(result.stdout))
    assert "damaged_run" in found and "no_epochs" not in found  # it completed 2 epochs: their records were lost


def test_large_early_gradients_of_a_fresh_model_are_no_explosion(cli, runs_dir):
    """Issue 27: a healthy run's first readings have the largest gradients; only growth beyond the first reading's,
    or a step larger than the weights while the loss is not falling, is an explosion."""
    run_id = cli.json("train", CONFIGS / "linear_regression.yaml", "train.epochs=4", "train.log_every_steps=1")[
        "run_id"
    ]
    assert "exploding_gradients" not in codes(cli.json("diagnose", run_id))
    path = runs_dir / run_id / "metrics.jsonl"
    healthy = [json.loads(line) for line in path.read_text().splitlines()]
    health = [r for r in healthy if r.get("type") == "health"]
    assert len(health) >= 2

    def diagnosed(first_scale: float, last_scale: float, last_ratio: float) -> set[str]:
        records = json.loads(json.dumps(healthy))
        readings = [r for r in records if r.get("type") == "health"]
        for record, scale in ((readings[0], first_scale), (readings[-1], last_scale)):
            for layer in record["layers"]:
                layer["grad_norm"] *= scale
        readings[-1]["layers"][0]["update_ratio"] = last_ratio
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        return codes(cli.json("diagnose", run_id))

    assert "exploding_gradients" not in diagnosed(1e5, 1, 0.0)  # huge early gradients, then calm: the median rule fired
    assert "exploding_gradients" not in diagnosed(1, 1, 5.0)  # a weight crossing zero while the loss falls
    assert "exploding_gradients" in diagnosed(1, 1e5, 0.0)  # grown far beyond the first reading


def test_health_readings_are_recorded_at_the_log_interval_only(cli, runs_dir):
    run_id = cli.json("train", CONFIGS / "generalfit.yaml", "train.epochs=8", "train.log_every_steps=10")["run_id"]
    records = [json.loads(line) for line in (runs_dir / run_id / "metrics.jsonl").read_text().splitlines()]
    health = [r for r in records if r.get("type") == "health"]
    steps = [r["step"] for r in records if r.get("type") == "step"]
    # at log intervals only, at least 50 steps apart: every fifth interval of 10 steps, none in between
    assert health and [r["step"] for r in health] == [step for step in steps if step % 50 == 0]
    layer = health[-1]["layers"][0]
    assert set(layer) == {"name", "grad_norm", "weight_norm", "update_ratio"} and layer["grad_norm"] >= 0
    assert health[-1]["seconds"] > 0  # the reading's own cost
    assert {a["kind"] for a in health[-1]["activations"]} == {"relu"} and 0 <= health[-1]["activations"][0][
        "dead_fraction"
    ] <= 1
    assert cli("plot", run_id).exit_code == 0 and cli("runs").exit_code == 0  # readers take the new records


def test_the_baseline_stands_beside_the_results_in_eval_show_runs_and_diff(cli):
    first = cli.json("train", CONFIGS / "diabetes.yaml", "train.epochs=5")["run_id"]
    second = cli.json("train", CONFIGS / "diabetes.yaml", "train.epochs=5", "optimizer.lr=1e-6")["run_id"]
    report = cli.json("eval", first)
    assert report["baseline"]["accuracy"] > 0.5 and "always answering" in report["baseline"]["predictor"]
    assert "baseline" in cli("eval", first).stdout
    assert "baseline (val): accuracy" in cli("show", first).stdout
    rows = cli.json("runs", "--columns", "baseline")["runs"]
    assert {row["id"] for row in rows} == {first, second}
    assert all(isinstance(row["columns"]["baseline"], float) for row in rows), rows
    compared = {row["metric"]: row for row in cli.json("diff", first, second)["metrics"]}
    assert compared["baseline_val_accuracy"]["a"] == compared["baseline_val_accuracy"]["b"]


@pytest.mark.parametrize("diagnosis", [None, "[1, 2]", '{"findings": "overfitting"}', '{"findings": [1, {"code": 2}]}'])
def test_plot_marks_the_diagnosis_and_draws_the_health_chart_whatever_diagnosis_json_holds(cli, runs_dir, diagnosis):
    run_id = cli.json("train", CONFIGS / "generalfit.yaml", "train.epochs=4", "train.log_every_steps=5")["run_id"]
    if diagnosis is not None:
        (runs_dir / run_id / "diagnosis.json").write_text(diagnosis)
    written = cli.json("plot", run_id)["plots"]
    assert {p.rsplit("/", 1)[1] for p in written} >= {"loss.png", "health.png"}
    for path in written:
        assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_a_damaged_crashed_or_diverged_run_is_said_as_such(cli, runs_dir):
    damaged = cli.json("train", CONFIGS / "linear_regression.yaml", "train.epochs=2")["run_id"]
    (runs_dir / damaged / "config.yaml").write_text("{{{ not yaml")
    found = cli.json("diagnose", damaged)
    assert found["status"] == "damaged" and codes(found) == {"damaged_run"}
    crashed = cli.json("train", CONFIGS / "linear_regression.yaml", "train.epochs=2")["run_id"]
    meta_path = runs_dir / crashed / "meta.json"
    meta = {**json.loads(meta_path.read_text()), "status": "running", "locked": True, "pid": 2**22 + 7}
    meta_path.write_text(json.dumps(meta))  # its process gone without recording the end
    found = cli.json("diagnose", crashed)
    assert found["status"] == "crashed" and "crashed" in codes(found)
    check_fixes_are_accepted(cli, CONFIGS / "linear_regression.yaml", ["train.epochs=2"], found["findings"])
    diverged = cli("train", CONFIGS / "generalfit.yaml", "optimizer.lr=10", "--json")
    assert diverged.exit_code == 1
    error = json.loads(diverged.stdout)
    assert "lr_too_high" in {f["code"] for f in error["findings"]}  # the --json error carries the diagnosis too
    assert "lr_too_high" in codes(cli.json("diagnose", error["run_id"]), "problem")
