"""The `flowctl` application. Commands load lazily so that `--help` and `list` stay quick."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cyclopts import App
from cyclopts.exceptions import CycloptsError

from flowctl import __version__
from flowctl.errors import EXIT_USAGE, FlowctlError

app = App(
    name="flowctl",
    help="Run data pipelines on one machine, with their gRPC control plane built in.",
    version=__version__,
)
app.command(
    "flowctl.cli.run_command:run",
    name="run",
    help="Run a pipeline: control plane, every component, logs, until Ctrl+C or a failure.",
)
app.command(
    "flowctl.cli.list_command:list_services",
    name="list",
    help="Show the services of the running control plane.",
)
# Kept for compatibility with the original tool; `flowctl run` embeds the same control plane.
app.command("flowctl.cli.server_command:server", name="server", show=False)


@app.command
def version() -> None:
    """Print flowctl's version."""
    print(f"flowctl {__version__}")


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry: run a command and exit with its status, never a traceback."""
    try:
        status = app(sys.argv[1:] if argv is None else list(argv), exit_on_error=False)
    except CycloptsError:
        # cyclopts has already printed the problem with the usage hint.
        sys.exit(EXIT_USAGE)
    except FlowctlError as error:
        # Imported only on this path: the report's tables pull in trio, which `version`
        # and `list` do not need (startup time is measured by scripts/bench/startup.py).
        from flowctl.cli.report import report_error

        report_error(error)
        sys.exit(error.exit_status)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)
