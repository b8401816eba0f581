"""Progress on a terminal: a Rich bar with live loss, one line per epoch above it."""

from __future__ import annotations

import json

from tests.conftest import CONFIGS

TOY = CONFIGS / "toy_classes.yaml"
LINEAR = CONFIGS / "linear_regression.yaml"


def epoch_records(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == "epoch"]


def test_rich_progress_bar_on_a_terminal(tmp_path):
    """The interactive path: a Rich bar with live loss, epoch lines printed above it."""
    import io

    from learnai_cli import config as config_module
    from learnai_cli.engine.trainer import Trainer
    from learnai_cli.experiment import build_experiment
    from learnai_cli.recorders.progress import ProgressReporter

    config = config_module.load(TOY, ["train.epochs=3", "train.log_every_steps=1"])
    experiment = build_experiment(config)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream, lines = Terminal(), []
    reporter = ProgressReporter(interactive=True, echo=lines.append, stream=stream)
    trainer = Trainer(
        experiment.model,
        experiment.loss_fn,
        experiment.optimizer,
        experiment.batches("train", shuffle=True),
        experiment.batches("val"),
        config.train,
        experiment.task,
        experiment.from_logits,
        callbacks=[reporter],
    )
    trainer.fit()
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert "epoch 3/3" in stream.getvalue() and reporter.progress is None
