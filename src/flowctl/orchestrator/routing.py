"""One orchestrator for a whole pipeline: processes and containers side by side.

A component with an image (LaunchSpec.container) runs as a container, any other as a
process; both kinds live in the same nursery, under the same barrier and the same stop.
The container side is created at its first use, so a run without images never needs an
engine (nor imports its HTTP client).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import trio

from flowctl.events import EventBus
from flowctl.orchestrator.guard import RunGuard
from flowctl.orchestrator.interface import (
    ContainerSpec,
    LaunchSpec,
    OutputSink,
    RunningComponent,
)
from flowctl.orchestrator.process import ProcessOrchestrator

if TYPE_CHECKING:
    from flowctl.orchestrator.container import ContainerOrchestrator
    from flowctl.orchestrator.engine_client import EngineAddress


class RoutingOrchestrator:
    def __init__(
        self,
        events: EventBus | None = None,
        cancel_grace: float = 10.0,
        guard: RunGuard | None = None,
        engine: EngineAddress | None = None,
    ) -> None:
        self._events = events
        self._cancel_grace = cancel_grace
        self._guard = guard or RunGuard()
        self._engine = engine
        self.processes = ProcessOrchestrator(events, cancel_grace, self._guard)
        self._containers: ContainerOrchestrator | None = None

    @property
    def run_id(self) -> str:
        return self._guard.run_id

    async def start(
        self, spec: LaunchSpec, nursery: trio.Nursery, on_output: OutputSink
    ) -> RunningComponent:
        if spec.container is None:
            return await self.processes.start(spec, nursery, on_output)
        return await self.containers.start(spec, nursery, on_output)

    @property
    def containers(self) -> ContainerOrchestrator:
        if self._containers is None:
            from flowctl.orchestrator.container import ContainerOrchestrator

            self._containers = ContainerOrchestrator(
                self._events, self._cancel_grace, self._guard, self._engine
            )
        return self._containers

    async def check_images(self, images: Mapping[str, ContainerSpec]) -> None:
        """Before anything starts: the engine answers and has every image a component with
        `pull: never` needs ({component id: its container}); ComponentStartError if not."""
        if images:
            await self.containers.check_images(images)

    async def aclose(self) -> None:
        if self._containers is not None:
            await self._containers.aclose()
