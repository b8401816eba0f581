"""`learnai export`: a trained model as a torch.export program, ONNX, safetensors, TorchScript or a state_dict in
the run's export/ folder, written only after the file, loaded back, matched the trained model on real inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from learnai_cli.atomic import write_atomic
from learnai_cli.commands.export import formats as export_formats
from learnai_cli.commands.export.preprocessing import (
    METADATA_KEY,
    Preprocessed,
    file_metadata,
    input_preprocessing,
    raw_inputs,
)
from learnai_cli.errors import ConfigError, DataError, ExportFailed, UsageError
from learnai_cli.rundir import RunDir
from learnai_cli.rundir.layout import EXPORT_FILES

FORMATS = tuple(EXPORT_FILES)
DEFAULT_FORMAT = "pt2"
# An exported output matches the trained model's when |exported - eager| <= ATOL + RTOL * |eager| everywhere.
RTOL, ATOL = 1e-3, 1e-4
EXAMPLE_BATCH, CHECK_BATCHES = 2, (1, 3, 5)  # checked on other batch sizes than the one exported with

__all__ = ["FORMATS", "DEFAULT_FORMAT", "export", "check_format", "sample_inputs", "verify", "verify_weights"]


def export(run: RunDir, fmt: str = DEFAULT_FORMAT, checkpoint: str = "best", verbose: bool = False) -> dict[str, Any]:
    check_format(fmt)
    graph = fmt in export_formats.GRAPH_FORMATS
    model, data, path, kind = _trained(run, checkpoint, fmt if graph else None)
    target = run.export_path(fmt, _checkpoint_tag(run, path))
    _check_writable(target)  # before the export, which may take seconds
    meta = run.meta(strict=False)
    prepared = input_preprocessing(meta, data)  # the graph takes raw inputs: the preprocessing goes inside it
    class_names = getattr(data, "class_names", None) or meta.get("class_names")
    metadata = file_metadata(prepared, graph, class_names, kind, run.id)
    if graph:
        exported = Preprocessed(model, prepared).eval() if prepared else model
        content, checked = _graph_export(fmt, exported, data, verbose, prepared, metadata)
    else:
        content = export_formats.to_bytes(fmt, model, None, {}, metadata)
        checked = verify_weights(fmt, content, model)
    _write(target, content)  # only now: a file that failed its check is never written
    return {
        "run_id": run.id,
        "format": fmt,
        "checkpoint": str(path),
        "path": str(target),
        "bytes": len(content),
        **json.loads(metadata[METADATA_KEY]),
        "outputs_count": meta.get("model_outputs"),
        **checked,
    }


def check_format(fmt: str) -> None:
    """A known format whose packages are installed, else a usage error saying what is valid or what to install."""
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)} (got '{fmt}')")
    export_formats.check_installed(fmt)


def _trained(run: RunDir, checkpoint: str, data_for: str | None):
    """(the trained model on the CPU, the run's data or None, the checkpoint's path, what its outputs are). The data
    is built only for `data_for`, a format whose check needs real inputs: the weights formats work without it."""
    from learnai_cli import registry
    from learnai_cli.commands.evaluate import checkpoint_path, trained_config
    from learnai_cli.data import fingerprint
    from learnai_cli.engine.checkpoint import load_checkpoint, load_model_state
    from learnai_cli.experiment import build_model
    from learnai_cli.experiment.outputs import output_kind

    path = checkpoint_path(run, checkpoint)
    experiment_config = trained_config(run, "cpu")
    data = None
    if data_for is not None:
        section = experiment_config.data
        fingerprint.warn_if_changed(run.data_fingerprint_path, section.name, section.kwargs)
        data = _run_data(experiment_config, data_for)
    model = build_model(experiment_config)
    load_model_state(model, load_checkpoint(path), path)  # another architecture: a message naming the first key
    kind = output_kind(registry.LOSSES.get(experiment_config.loss.name).meta, model)
    return model.eval(), data, path, kind


def _run_data(experiment_config, fmt: str):
    """The run's data splits; data that cannot be loaded is a usage error saying the format needs it, where it
    was expected, and that the weights formats do not."""
    from learnai_cli.data.fingerprint import data_paths
    from learnai_cli.experiment import build_data

    try:
        return build_data(experiment_config)[0]
    except (DataError, ConfigError) as error:
        section = experiment_config.data
        where = ", ".join(f"data.{arg}: {path}" for arg, path in data_paths(section.name, section.kwargs).items())
        raise UsageError(
            f"--format {fmt} is checked on real inputs from the run's data '{section.name}'"
            f"{f' ({where})' if where else ''}, which cannot be loaded: {error.message.rstrip('. ')}. "
            "Put the data back where the run's config.yaml says, or export the weights alone with "
            "--format safetensors or --format state_dict, which need no data."
        ) from None


def _checkpoint_tag(run: RunDir, path: Path) -> str:
    """'' for the run's best checkpoint (the default), 'last' for its last, else the checkpoint file's name in
    characters safe in a file name: exports of different checkpoints never overwrite each other."""
    import re

    resolved = path.resolve()
    for which in ("best", "last"):
        if resolved == run.checkpoint(which).resolve():
            return "" if which == "best" else which
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem).strip("._") or "checkpoint"


def _check_writable(target: Path) -> None:
    """Something other than a folder where export/ should be, or a folder where the file should be, is a usage
    error naming it, found before the export."""
    folder = target.parent
    if (folder.exists() or folder.is_symlink()) and not folder.is_dir():
        kind = "a file" if folder.is_file() else "a broken link" if not folder.exists() else "something else"
        raise UsageError(
            f"cannot write {target}: {folder} is {kind}, not a folder. Move it away or remove it, then export again."
        )
    if target.is_dir():
        raise UsageError(
            f"cannot write {target}: a folder has that name. Move it away or remove it, then export again."
        )


def _write(target: Path, content: bytes) -> None:
    """The export folder made and the file written atomically; any failure (permission denied, no space, a file
    in the way) is a usage error naming the path and the cause, with nothing written."""
    try:
        target.parent.mkdir(exist_ok=True)
        write_atomic(target, content)
    except OSError as error:
        _check_writable(target)  # the clearest words for a file or folder in the way, if that is the cause
        named = error.filename and Path(error.filename) in (target, target.parent)  # not write_atomic's temp file
        raise UsageError(
            f"cannot write {target}: {error.strerror or error}{f' ({error.filename})' if named else ''}; nothing was "
            f"written. Check that {target.parent} is a folder you can write to, with space left, then export again."
        ) from None


def _graph_export(fmt: str, model, data, verbose: bool, prepared, metadata) -> tuple[bytes, dict[str, Any]]:
    """The graph format's file and what its check ran: traced on one real batch, proven on others, all given as raw
    inputs (the run's data before its preprocessing) when the preprocessing is inside the graph."""
    example, checks, dynamic = sample_inputs(data)
    if prepared:
        example = raw_inputs(example, prepared)
        checks = [(what, raw_inputs(inputs, prepared)) for what, inputs in checks]
    graph = model.exportable() if hasattr(model, "exportable") else model
    with export_formats.quiet(verbose):
        content = export_formats.to_bytes(fmt, graph.eval(), example, dynamic, metadata)
        checked = verify(fmt, content, model, checks)
    return content, {
        "example_input_shape": list(example.shape),
        "dynamic_dims": _checked_dims(example, checks, dynamic),
        "checked_inputs": checked,
        "max_abs_diff": max(entry["max_abs_diff"] for entry in checked),
    }


def _checked_dims(example, checks: list[tuple[str, Any]], dynamic: dict[int, str]) -> dict[str, str]:
    """The dimensions the checks varied, which the file passed at other sizes than the example's: the same rule
    for every graph format (a torchscript trace declares none but was checked on them)."""
    varied = [axis for axis in dynamic if any(inputs.shape[axis] != example.shape[axis] for _, inputs in checks)]
    return {str(axis): dynamic[axis] for axis in varied}


def sample_inputs(data) -> tuple[Any, list[tuple[str, Any]], dict[int, str]]:
    """(the export example, the described check inputs, the dynamic axes), all from the run's own data: batches of
    other sizes than the example's and, for token sequences, other lengths too."""
    split_name, pool, distinct = _real_samples(data, max(CHECK_BATCHES))
    sequence = pool.dim() == 2 and not pool.is_floating_point()
    dynamic = {0: "batch", 1: "length"} if sequence else {0: "batch"}
    length = pool.shape[1] if sequence else None
    example = pool[:EXAMPLE_BATCH]
    if sequence and length > 2:
        example = example[:, : length - 1]  # checks use the full length and shorter ones
    checks = []
    for index, batch in enumerate(CHECK_BATCHES):
        inputs = pool[:batch]
        if sequence and index == 1 and length > 2:
            inputs = inputs[:, : max(2, length // 2)]  # a prefix of real sequences: names cut short, text so far
        what = _samples(batch, min(batch, distinct), split_name)
        if sequence:
            what += f", length {inputs.shape[1]}"
        checks.append((f"input {index + 1} ({what}, shape {list(inputs.shape)})", inputs))
    # Copies, not views: torch.export would also trace the shape of a view's larger base tensor.
    return example.clone(), [(what, inputs.clone()) for what, inputs in checks], dynamic


def _samples(batch: int, distinct: int, split_name: str) -> str:
    """'3 samples of the val split', or, from a split with fewer samples, its true count and that they repeat."""
    if distinct == batch:
        return f"{batch} sample{'s' if batch > 1 else ''} of the {split_name} split"
    if distinct == 1:
        return f"the {split_name} split's 1 sample, repeated {batch} times"
    return f"the {split_name} split's {distinct} samples, repeated to {batch}"


def _real_samples(data, count: int):
    """(split name, up to `count` inputs from the first split the run has (val, test, train), repeated when it has
    fewer, how many of them are different)."""
    import torch

    from learnai_cli.engine.batches import make_batches

    for name in ("val", "test", "train"):
        split = getattr(data, name)
        if split is not None and len(split) > 0:
            break
    else:
        raise UsageError("this run's data has no samples to check an export against")
    batches = make_batches(split, count, False, torch.device("cpu"), seed=0, limit=1, collate_fn=data.collate_fn)
    pool, _ = next(iter(batches))
    distinct = pool.shape[0]
    while pool.shape[0] < count:  # a one-sample dataset (rnn_hello): the same real input, batched
        pool = torch.cat([pool, pool])
    return name, pool[:count], distinct


def verify(fmt: str, data: bytes, model, checks: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Each check input through the loaded-back file and through the trained model; the first that fails or differs
    stops the export (exit 1), naming the input."""
    import torch

    try:
        exported = export_formats.loaded(fmt, data, model)
    except Exception as error:  # the file the exporter just made does not load: never write it
        raise ExportFailed(
            f"the {fmt} file does not load back: {export_formats.reason(error)}; nothing written."
        ) from None
    checked = []
    for what, inputs in checks:
        with torch.no_grad():
            expected = model(inputs).float()
            try:
                actual = exported(inputs).float()
            except Exception as error:
                raise ExportFailed(
                    f"the exported {fmt} model fails on {what}: {export_formats.reason(error)}; nothing written.",
                    details={"input": what},
                ) from None
        if actual.shape != expected.shape:
            raise ExportFailed(
                f"the exported {fmt} model gives shape {list(actual.shape)} on {what}, the trained model "
                f"{list(expected.shape)}; nothing written.",
                details={"input": what},
            )
        difference = float((actual - expected).abs().nan_to_num(0.0).max()) if expected.numel() else 0.0
        if not torch.allclose(actual, expected, rtol=RTOL, atol=ATOL, equal_nan=True):
            raise ExportFailed(
                f"the exported {fmt} model differs from the trained model on {what}: max abs difference "
                f"{difference:.3g} (allowed {ATOL:g} + {RTOL:g}·|output|); nothing written.",
                details={"input": what, "max_abs_diff": difference},
            )
        checked.append({"input": what, "shape": list(inputs.shape), "max_abs_diff": difference})
    return checked


def verify_weights(fmt: str, content: bytes, model) -> dict[str, Any]:
    """The weights file read back as a consumer reads it must load strictly into a copy of the model whose own
    weights were wiped, and hold every tensor of the trained model exactly: name, dtype, shape and values."""
    try:
        found = export_formats.weights(fmt, content)
        export_formats.loaded(fmt, content, model)
    except Exception as error:  # the file the exporter just made does not load: never write it
        raise ExportFailed(
            f"the {fmt} file does not load back: {export_formats.reason(error)}; nothing written."
        ) from None
    trained = model.state_dict()
    for name in sorted(set(trained) | set(found)):
        if name not in found or name not in trained or not _identical(found[name], trained[name]):
            held = f"{found[name].dtype} {list(found[name].shape)}" if name in found else "nothing"
            expected = f"{trained[name].dtype} {list(trained[name].shape)}" if name in trained else "nothing"
            raise ExportFailed(
                f"the {fmt} file's tensor '{name}' differs from the trained model's: the file holds {held}, the "
                f"model {expected} (or other values); nothing written.",
                details={"tensor": name},
            )
    # No inputs: the weights are compared themselves, and they are identical.
    checked = {"example_input_shape": None, "dynamic_dims": {}, "checked_inputs": [], "checked_tensors": len(trained)}
    return {**checked, "max_abs_diff": 0.0}


def _identical(found, trained) -> bool:
    """Same dtype, shape and values, NaN where the trained tensor has NaN."""
    import torch

    if found.dtype != trained.dtype or found.shape != trained.shape:
        return False
    if not found.is_floating_point():
        return torch.equal(found, trained)
    return torch.equal(found.isnan(), trained.isnan()) and torch.equal(found.nan_to_num(0.0), trained.nan_to_num(0.0))
