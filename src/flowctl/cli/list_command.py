"""`flowctl list`: the services of a running control plane, from another terminal.

Imports asyncio and grpclib only (no trio): it should answer quickly.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Literal

from flowctl.errors import ControlPlaneUnavailable

if TYPE_CHECKING:
    from flowctl._proto.flowctl import ServiceList
    from flowctl._proto.flowctl.inspect import ServiceAttachment


def list_services(
    *,
    endpoint: str | None = None,
    output: Literal["table", "json"] = "table",
) -> int:
    """Show the services registered with the running control plane.

    Parameters
    ----------
    endpoint
        HOST:PORT of the control plane. Default: the newest running `flowctl run`,
        else localhost:8080 (a standalone `flowctl server`).
    output
        table for people, json (proto3 JSON of the ServiceList) for programs.
    """
    from flowctl.controlplane.client import fetch_attachments, fetch_services
    from flowctl.controlplane.json_format import service_list_to_json
    from flowctl.discovery import DEFAULT_ENDPOINT, live_runs

    hint = ""
    if endpoint is None:
        runs = live_runs()
        if runs:
            endpoint = runs[0].endpoint
            if len(runs) > 1:
                print(
                    f"flowctl: {len(runs)} runs are live; showing the newest "
                    f"(pipeline {runs[0].pipeline}, pid {runs[0].pid}); "
                    "choose another with --endpoint",
                    file=sys.stderr,
                )
        else:
            endpoint = DEFAULT_ENDPOINT
            hint = " (no `flowctl run` is running and no server answers on the default port)"
    target = endpoint

    async def fetch() -> tuple[ServiceList, dict[str, ServiceAttachment] | None]:
        services = await fetch_services(target)
        # The table has a column for which component each service is, when the server says.
        return services, (await fetch_attachments(target) if output == "table" else None)

    try:
        services, attachments = asyncio.run(fetch())
    except ControlPlaneUnavailable as error:
        if hint:
            raise ControlPlaneUnavailable(endpoint, error.detail + hint) from None
        raise
    if output == "json":
        print(service_list_to_json(services))
    else:
        from flowctl.cli.attachment_column import attachment_column
        from flowctl.console.service_table import render_service_table
        from flowctl.console.status_rows import SERVICE_COLUMNS

        extra = () if attachments is None else (attachment_column(attachments),)
        print(render_service_table(services.services, (*SERVICE_COLUMNS, *extra)))
    return 0
