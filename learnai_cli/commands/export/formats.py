"""Each export format's two halves: a model to the bytes of its file, and those bytes loaded back into something
callable, so `learnai export` can prove the file before writing it."""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import logging
import re
import sys
import warnings
from typing import Callable, Iterator, Optional

from learnai_cli.errors import UsageError, clip

GRAPH_FORMATS = ("pt2", "onnx", "torchscript")  # the model's computation; the others hold only its weights
WEIGHT_FORMATS = ("safetensors", "state_dict")
NEEDS = {"onnx": ("onnx", "onnxscript", "onnxruntime"), "safetensors": ("safetensors",)}
EXTRAS = {"onnx": "onnx", "safetensors": "export"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
REASON_LIMIT = 300  # an exporter's reason is cut after the sentence that reaches this many characters

__all__ = ["GRAPH_FORMATS", "WEIGHT_FORMATS", "check_installed", "to_bytes", "loaded", "weights", "quiet", "reason"]


def check_installed(fmt: str) -> None:
    """A format whose packages are missing is a usage error naming the install command."""
    missing = [name for name in NEEDS.get(fmt, ()) if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(
            f"--format {fmt} needs the {', '.join(missing)} package(s): pip install 'learnai[{EXTRAS[fmt]}]'"
        )


@contextlib.contextmanager
def quiet(verbose: bool) -> Iterator[None]:
    """The exporters' progress lines and warnings: hidden, or with --verbose sent to stderr (stdout is --json's)."""
    if verbose:
        with contextlib.redirect_stdout(sys.stderr):
            yield
        return
    hidden, disabled = io.StringIO(), logging.root.manager.disable
    logging.disable(logging.WARNING)  # torch's shape warnings go through handlers that may hold the real stderr
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(hidden), contextlib.redirect_stderr(hidden):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(disabled)


def to_bytes(fmt: str, model, example, dynamic_shapes: dict[int, str], metadata: Optional[dict] = None) -> bytes:
    """The exported file's content, carrying `metadata` ({name: text}) where the format has a place for it (pt2 and
    torchscript: extra files NAME.json; onnx: metadata_props; safetensors: its header's metadata); a model the
    exporter rejects is a usage error saying which formats remain."""
    import torch

    buffer = io.BytesIO()
    try:
        with torch.no_grad():
            extra = {f"{name}.json": text for name, text in (metadata or {}).items()}
            if fmt == "pt2":
                program = torch.export.export(model, (example,), dynamic_shapes=_dims(dynamic_shapes))
                torch.export.save(program, buffer, extra_files=extra)
            elif fmt == "onnx":
                program = torch.onnx.export(model, (example,), dynamo=True, dynamic_shapes=_dims(dynamic_shapes))
                program.save(buffer)
                buffer = io.BytesIO(_with_onnx_metadata(buffer.getvalue(), metadata or {}))
            elif fmt == "torchscript":
                torch.jit.save(torch.jit.trace(model, example, check_trace=False), buffer, _extra_files=extra)
            else:
                buffer.write(_weights_bytes(fmt, model, metadata or {}))
    except UsageError:
        raise
    except Exception as error:  # exporters reject some models with long reports; their first sentences say why
        others = " or ".join(f"--format {other}" for other in GRAPH_FORMATS if other != fmt)
        raise UsageError(
            f"this model cannot be exported to {fmt}: {reason(error)}. "
            f"The weights formats ({', '.join(WEIGHT_FORMATS)}) always work, and {others} may work."
        ) from None
    return buffer.getvalue()


def _dims(dynamic_shapes: dict[int, str]) -> tuple[dict, ...]:
    from torch.export import Dim

    return ({axis: Dim(name, min=1) for axis, name in dynamic_shapes.items()},)


def _with_onnx_metadata(content: bytes, metadata: dict[str, str]) -> bytes:
    import onnx

    model = onnx.load_model_from_string(content)
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model.SerializeToString()


def _weights_bytes(fmt: str, model, metadata: dict[str, str]) -> bytes:
    import torch

    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    if fmt == "safetensors":
        from safetensors.torch import save

        return save(state, metadata=metadata or None)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def loaded(fmt: str, data: bytes, model) -> Callable:
    """The exported file read back the way a consumer would: a function from an input tensor to an output tensor.
    Weights formats are loaded into a copy of the model whose own weights were wiped first."""
    import torch

    if fmt == "pt2":
        return torch.export.load(io.BytesIO(data)).module()
    if fmt == "onnx":
        return _onnx_session(data)
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # jit is deprecated, which --help says
            return torch.jit.load(io.BytesIO(data))
    state = weights(fmt, data)
    fresh = copy.deepcopy(model)
    with torch.no_grad():
        for tensor in fresh.state_dict().values():
            tensor.fill_(float("nan") if tensor.is_floating_point() else 0)  # a weight left out cannot pass
    fresh.load_state_dict(state, strict=True)
    return fresh


def weights(fmt: str, data: bytes) -> dict:
    """A weights file's tensors, read as a consumer reads them: safetensors without pickle, a state_dict with
    torch.load(weights_only=True)."""
    import torch

    if fmt == "safetensors":
        from safetensors.torch import load

        return load(data)
    return torch.load(io.BytesIO(data), weights_only=True)


def _onnx_session(data: bytes) -> Callable:
    import onnxruntime
    import torch

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: onnxruntime's own notices would go straight to the terminal
    session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda inputs: torch.from_numpy(session.run(None, {name: inputs.numpy()})[0])


def reason(error: BaseException) -> str:
    """An exporter's error as plain whole sentences on one line, without the final full stop: its first paragraph
    with wrapped lines joined, no colour codes, cut only after a sentence (a very long one is clipped in the
    middle, saying so), never mid-sentence."""
    text = ANSI.sub("", str(error)).strip()
    paragraph = " ".join(re.split(r"\n\s*\n", text)[0].split()) if text else type(error).__name__
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z(\[`'\"])", paragraph)
    kept = sentences[0]
    for sentence in sentences[1:]:
        if len(kept) >= REASON_LIMIT:
            break
        kept = f"{kept} {sentence}"
    return clip(kept, 2 * REASON_LIMIT).rstrip(" .")
