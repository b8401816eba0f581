"""The `learnai` command line: parse arguments, call one function in commands/, render its result.

torch is imported only by the commands that train or evaluate; each module here is named after the command (or
commands) it holds: `learnai X` is in cli/X.py (eval in evaluate.py; runs, show, rm and gc in runs.py; config and
schema in config.py).
"""

from __future__ import annotations

import json
import sys

import typer

from learnai_cli import __version__
from learnai_cli.cli import (
    config,
    diagnose,
    diff,
    evaluate,
    exiting,
    export,
    init,
    lr_find,
    plot,
    predict,
    report,
    runs,
    sweep,
    train,
    tune,
)
from learnai_cli.cli import list as listing  # as `list`, it would hide the builtin here
from learnai_cli.cli._shared import OutputFailed, complete_run_id
from learnai_cli.cli.help_display import Command, Group
from learnai_cli.errors import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_RUN_FAILED

__all__ = ["app", "main", "run", "complete_run_id"]

app = typer.Typer(
    name="learnai",
    cls=Group,
    help="Config-driven PyTorch experiments: train from YAML, then eval, plot and compare runs.\n\n"
    "Exit codes: 0 success, 1 the run failed (diverged, error in training), 2 bad usage or config, 130 interrupted, "
    "141 stdout closed early (| head).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback(invoke_without_command=True)
def root(
    context: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", metavar=""),
    json_output: bool = typer.Option(
        False, "--json", help='With --version: print {"ok": true, "version": ...} for scripts.', metavar=""
    ),
) -> None:
    """learnai: write a YAML file, train it, get a run directory with metrics, checkpoints and plots."""
    if version:
        print(json.dumps({"ok": True, "version": __version__}) if json_output else f"learnai {__version__}")
        raise typer.Exit()
    if context.invoked_subcommand is None:  # `learnai --json`: nothing was asked
        raise typer.BadParameter("give a command (learnai -h lists them); --json goes after it, or with --version")
    if json_output:
        raise typer.BadParameter(f"--json goes after the command: learnai {context.invoked_subcommand} ... --json")


# The commands in the order `learnai --help` lists them.
app.command(cls=Command)(train.train)
app.command("eval", cls=Command)(evaluate.evaluate)
app.command(cls=Command)(diagnose.diagnose)
app.command(cls=Command)(predict.predict)
app.command(cls=Command)(export.export)
app.command(cls=Command)(plot.plot)
app.command(cls=Command)(report.report)
app.command(cls=Command)(sweep.sweep)
app.command(cls=Command)(tune.tune)
app.command("lr-find", cls=Command)(lr_find.lr_find)
app.command("runs", cls=Command)(runs.list_runs)
app.command(cls=Command)(runs.show)
app.command(cls=Command)(diff.diff)
app.command("rm", cls=Command)(runs.remove)
app.command(cls=Command)(runs.gc)
app.command(cls=Command)(init.init)
app.command(cls=Command)(config.schema)
app.command("list", cls=Command)(listing.list_builders)
app.command("config", cls=Command)(config.config)


def run() -> None:
    """The `learnai` console script and `python -m learnai_cli`: main(), then the process ends as soon as its exit
    handlers have run, skipping CPython's shut-down (0.4-0.6 s once torch is imported; cli/exiting.py)."""
    exiting.end_quickly()
    try:
        main()
    except SystemExit as done:
        exiting.record_status(done.code)
        raise
    exiting.record_status(0)


def main() -> None:
    """Console-script entry point. SIGINT and SIGTERM interrupt every command the same way: exit 130, one line (a
    training command first writes last.pt once its loop is running)."""
    from learnai_cli.commands.train import stopping
    from learnai_cli.log import configure

    exiting.skip_collections_at_exit()
    try:
        stopping.install_interrupt_handlers()
        configure()
        app()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        _exit_after_signal(EXIT_BROKEN_PIPE)
    except OutputFailed as failed:  # e.g. `learnai runs > file` on a full disk: the command itself had done its work
        print(f"error: cannot write the output: {failed}", file=sys.stderr)
        _exit_after_signal(EXIT_RUN_FAILED)
    except SystemExit as done:
        if stopping.received:
            _exit_after_signal(EXIT_INTERRUPTED if done.code == 1 else done.code)  # 1: click's "Aborted!"
        if _stdout_closed():  # click met EPIPE (e.g. `learnai runs --json | head -c 10`) and exited 1
            _exit_after_signal(EXIT_BROKEN_PIPE)
        _json_for_usage_errors(done.code)
        raise


def _stdout_closed() -> bool:
    """Whether the reader of stdout went away: click (or typer's copy of it) then wraps stdout in a
    PacifyFlushWrapper and exits 1; Rich makes its console quiet and exits 1."""
    from learnai_cli.cli._shared import stdout

    return type(sys.stdout).__name__ == "PacifyFlushWrapper" or stdout.quiet


def _json_for_usage_errors(code) -> None:
    """A command line Click refused (unknown option, missing argument) still gives --json its one object on stdout;
    the message itself is the one printed on stderr."""
    from learnai_cli.cli._shared import JSON_PRINTED, print_json

    if "--json" in sys.argv[1:] and code not in (0, None) and not JSON_PRINTED:
        try:
            print_json({"ok": False, "exit_code": code, "error": "invalid command line (the message is on stderr)"})
        except (BrokenPipeError, OutputFailed):  # nobody reads stdout, or it is full: the refusal's code still tells
            _exit_after_signal(code)


def _exit_after_signal(code) -> None:
    """Exit with `code` at once. After a signal, CPython may have noted a KeyboardInterrupt that crossed C++ code
    (torch's import runs Python through pybind11) as unhandled, and would end the process by SIGINT (-2) instead."""
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # the reader is gone (a closed pipe): nothing more can reach it
            pass
    os._exit(code if isinstance(code, int) else EXIT_INTERRUPTED)
