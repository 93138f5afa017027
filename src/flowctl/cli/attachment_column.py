"""The ATTACHED column of `flowctl list`: which pipeline component each service is, and how
flowctl knew (from the flowctl.inspect service; the wire contract has no field for it)."""

from __future__ import annotations

from collections.abc import Mapping

from flowctl._proto.flowctl import inspect as pb_inspect
from flowctl.console.status_rows import StatusRow
from flowctl.console.text_table import Column

NO_PIPELINE = "the server runs no pipeline"


def attachment_label(service_id: str, attachment: pb_inspect.ServiceAttachment | None) -> str:
    """`by process`; `proc by metadata` when the service id is not the component's;
    `no: <why>` for a registration attached to no component."""
    if attachment is None:
        return ""
    if not attachment.component_id:
        # No reason is recorded only where nothing attaches: a server that runs no pipeline.
        return f"no: {attachment.unattached_reason or NO_PIPELINE}"
    if attachment.component_id == service_id:
        return attachment.attached_by
    return f"{attachment.component_id} {attachment.attached_by}"


def attachment_column(
    attachments: Mapping[str, pb_inspect.ServiceAttachment],
) -> Column[StatusRow]:
    return Column("ATTACHED", lambda row: attachment_label(row.id, attachments.get(row.id)))
