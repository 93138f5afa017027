"""The pipeline model: what a validated pipeline file describes, and nothing about running it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from flowctl.pipeline import order
from flowctl.pipeline.lifecycle import RestartPolicy


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


class Role(StrEnum):
    """The section of the file a component was declared in."""

    SOURCE = "source"
    PROCESSOR = "processor"
    SINK = "sink"

    @property
    def service_type_name(self) -> str:
        """The control plane's name for this role (the proto enum's full name)."""
        return f"SERVICE_TYPE_{self.name}"


@dataclass(frozen=True)
class Volume:
    """A `volumes` entry: a host folder or file (absolute), or a named volume, and where it
    appears in the container."""

    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class ContainerSettings:
    """How a component with an `image` runs: as a container, with these compose-like keys."""

    image: str
    pull: str = "never"
    """"never" (the default) or "missing": pull the image when the engine lacks it."""
    volumes: tuple[Volume, ...] = ()
    network: str = "host"
    user: str | None = None
    working_dir: str | None = None
    """Inside the container (absolute); None: the image's."""


# Mapping fields are left out of the hash (they are not hashable) but still compared, so
# components and pipelines can be dict keys and equal values still compare equal.
@dataclass(frozen=True)
class Component:
    """One source, processor or sink, with its command fully resolved."""

    id: str
    role: Role
    type: str | None
    command: tuple[str, ...]
    """Full argv (command or the type's default, then `args`). With an image: `command`
    and `args` as written, replacing the image's command; empty for the image's own."""
    env: Mapping[str, str] = field(default_factory=_empty, hash=False)
    """The component's own environment from the file (not the inherited one)."""
    working_dir: Path = field(default_factory=Path.cwd)
    inputs: tuple[str, ...] = ()
    """Upstream components: data flows from them, and this one starts once they registered."""
    depends_on: tuple[str, ...] = ()
    """Components this one starts after (once they registered), with no data flow meant."""
    input_event_types: tuple[str, ...] = ()
    output_event_types: tuple[str, ...] = ()
    image: str | None = None
    config: Mapping[str, Any] = field(default_factory=_empty, hash=False)
    place: str = ""
    """Where it was declared, e.g. "spec.processors[1]", for messages."""
    extra: Mapping[str, Any] = field(default_factory=_empty, hash=False)
    """Accepted keys this layer does not interpret (volumes, ports, health_check, health_port,
    replicas, resources, secrets, and restart_policy as written), plus "args" when there is
    no command to append them to."""
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    """What happens when its process exits: restart_policy, max_restarts, restart_delay."""
    job: bool = False
    """Meant to finish: exit 0 is success (`completed`), and it need not register."""
    container: ContainerSettings | None = None
    """Set when the component has an `image`: it runs as a container, not a process."""

    @property
    def waits_for(self) -> tuple[str, ...]:
        """Every component that must have registered before this one starts, each once."""
        return tuple(dict.fromkeys((*self.inputs, *self.depends_on)))


@dataclass(frozen=True)
class Pipeline:
    """A validated pipeline: ids are unique, every input exists and there is no cycle."""

    name: str
    file: Path
    components: tuple[Component, ...]
    """Declaration order: sources, then processors, then sinks."""
    description: str | None = None
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=_empty, hash=False)
    annotations: Mapping[str, str] = field(default_factory=_empty, hash=False)
    config: Mapping[str, Any] = field(default_factory=_empty, hash=False)
    driver: str | None = None
    warnings: tuple[str, ...] = ()
    """What the file asks that flowctl does differently, one line each, with the file and
    the place (an unset variable, a key accepted but not implemented); shown at run start."""

    def component(self, component_id: str) -> Component:
        """The component with this id; KeyError if there is none."""
        for component in self.components:
            if component.id == component_id:
                return component
        raise KeyError(component_id)

    def start_levels(self) -> list[list[Component]]:
        """Groups that can start together, each after all earlier ones (stop: reversed).

        A component is in the level after the last of what it waits for (`waits_for`)."""
        return order.start_levels(self.components)

    def start_order(self) -> list[Component]:
        """Every component, after everything it waits for (inputs and depends_on)."""
        return [component for level in self.start_levels() for component in level]
