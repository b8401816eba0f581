"""train.record_predictions: the model's predictions on a fixed grid after every epoch, for `learnai plot --animate`."""

from __future__ import annotations

import json

import torch

from learnai_cli.atomic import append_line, write_atomic
from learnai_cli.engine.callbacks import Callback
from learnai_cli.rundir import RunDir

GRID_POINTS, DATA_POINTS = 200, 1000


class PredictionRecorder(Callback):
    """Appends one line per epoch to predictions.jsonl (append-only, like metrics.jsonl); build_experiment checked the
    data is 1-D."""

    def __init__(self, run: RunDir, inputs: torch.Tensor, targets: torch.Tensor):
        self.path = run.predictions_path
        low, high = float(inputs.min()), float(inputs.max())
        self.grid = torch.linspace(low, high, GRID_POINTS).view(-1, 1)
        if self.path.is_symlink() or not self.path.exists():  # a link is replaced, never written through
            shown = slice(0, DATA_POINTS)
            header = {
                "type": "grid",
                "x": self.grid.view(-1).tolist(),
                "data_x": inputs[shown].view(-1).tolist(),
                "data_y": targets[shown].view(-1).tolist(),
            }
            write_atomic(self.path, json.dumps(header) + "\n")

    @torch.no_grad()
    def on_epoch_end(self, trainer, record) -> None:
        was_training = trainer.model.training
        trainer.model.eval()
        predicted = trainer.model(self.grid.to(trainer.device)).float().view(-1).cpu()
        trainer.model.train(was_training)
        values = [round(v, 6) for v in predicted.tolist()]
        append_line(self.path, json.dumps({"type": "epoch", "epoch": record["epoch"], "y": values}))
