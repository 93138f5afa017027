"""Starting, following and stopping pipeline components (see interface.py).

Names load lazily: the watchdog process imports `flowctl.orchestrator.watchdog` and must
stay quick to start, without trio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowctl.orchestrator.guard import RunGuard, open_run_guard
    from flowctl.orchestrator.interface import (
        ExitStatus,
        LaunchSpec,
        Orchestrator,
        OutputSink,
        RunningComponent,
    )
    from flowctl.orchestrator.process import ProcessOrchestrator

_WHERE = {
    "ExitStatus": "interface",
    "LaunchSpec": "interface",
    "Orchestrator": "interface",
    "OutputSink": "interface",
    "RunningComponent": "interface",
    "ProcessOrchestrator": "process",
    "RunGuard": "guard",
    "open_run_guard": "guard",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)


__all__ = [
    "ExitStatus",
    "LaunchSpec",
    "Orchestrator",
    "OutputSink",
    "ProcessOrchestrator",
    "RunGuard",
    "RunningComponent",
    "open_run_guard",
]
