"""Which pipeline component is this registration? (design.md, "Registration").

Steps, first match wins:
  1. `service_id` equals a component id (the component honoured FLOWCTL_SERVICE_ID);
  2. `metadata["component_id"]` equals a component id;
  3. the registering connection belongs to a component's process tree (a later issue);
  4. exactly one component that has not registered yet declares the same service type and
     event types.
"""

from __future__ import annotations

from collections.abc import Set

from flowctl._proto import flowctl as pb
from flowctl.controlplane import Attachment, PeerInfo
from flowctl.pipeline import Component, Pipeline

BY_ID = "by id"
BY_METADATA = "by metadata"
BY_DECLARATION = "by declaration"


class PipelineAttacher:
    """Attaches registrations to the components of one pipeline."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._components = {component.id: component for component in pipeline.components}

    def attach(
        self, info: pb.ServiceInfo, peer: PeerInfo | None, attached: Set[str]
    ) -> Attachment | None:
        if info.service_id in self._components:
            return Attachment(info.service_id, BY_ID)
        claimed = info.metadata.get("component_id", "")
        if claimed in self._components:
            return Attachment(claimed, BY_METADATA)
        candidates = [
            component
            for component in self._components.values()
            if component.id not in attached and _declares_same(component, info)
        ]
        if len(candidates) == 1:
            return Attachment(candidates[0].id, BY_DECLARATION)
        return None


def _declares_same(component: Component, info: pb.ServiceInfo) -> bool:
    # Compare enum numbers, so that a number with no name simply matches nothing.
    wanted_type = pb.ServiceType[component.role.name].value
    return (
        int(info.service_type) == wanted_type
        and set(info.input_event_types) == set(component.input_event_types)
        and set(info.output_event_types) == set(component.output_event_types)
    )
