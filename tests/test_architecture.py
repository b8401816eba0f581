"""The layout's rules, checked on the source: what may import what, and how big a module or function may grow."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "learnai_cli"
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60


def modules() -> dict[str, Path]:
    """learnai_cli.x.y -> its file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _type_checking_lines(tree: ast.AST) -> set[int]:
    """Lines under `if TYPE_CHECKING:`: names for annotations, never imported when the code runs."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, child.end_lineno + 1))
    return lines


def imported(path: Path) -> set[str]:
    """Every learnai_cli module a file imports when it runs, at the top or inside functions: `from a import b` counts
    as a.b where b is a module, else as a."""
    known = modules()
    tree = ast.parse(path.read_text())
    skipped, names = _type_checking_lines(tree), set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                names.add(name if name in known else node.module)
    return {name for name in names if name.startswith("learnai_cli")}


LAYERS_ABOVE_BUILDERS = (
    "learnai_cli.cli",
    "learnai_cli.commands",
    "learnai_cli.experiment",
    "learnai_cli.recorders",
    "learnai_cli.rundir",
    "learnai_cli.plots",
    "learnai_cli.engine",
)
# Layer -> the packages/modules it must never import (docs/design.md, "Rules").
FORBIDDEN = {
    "learnai_cli.engine": ("learnai_cli.cli", "learnai_cli.commands", "learnai_cli.experiment", "learnai_cli.rundir",
                           "learnai_cli.recorders", "learnai_cli.plots"),
    "learnai_cli.recorders": ("learnai_cli.cli", "learnai_cli.commands", "learnai_cli.experiment"),
    "learnai_cli.commands": ("learnai_cli.cli",),
    "learnai_cli.experiment": ("learnai_cli.cli", "learnai_cli.commands", "learnai_cli.recorders", "learnai_cli.rundir",
                               "learnai_cli.plots"),
    "learnai_cli.models": LAYERS_ABOVE_BUILDERS + ("learnai_cli.config",),
    "learnai_cli.data": LAYERS_ABOVE_BUILDERS + ("learnai_cli.config",),
    "learnai_cli.plots": ("learnai_cli.cli", "learnai_cli.commands", "learnai_cli.experiment", "learnai_cli.engine",
                          "learnai_cli.recorders"),
    "learnai_cli.rundir": ("learnai_cli.cli", "learnai_cli.commands", "learnai_cli.experiment", "learnai_cli.engine",
                           "learnai_cli.recorders", "learnai_cli.plots"),
    "learnai_cli.config": LAYERS_ABOVE_BUILDERS,
    "learnai_cli.diagnose": (
        "learnai_cli.cli",
        "learnai_cli.commands",
        "learnai_cli.experiment",
        "learnai_cli.engine",
        "learnai_cli.recorders",
        "learnai_cli.plots",
        "learnai_cli.models",
        "learnai_cli.data",
    ),
    "learnai_cli.registry": LAYERS_ABOVE_BUILDERS + ("learnai_cli.config",),
    # `learnai report` reads run files as plot does: no training machinery, no model or data code (no torch)
    "learnai_cli.report": ("learnai_cli.cli", "learnai_cli.commands", "learnai_cli.experiment", "learnai_cli.engine",
                           "learnai_cli.recorders", "learnai_cli.models", "learnai_cli.data"),
}  # fmt: skip


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_import_rules(layer):
    broken = []
    for name, path in modules().items():
        if name == layer or name.startswith(layer + "."):
            for target in imported(path):
                if target.startswith(FORBIDDEN[layer]):
                    broken.append(f"{path.relative_to(REPO)} imports {target}")
    assert not broken, "\n".join(broken)


def test_no_import_cycles():
    """No module reaches itself through imports (lazy ones inside functions included): the layers stay a stack."""
    graph = {name: imported(path) for name, path in modules().items()}
    cycles = []
    for start in graph:
        path, seen = _path_back(graph, start)
        if path and min(path) == start:  # each cycle reported once, from its smallest module
            cycles.append(" -> ".join(path + [start]))
    assert not cycles, "\n".join(cycles)


def _path_back(graph: dict[str, set[str]], start: str) -> tuple[list[str], set[str]]:
    """A path of imports from `start` back to itself, if there is one (depth first)."""
    stack, seen = [(start, [start])], {start}
    while stack:
        node, path = stack.pop()
        for target in sorted(graph.get(node, ())):
            if target == start:
                return path, seen
            if target not in seen:
                seen.add(target)
                stack.append((target, path + [target]))
    return [], seen


def test_importing_the_plots_rundir_and_diagnose_packages_imports_neither_matplotlib_nor_torch():
    code = (
        "import sys, learnai_cli.plots, learnai_cli.rundir, learnai_cli.diagnose, learnai_cli.report; "
        "print('matplotlib' in sys.modules, 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.stdout.split() == ["False", "False"], done.stderr


# The modules that run torchvision's code, and so alone may import it (inside the functions that use it: importing
# torchvision imports its models and ops, and they torch._dynamo, over a second of start-up): image folders'
# transforms, FakeData and MNIST's downloads, the model zoo. MNIST files on disk are read by learnai itself.
TORCHVISION_USERS = ("learnai_cli.data.folders", "learnai_cli.data.vision", "learnai_cli.models.zoo")


def _imports_torchvision(path: Path) -> list[int]:
    """Lines of `path` that import torchvision (at the top or inside functions)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        if any(name == "torchvision" or name.startswith("torchvision.") for name in names):
            lines.append(node.lineno)
    return lines


