"""Checks of `flowctl run`'s values that need the machine (the address, the log folder),
done before anything starts so that the message names the option and the real cause."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

from flowctl.errors import UsageError
from flowctl.pipeline import Pipeline
from flowctl.pipeline.fields import did_you_mean


def check_listen_address(address: str) -> None:
    """The address resolves and belongs to this machine, or UsageError says which not."""
    try:
        found = socket.getaddrinfo(address, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise UsageError(
            f"--control-plane-address {address}: cannot resolve it ({reason}); "
            "give an address of this machine, such as 127.0.0.1"
        ) from None
    family, kind, proto, _, sockaddr = found[0]
    # A trial bind on port 0 tells "not an address of this machine" apart from a taken
    # port, which the control plane reports itself (exit 1, pick another port).
    with socket.socket(family, kind, proto) as trial:
        try:
            trial.bind(sockaddr)
        except OSError as error:
            if error.errno == errno.EADDRNOTAVAIL:
                raise UsageError(
                    f"--control-plane-address {address}: {sockaddr[0]} is not an address "
                    "of this machine; give a local one, such as 127.0.0.1"
                ) from None
            raise UsageError(
                f"--control-plane-address {address}: cannot listen there ({error.strerror})"
            ) from None


def check_log_dir(log_dir: Path) -> None:
    """The folder exists or can be made: no file stands where it or a parent should be."""
    for folder in (log_dir, *log_dir.parents):
        if folder.is_dir():
            return
        if folder.exists():
            if folder == log_dir:
                raise UsageError(f"--log-dir {log_dir}: is a file, not a folder")
            raise UsageError(
                f"--log-dir {log_dir}: {folder} is a file, so no folder can be made in it"
            )


def check_exit_code_from(component_id: str | None, pipeline: Pipeline) -> None:
    """--exit-code-from names a component of the pipeline, or UsageError lists them."""
    ids = [component.id for component in pipeline.components]
    if component_id is None or component_id in ids:
        return
    hint = did_you_mean(component_id, ids, "its components are")
    raise UsageError(
        f"--exit-code-from {component_id}: not a component of pipeline "
        f"'{pipeline.name}' ({pipeline.file.name}){hint}"
    )
