"""What every command of the CLI shares: consoles, common options, error reporting, --json output."""

from __future__ import annotations

import json
import math
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import typer
from rich.console import Console
from rich.text import Text

from learnai_cli.errors import EXIT_INTERRUPTED, LearnaiError, UsageError

stdout = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)  # logs and pipes get full tables
stderr = Console(stderr=True, soft_wrap=True)

JSON_HELP = "Print one JSON object on stdout and nothing else there (for scripts)."
RUNS_DIR_HELP = "Root folder of run directories."
OVERRIDES_HELP = (
    "key.path=value settings applied over the file, values parsed as YAML (e.g. optimizer.lr=0.1 train.epochs=3)."
)


def complete_run_id(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of RUN_ID arguments from the runs root: --runs-dir when the command line gives it, else
    LEARNAI_RUNS_DIR, else ./runs."""
    from learnai_cli import rundir

    given = ctx.params.get("runs_dir")
    try:
        candidates = ["latest", *[r.id for r in rundir.all_runs(rundir.runs_root(Path(given) if given else None))]]
    except (UsageError, OSError, ValueError):  # the runs root is a file, unreadable, ...: nothing more to complete
        candidates = ["latest"]
    return [c for c in candidates if c.startswith(incomplete)]


def complete_from(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    """Shell completion of an option that takes one of `choices` (not file names)."""

    def complete(incomplete: str) -> list[str]:
        return [choice for choice in choices if choice.startswith(incomplete)]

    return complete


JsonOption = typer.Option(False, "--json", help=JSON_HELP, metavar="")
PluginOption = typer.Option(
    None,
    "--plugin",
    help="Module or .py file to import for its registered builders (repeatable); plugins run code.",
    metavar="MODULE|FILE.py",
)


def _runs_dir(text: str) -> Path:
    """--runs-dir as a path; an empty one would quietly mean the current folder, so it is refused."""
    if not text.strip():
        raise typer.BadParameter("is empty: give the folder that holds your runs (default ./runs)")
    return Path(text)


RunsDirOption = typer.Option(
    None,
    "--runs-dir",
    envvar="LEARNAI_RUNS_DIR",
    help=RUNS_DIR_HELP,
    show_default="./runs",
    metavar="DIR",
    parser=_runs_dir,
)
RunIdArgument = typer.Argument(
    ...,
    help="Run directory name, a unique prefix of it, or 'latest'.",
    autocompletion=complete_run_id,
    metavar="RUN_ID",
)
CheckpointOption = typer.Option(
    "best", "--checkpoint", help="best, last, or a path to a .pt file.", metavar="best|last|PATH"
)  # completes file names too: a path is valid
DeviceOption = typer.Option(
    None,
    "--device",
    metavar="auto|cpu|cuda[:N]",
    autocompletion=complete_from(("auto", "cpu", "cuda")),
    help="Where to run the model (default: the run's device where this machine has it, else the CPU).",
)


@contextmanager
def reporting_errors(json_output: bool) -> Iterator[None]:
    """Turn learnai errors into a message on stderr (and a JSON object with --json) and the documented exit code.
    With --json, whatever else writes to sys.stdout meanwhile (a library's "View run ... at http://..." line, a
    plugin's print) goes to stderr: stdout holds the one JSON object and nothing else."""
    with _stdout_for_json_only(json_output):
        try:
            yield
        except LearnaiError as error:
            _fail(error.render(), error.exit_code, json_output, getattr(error, "details", None))
        except Declined as declined:
            stdout.print(str(declined), highlight=False)
            if json_output:
                print_json({"ok": True, "removed": [], "message": str(declined)})
        except KeyboardInterrupt:
            from learnai_cli.commands.train.stopping import received

            by = received[-1] if received else "Ctrl-C"
            _fail(f"{by} stopped the command before it finished", EXIT_INTERRUPTED, json_output)


JSON_STREAM: list = []  # the real stdout while --json sends everything else written to sys.stdout to stderr


@contextmanager
def _stdout_for_json_only(json_output: bool) -> Iterator[None]:
    if not json_output:
        yield
        return
    real = sys.stdout
    JSON_STREAM.append(real)
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout = real
        JSON_STREAM.pop()


def _fail(message: str, code: int, json_output: bool, details: dict[str, Any] | None = None) -> None:
    # An interrupt is the user's own doing: a notice, not an error. The message is printed as plain text so
    # no terminal width ever breaks the run id in `learnai train --resume <id>` across lines.
    label = (
        Text("interrupted: ", style="bold yellow") if code == EXIT_INTERRUPTED else Text("error: ", style="bold red")
    )
    stderr.print(label, end="")
    print(message, file=sys.stderr, flush=True)
    if json_output:  # details: what an error knows beyond its message, e.g. a damaged run's status and problem
        print_json({"ok": False, "exit_code": code, "error": message, **(details or {})})
    raise typer.Exit(code)


class Declined(Exception):
    """The user answered no: nothing happens and that is not an error (exit 0)."""


class OutputFailed(Exception):
    """stdout could not take the output (a full disk behind `> file`): main() says so and exits 1."""


JSON_PRINTED: list[bool] = []  # whether this process printed its --json object (main() prints one if not)


def print_json(payload: dict[str, Any]) -> None:
    """The one JSON object of --json, on stdout: strict JSON, so nan and inf (a prediction past float32) are null."""
    try:
        print(json.dumps(_finite(payload), default=str, allow_nan=False), file=JSON_STREAM[-1] if JSON_STREAM else None)
    except BrokenPipeError:
        raise  # the reader went away: main() exits 141
    except OSError as error:  # a full disk behind `> file`, for a result or an error alike
        raise OutputFailed(error.strerror or str(error)) from None
    JSON_PRINTED.append(True)


def pass_on_json(text: str) -> None:
    """Another process's --json object (a distributed job's rank 0), written to the real stdout as it came."""
    if text.strip():
        stream = JSON_STREAM[-1] if JSON_STREAM else sys.stdout
        stream.write(text)
        stream.flush()
        JSON_PRINTED.append(True)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def emit(result: dict[str, Any], json_output: bool, render: Callable[[dict[str, Any]], None]) -> None:
    """One JSON object on stdout with --json, else the command's own rendering."""
    try:
        if json_output:
            print_json({"ok": True, **result})
        else:
            render(result)
    except BrokenPipeError:
        raise  # the reader went away: main() exits 141
    except OSError as error:
        raise OutputFailed(error.strerror or str(error)) from None


def confirm(question: str, yes: bool) -> None:
    """Ask on a terminal; without one, only --yes confirms."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{question} Refusing without a terminal to ask on; pass --yes to confirm in scripts")
    if not typer.confirm(question):
        raise Declined("nothing was removed")


def metrics_text(record: dict[str, Any]) -> str:
    """'train_loss 0.1  val_loss 0.2  val_accuracy 0.9' from an epoch record."""
    keys = [k for k in record if k.endswith("loss") or k.startswith("val_")]
    return "  ".join(f"{k} {record[k]:.4g}" for k in keys if isinstance(record.get(k), (int, float)))


NoProgressOption = typer.Option(
    False, "--no-progress", help="Plain epoch lines even on a terminal (no progress bar).", metavar=""
)