def test_only_the_modules_that_use_torchvision_import_it():
    found = {name: _imports_torchvision(path) for name, path in modules().items()}
    strays = [f"{name} (line {lines[0]})" for name, lines in found.items() if lines and name not in TORCHVISION_USERS]
    assert not strays, f"torchvision imported outside {TORCHVISION_USERS}: {strays}"
    top_level = [name for name in TORCHVISION_USERS if _top_level_torchvision(modules()[name])]
    assert not top_level, f"import torchvision inside the functions that use it, not at the top of {top_level}"


def _top_level_torchvision(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    return any(
        isinstance(node, (ast.Import, ast.ImportFrom)) and node.lineno in _imports_torchvision(path)
        for node in tree.body
    )


VISION_RUN = """
import sys
from PIL import Image
from typer.testing import CliRunner
from learnai_cli.cli import app

root, runs = sys.argv[1:3]
Image.new("RGB", (40, 30), (200, 10, 10)).save(runs + "-digit.png")
commands = (
    ["train", "configs/mnist_cnn.yaml", "data.root=" + root, "data.download=false", "data.val_split=20", "--no-progress"],
    ["eval", "latest"], ["predict", "latest", runs + "-digit.png"], ["export", "latest"],
)
for arguments in commands:
    result = CliRunner().invoke(app, [*arguments, "--runs-dir", runs], catch_exceptions=False)
    assert result.exit_code == 0, (arguments[0], result.output)
    print(arguments[0], sorted(name for name in sys.modules if name.split(".")[0] == "torchvision")[:3])
"""


@pytest.mark.slow
def test_an_mnist_run_trains_evaluates_predicts_and_exports_without_importing_torchvision(mnist_root, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", VISION_RUN, str(mnist_root), str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["train []", "eval []", "predict []", "export []"], done.stdout


# Every file and folder name a run holds, spelled once, in rundir/layout.py (runs) or rundir/root.py (the runs root).
RUN_FILE_NAMES = (
    "config.yaml", "meta.json", "metrics.jsonl", "metrics.csv", "predictions.jsonl", "eval.json",
    "data_fingerprint.json", "diagnosis.json", "train.log", "last.pt", "best.pt", "loss.png", "fit.png", "health.png", "training.gif",
    "training.mp4", ".lock", "model_state_dict", ".pt2", ".onnx", ".safetensors", ".torchscript.pt",
    "summary.csv", "summary.json", "comparison.png", "landscape.png", "study.db", ".ask.lock", "mlflow.db",
    "mlartifacts", "report.html", "comparison.html",
)  # fmt: skip
RUN_FOLDER_NAMES = ("checkpoints", "plots", "eval", "export")  # tensorboard: also the logger's name
SPELLERS = ("learnai_cli.rundir.layout", "learnai_cli.rundir.root")
NOT_ABOUT_RUNS = ("learnai_cli.models",)  # torch hub's own cache has a checkpoints/ folder too


def _spellings(source: str) -> list[str]:
    """The run-file names a module spells: a string that is a run-file name, or a run folder's name used in a path
    (`x / "plots"`) or compared with one (`path.parent.name == "checkpoints"`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and node.value in RUN_FILE_NAMES:
            found.append(node.value)
        operands = [node.left, node.right] if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) else []
        operands += [node.left, *node.comparators] if isinstance(node, ast.Compare) else []
        found += [o.value for o in operands if isinstance(o, ast.Constant) and o.value in RUN_FOLDER_NAMES]
    return found


def test_run_file_names_are_spelled_only_in_the_run_directory_modules():
    spelled = [
        f"{path.relative_to(REPO)}: {name}"
        for module, path in modules().items()
        if module not in SPELLERS and not module.startswith(NOT_ABOUT_RUNS)
        for name in _spellings(path.read_text())
    ]
    assert not spelled, "\n".join(spelled)
    assert all(_spellings((REPO / "learnai_cli/rundir" / f"{m.rsplit('.', 1)[1]}.py").read_text()) for m in SPELLERS)


def test_no_module_or_function_is_too_long():
    too_long = []
    for path in modules().values():
        source = path.read_text()
        if source.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(REPO)}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}() is {length} lines")
    assert not too_long, "\n".join(too_long)


@pytest.mark.parametrize("check", [["check"], ["format", "--check"]])
def test_ruff(check):
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")  # a dev dependency
    assert ruff, "ruff is missing: pip install -c constraints.txt -e '.[dev]'"
    done = subprocess.run([ruff, *check, "."], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


# What docs/extending.md shows a plugin author: these modules say what is public.
PUBLIC_API = ("learnai_cli.registry", "learnai_cli.data.splits", "learnai_cli.engine.callbacks", "learnai_cli.errors")


@pytest.mark.parametrize("name", PUBLIC_API)
def test_the_public_api_modules_declare_what_is_public(name):
    import importlib

    module = importlib.import_module(name)
    assert module.__all__ and all(hasattr(module, exported) for exported in module.__all__)
