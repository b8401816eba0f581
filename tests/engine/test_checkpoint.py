"""Checkpoints: weights_only loading, format versions, round trips; a crafted pickle never runs."""

from __future__ import annotations

import pytest
import torch

from learnai_cli.engine.checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint
from learnai_cli.errors import UsageError


class CreatesAFile:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_crafted_pickle_checkpoint_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format_version": FORMAT_VERSION, "model": CreatesAFile(str(marker))}, evil, pickle_protocol=2)
    marker.unlink(missing_ok=True)  # saving does not run it; make sure nothing is there before loading
    with pytest.raises(UsageError, match="cannot load checkpoint .* safely"):
        load_checkpoint(evil)
    assert not marker.exists()


def test_checkpoint_round_trip_and_format_check(tmp_path):
    path = tmp_path / "ok.pt"
    save_checkpoint(path, {"model": {"w": torch.ones(2)}, "epoch": 3})
    assert load_checkpoint(path)["epoch"] == 3
    torch.save({"format_version": 999}, tmp_path / "future.pt")
    with pytest.raises(UsageError, match="format 999"):
        load_checkpoint(tmp_path / "future.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UsageError, match="cannot load checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
