"""What `flowctl list` adds from the flowctl.inspect service (the wire contract has no field
for it): the ATTACHED column, which pipeline component each service is and how flowctl
knew, and the run's word for its state (`restarting (2/5) in 4s`, `completed`)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from flowctl.console.state_words import restarting_words
from flowctl.console.status_rows import STATE, StatusRow
from flowctl.console.text_table import Column

if TYPE_CHECKING:
    from flowctl._proto.flowctl import inspect as pb_inspect
    from flowctl.controlplane.list_decoding import ListedAttachment

    # The generated message or the quick path's (list_decoding.py): the same fields.
    Attachment = pb_inspect.ServiceAttachment | ListedAttachment

NO_PIPELINE = "the server runs no pipeline"


def attachment_label(service_id: str, attachment: Attachment | None) -> str:
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
    attachments: Mapping[str, Attachment],
) -> Column[StatusRow]:
    return Column("ATTACHED", lambda row: attachment_label(row.id, attachments.get(row.id)))


def run_state_label(attachment: Attachment | None, now_unix_ms: int) -> str | None:
    """The run's word for the service's component, as the live view says it, or None when
    the server says nothing more than health (no run state: the component runs, or the
    server runs no pipeline or predates the field). The countdown is computed from the
    time the restart is due, at `now_unix_ms`, so it is as fresh as the table."""
    if attachment is None or not attachment.run_state:
        return None
    if attachment.run_state != "restarting":
        return attachment.run_state  # `completed`, `waiting to register`, or a newer word
    left = None
    if attachment.next_start_unix_ms:
        left = (attachment.next_start_unix_ms - now_unix_ms) / 1000
    return restarting_words(attachment.restart_attempt, attachment.max_restarts, left)


def inspect_columns(
    columns: Sequence[Column[StatusRow]],
    attachments: Mapping[str, Attachment],
    now_unix_ms: int | None = None,
) -> tuple[Column[StatusRow], ...]:
    """`columns` with the run's word in STATE where the server has one, then ATTACHED."""
    now = time.time_ns() // 1_000_000 if now_unix_ms is None else now_unix_ms

    def state(row: StatusRow) -> str:
        label = run_state_label(attachments.get(row.id), now)
        return row.state if label is None else label

    with_state = tuple(
        Column[StatusRow]("STATE", state) if column is STATE else column for column in columns
    )
    return (*with_state, attachment_column(attachments))
