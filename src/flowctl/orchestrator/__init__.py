"""Starting, following and stopping pipeline components (see interface.py)."""

from flowctl.orchestrator.interface import (
    ExitStatus,
    LaunchSpec,
    Orchestrator,
    OutputSink,
    RunningComponent,
)
from flowctl.orchestrator.process import ProcessOrchestrator

__all__ = [
    "ExitStatus",
    "LaunchSpec",
    "Orchestrator",
    "OutputSink",
    "ProcessOrchestrator",
    "RunningComponent",
]
