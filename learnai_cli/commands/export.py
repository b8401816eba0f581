"""`learnai export`: a trained model as TorchScript, ONNX or a plain state_dict, in the run's export/ folder."""

from __future__ import annotations

import contextlib
import io
import sys
import warnings
from typing import Any

from learnai_cli.atomic import write_atomic
from learnai_cli.errors import UsageError
from learnai_cli.rundir import RunDir

EXPORT_FILES = {"torchscript": "model.torchscript.pt", "onnx": "model.onnx", "state_dict": "model_state_dict.pt"}
FORMATS = tuple(EXPORT_FILES)


def export(run: RunDir, fmt: str, checkpoint: str = "best") -> dict[str, Any]:
    import torch

    from learnai_cli.commands.evaluate import load_trained
    from learnai_cli.engine.batches import make_batches

    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)} (got '{fmt}')")
    experiment, path, _ = load_trained(run, checkpoint)
    model = experiment.model.cpu().eval()
    cpu = torch.device("cpu")
    example, _ = next(
        iter(make_batches(experiment.data.train, 1, False, cpu, seed=0, limit=1, collate_fn=experiment.data.collate_fn))
    )
    target = run.export_dir / EXPORT_FILES[fmt]
    target.parent.mkdir(exist_ok=True)
    buffer = io.BytesIO()
    if fmt == "state_dict":
        torch.save(model.state_dict(), buffer)
    elif fmt == "torchscript":
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch marks jit as deprecated; it still loads everywhere
            traced = _convert(lambda: torch.jit.trace(model, example), "TorchScript")
            torch.jit.save(traced, buffer)
    else:
        _onnx(model, example, buffer)
    write_atomic(target, buffer.getvalue())
    shape = list(example.shape)
    return {"run_id": run.id, "format": fmt, "checkpoint": str(path), "path": str(target), "example_input_shape": shape}


def _onnx(model, example, buffer: io.BytesIO) -> None:
    import importlib.util

    import torch

    missing = [name for name in ("onnx", "onnxscript") if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"ONNX export needs the {' and '.join(missing)} package(s): pip install {' '.join(missing)}")
    with contextlib.redirect_stdout(sys.stderr):  # the exporter reports progress on stdout, which belongs to --json
        exported = _convert(lambda: torch.onnx.export(model, (example,), dynamo=True), "ONNX")
        exported.save(buffer)


def _convert(convert, what: str):
    try:
        return convert()
    except UsageError:
        raise
    except Exception as error:  # tracers reject some models; say so instead of a traceback
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise UsageError(f"this model cannot be exported to {what}: {first_line}; try --format state_dict") from None
