"""The `flowctl` application and its entry point.

Only the standard library (and flowctl's stdlib-only modules) load at module level: the
entry point must catch Ctrl+C from its first line, and everything heavier, cyclopts and
the commands included, loads inside `main()`'s handlers. Commands load lazily so that
`--help` and `list` stay quick.
"""

from __future__ import annotations

import atexit
import gc
import sys

from flowctl import __version__
from flowctl.cli.early_signals import defer_stop_signals

# Not typing.TYPE_CHECKING: `typing` alone takes longer to import than the rest of this
# module, and this is the window in which Ctrl+C is still Python's (see main).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from cyclopts import App
    from rich.console import Console

    from flowctl.errors import FlowctlError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl+C


_app: App | None = None


def get_app() -> App:
    """The application, built once, on first use."""
    global _app
    if _app is None:
        _app = _build_app()
    return _app


def _build_app() -> App:
    from cyclopts import App

    app = App(
        name="flowctl",
        help="Run data pipelines on one machine, with their gRPC control plane built in.",
        version=__version__,
    )
    app.command(
        "flowctl.cli.run_command:run",
        name="run",
        # cyclopts names an optional positional [ARGS]; this one is the pipeline file.
        usage="Usage: flowctl run [OPTIONS] [PIPELINE]",
        help="Run a pipeline: control plane, every component, logs, until Ctrl+C or a failure.",
    )
    app.command(
        "flowctl.cli.list_command:list_services",
        name="list",
        help="Show the services of a running control plane, or the live runs (--runs).",
    )
    app.command(
        "flowctl.cli.completion_command:completion",
        name="completion",
        help="Print the shell completion script for bash, zsh or fish.",
    )
    # Kept for compatibility with the original tool; `flowctl run` embeds the same control plane.
    app.command("flowctl.cli.server_command:server", name="server", show=False)
    app.command(version)
    return app


def version() -> None:
    """Print flowctl's version."""
    print(f"flowctl {__version__}")


def __getattr__(name: str) -> object:
    # `from flowctl.cli.app import app` still works, without building it at import time.
    if name == "app":
        return get_app()
    raise AttributeError(name)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry: run a command and exit with its status, never a traceback."""
    args = sys.argv[1:] if argv is None else list(argv)
    # Registered first, so it runs after every other exit handler: the objects alive then
    # are left out of the interpreter's last garbage collections, which cost about 100 ms
    # of every `flowctl run`'s Ctrl+C after its components had exited (nothing is skipped:
    # buffers are still flushed and exit handlers all run).
    atexit.register(gc.freeze)
    if _command_name(args) == "run":
        # Before any heavy import: Ctrl+C at any moment of a run's start stops it cleanly.
        defer_stop_signals()
    try:
        status = _dispatch(args)
        sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
    except BrokenPipeError:
        # The reader went away (`flowctl list | head -1`): end quietly, as `git log | head`
        # does. Status 0: nothing went wrong here, and `set -o pipefail` scripts keep going.
        _discard_stdout()
        status = EXIT_OK
    except KeyboardInterrupt:
        status = EXIT_INTERRUPTED
    sys.exit(status)


def _dispatch(args: list[str]) -> int:
    if args in (["version"], ["--version"]):
        # Without cyclopts (about 120 ms to import): the answer is one line.
        print(f"flowctl {__version__}" if args == ["version"] else __version__)
        return EXIT_OK
    if args[:1] == ["list"]:
        # Without cyclopts too, when the line is plain; else cyclopts reads it (its help
        # and its errors), as for every other command.
        from flowctl.cli.list_args import plain_list_arguments

        keywords = plain_list_arguments(args)
        if keywords is not None:
            return _list_services(keywords, args)
    from cyclopts.exceptions import CycloptsError

    from flowctl.errors import FlowctlError, UsageError

    app = get_app()
    if not args or {"--help", "-h", "--version"} & set(args):
        # Help goes through rich, loaded only when help is asked for (it costs ~60 ms).
        app.console = _pipe_aware_console()
    try:
        result = app(args, exit_on_error=False, print_error=False, result_action="return_value")
    except CycloptsError as error:
        # One style for every error: the `flowctl: error:` line (or a JSON object).
        _report(UsageError(str(error)), args)
        return EXIT_USAGE
    except FlowctlError as error:
        _report(error, args)
        return error.exit_status
    return result if isinstance(result, int) else EXIT_OK


def _list_services(keywords: dict[str, object], args: list[str]) -> int:
    from flowctl.cli.list_command import list_services
    from flowctl.errors import FlowctlError

    try:
        result = list_services(**keywords)  # type: ignore[arg-type]
    except FlowctlError as error:
        _report(error, args)
        return error.exit_status
    return result


def _pipe_aware_console() -> Console:
    from rich.console import Console

    class PipeAwareConsole(Console):
        """rich ends a closed pipe with status 1; flowctl ends it in one place (main)."""

        def on_broken_pipe(self) -> None:
            raise BrokenPipeError

    return PipeAwareConsole()


def _report(error: FlowctlError, args: list[str]) -> None:
    # Imported only on this path: the report's tables pull in more than `version` and
    # `list` need (startup time is measured by scripts/bench/startup.py).
    from flowctl.cli.report import report_error

    report_error(error, (), _log_format(args))


def _command_name(args: Sequence[str]) -> str | None:
    return next((arg for arg in args if not arg.startswith("-")), None)


def _log_format(args: Sequence[str]) -> str:
    """`--log-format json` asks for JSON errors too, even when the line did not parse."""
    for index, arg in enumerate(args):
        if arg == "--log-format=json" or (
            arg == "--log-format" and args[index + 1 :][:1] == ["json"]
        ):
            return "json"
    return "text"


def _discard_stdout() -> None:
    """Point fd 1 at /dev/null: what is still buffered has nowhere left to fail."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
