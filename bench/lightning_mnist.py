"""configs/mnist_cnn.yaml written as a LightningCLI program, the way a competent Lightning user would: the same CNN
(conv-BN-ReLU-pool 16/32/64, linear head), cross-entropy, Adam at 0.01 with a one-cycle schedule stepped per batch
(25% warm-up), batch 256, bf16 autocast and channels_last; a LightningDataModule over torchvision's MNIST; the
Trainer's defaults otherwise (its logger, checkpointing, progress bar, sanity check).

Needs Lightning (pip install 'learnai[bench]'); bench/lightning.py runs it beside learnai:

    python bench/lightning_mnist.py --data.root data --trainer.max_epochs 1

It fits, tests on MNIST's test split (unless --test false), and prints one JSON line: training seconds and
samples (validation excluded), the test accuracy, the threads torch used. It imports nothing from learnai.
"""

from __future__ import annotations

import json
import time

import lightning as L
import torch
from lightning.pytorch.cli import LightningCLI
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, random_split
from torchvision import transforms
from torchvision.datasets import MNIST


class MnistCNN(L.LightningModule):
    def __init__(self, channels: tuple[int, ...] = (16, 32, 64), lr: float = 0.01, pct_start: float = 0.25):
        super().__init__()
        self.save_hyperparameters()
        blocks, n_in, side = [], 1, 28
        for n_out in channels:
            blocks += [
                nn.Conv2d(n_in, n_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(n_out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            n_in, side = n_out, side // 2
        self.net = nn.Sequential(*blocks, nn.Flatten(), nn.Linear(n_in * side * side, 10))
        self.net.to(memory_format=torch.channels_last)

    def forward(self, x):
        return self.net(x.contiguous(memory_format=torch.channels_last))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss)
        return loss

    def _evaluate(self, batch, stage: str):
        x, y = batch
        logits = self(x)
        self.log(f"{stage}_loss", F.cross_entropy(logits, y))
        self.log(f"{stage}_accuracy", (logits.argmax(1) == y).float().mean())

    def validation_step(self, batch, batch_idx):
        self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx):
        self._evaluate(batch, "test")

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=self.hparams.lr,
            total_steps=self.trainer.estimated_stepping_batches,
            pct_start=self.hparams.pct_start,
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


class MnistData(L.LightningDataModule):
    def __init__(self, root: str = "data", batch_size: int = 256, val_size: int = 5000, num_workers: int = 0):
        super().__init__()
        self.save_hyperparameters()
        self.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])

    def prepare_data(self):
        MNIST(self.hparams.root, train=True, download=True)
        MNIST(self.hparams.root, train=False, download=True)

    def setup(self, stage: str):
        if stage == "fit":
            full = MNIST(self.hparams.root, train=True, transform=self.transform)
            sizes = [len(full) - self.hparams.val_size, self.hparams.val_size]
            self.train_set, self.val_set = random_split(full, sizes, generator=torch.Generator().manual_seed(0))
        if stage == "test":
            self.test_set = MNIST(self.hparams.root, train=False, transform=self.transform)

    def _loader(self, dataset, shuffle: bool = False):
        workers = self.hparams.num_workers
        return DataLoader(
            dataset, self.hparams.batch_size, shuffle=shuffle, num_workers=workers, persistent_workers=workers > 0
        )

    def train_dataloader(self):
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self):
        return self._loader(self.val_set)

    def test_dataloader(self):
        return self._loader(self.test_set)


class TrainingTime(L.Callback):
    """Seconds and samples of the training batches' epochs, validation excluded (as learnai's samples/s)."""

    def __init__(self):
        self.seconds, self.samples, self.started = 0.0, 0, None

    def on_train_epoch_start(self, trainer, pl_module):
        self.started = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.samples += len(batch[1])

    def on_validation_start(self, trainer, pl_module):
        self._stop()

    def on_train_epoch_end(self, trainer, pl_module):
        self._stop()

    def _stop(self):
        if self.started is not None:
            self.seconds += time.perf_counter() - self.started
            self.started = None


class FitThenTest(LightningCLI):
    def add_arguments_to_parser(self, parser):
        parser.add_argument("--test", type=bool, default=True, help="test on MNIST's test split after fitting")


def main() -> None:
    timing = TrainingTime()
    cli = FitThenTest(
        MnistCNN,
        MnistData,
        run=False,
        seed_everything_default=0,
        trainer_defaults={"precision": "bf16-mixed", "max_epochs": 1, "callbacks": [timing]},
    )
    started = time.perf_counter()
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    fit_seconds = time.perf_counter() - started
    tested = cli.trainer.test(cli.model, datamodule=cli.datamodule, verbose=False)[0] if cli.config.test else {}
    print(
        json.dumps(
            {
                "train_seconds": round(timing.seconds, 3),
                "train_samples": timing.samples,
                "fit_seconds": round(fit_seconds, 3),
                "test_accuracy": round(float(tested["test_accuracy"]), 4) if tested else None,
                "threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
