"""flowctl: run data pipelines on one machine, with their control plane built in.

`flowctl run pipeline.yaml` starts a gRPC control plane, starts every component of the
pipeline, waits until each one registered, and stops them all when it ends. The same is
available to trio programs and test suites, as async context managers:

    import trio
    import flowctl

    async def main() -> None:
        options = flowctl.RunOptions(control_plane_port=0)  # 0: a free port
        async with flowctl.open_pipeline("pipeline.yaml", options=options) as run:
            await run.wait_ready()  # every component registered (the barrier)
            with trio.fail_after(30):
                total = await run.wait_metric("src", "total_processed", lambda n: n >= 10)
            print(run.endpoint, total, run.components["src"].state)
        # leaving the block stopped every component; nothing is left running

    trio.run(main)

What is here:

- `open_pipeline(file, options=RunOptions(...))` -> `PipelineRun`: a whole pipeline.
  `run.components` maps each id to a live `ComponentView` (`ComponentState`, pid,
  `Registration`, last metrics, `ExitStatus`); `run.wait_ready()`, `run.wait_healthy(ids)`
  and `run.wait_metric(id, name, predicate)` wait on the run's events, never poll.
- `open_control_plane(port=0)` -> `EmbeddedControlPlane`: the control plane alone, for a
  component started by hand; `plane.wait_registered(ids, timeout)`, `plane.registry`.
- `load_pipeline(file)` -> `Pipeline`: read and validate a file without running it.
- Errors, all `FlowctlError` with a message fit for a user: `PipelineError` (a bad file),
  `ComponentStartError`, `PortInUse`, `ComponentFailed` (a component exited),
  `RegistrationTimeout`, `RunStopped` (a wait that the run's stop ended first).
  A failure of a run is raised out of its `async with` block, after everything stopped.
- The control-plane contract's messages (`ServiceInfo`, `ServiceHeartbeat`,
  `ServiceStatus`, `ServiceList`, `RegistrationAck`, `ServiceType`), and `ServiceRecord`,
  what the registry keeps of one registration.

Every wait is cancelled by its caller's cancel scope (`trio.fail_after`). Components are
written with `flowctl.sdk`; test suites get the pytest fixtures `flowctl_pipeline` and
`flowctl_control_plane` by installing flowctl (with pytest-trio), and helpers in
`flowctl.testing`. Everything else is internal and may change.

Names load on first use, so that `flowctl version` and `flowctl list` stay quick and
never import trio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> (module it lives in, whether its __module__ becomes "flowctl").
# As trio does, functions and errors say `flowctl.X` in tracebacks and help. Dataclasses and
# the generated messages keep theirs: `typing.get_type_hints` (and betterproto's decoding)
# resolve their annotations in the namespace of `__module__`.
_EXPORTS: dict[str, tuple[str, bool]] = {
    "load_pipeline": ("flowctl.pipeline", True),
    "Pipeline": ("flowctl.pipeline", False),
    "open_pipeline": ("flowctl.runner", True),
    "RunOptions": ("flowctl.runner", False),
    "PipelineRun": ("flowctl.runner", True),
    "ComponentView": ("flowctl.runner", False),
    "ComponentState": ("flowctl.runner", True),
    "Registration": ("flowctl.runner", False),
    "ExitStatus": ("flowctl.orchestrator", False),
    "OutputSink": ("flowctl.orchestrator", False),
    "open_control_plane": ("flowctl.controlplane", True),
    "EmbeddedControlPlane": ("flowctl.controlplane", False),
    "ServiceRecord": ("flowctl.controlplane", False),
    "FlowctlError": ("flowctl.errors", True),
    "PipelineError": ("flowctl.errors", True),
    "ComponentStartError": ("flowctl.errors", True),
    "ComponentFailed": ("flowctl.errors", True),
    "RegistrationTimeout": ("flowctl.errors", True),
    "PortInUse": ("flowctl.errors", True),
    "RunStopped": ("flowctl.errors", True),
    "ControlPlaneUnavailable": ("flowctl.errors", True),
    "ServiceInfo": ("flowctl._proto.flowctl", False),
    "ServiceHeartbeat": ("flowctl._proto.flowctl", False),
    "ServiceStatus": ("flowctl._proto.flowctl", False),
    "ServiceList": ("flowctl._proto.flowctl", False),
    "RegistrationAck": ("flowctl._proto.flowctl", False),
    "ServiceType": ("flowctl._proto.flowctl", False),
}

# The contract's message classes are exported but left out of __all__: pydoc (help())
# fails on them, reading a class property of betterproto's Message base.
_MESSAGES = {"ServiceInfo", "ServiceHeartbeat", "ServiceStatus", "ServiceList", "RegistrationAck"}
__all__ = sorted(set(_EXPORTS) - _MESSAGES)


def __getattr__(name: str) -> Any:
    try:
        module_name, rename = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module_name), name)
    if rename:
        value.__module__ = __name__
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*_EXPORTS, *(name for name in globals() if name.startswith("__"))})


if TYPE_CHECKING:
    from flowctl._proto.flowctl import RegistrationAck as RegistrationAck
    from flowctl._proto.flowctl import ServiceHeartbeat as ServiceHeartbeat
    from flowctl._proto.flowctl import ServiceInfo as ServiceInfo
    from flowctl._proto.flowctl import ServiceList as ServiceList
    from flowctl._proto.flowctl import ServiceStatus as ServiceStatus
    from flowctl._proto.flowctl import ServiceType as ServiceType
    from flowctl.controlplane import EmbeddedControlPlane as EmbeddedControlPlane
    from flowctl.controlplane import ServiceRecord as ServiceRecord
    from flowctl.controlplane import open_control_plane as open_control_plane
    from flowctl.errors import ComponentFailed as ComponentFailed
    from flowctl.errors import ComponentStartError as ComponentStartError
    from flowctl.errors import ControlPlaneUnavailable as ControlPlaneUnavailable
    from flowctl.errors import FlowctlError as FlowctlError
    from flowctl.errors import PipelineError as PipelineError
    from flowctl.errors import PortInUse as PortInUse
    from flowctl.errors import RegistrationTimeout as RegistrationTimeout
    from flowctl.errors import RunStopped as RunStopped
    from flowctl.orchestrator import ExitStatus as ExitStatus
    from flowctl.orchestrator import OutputSink as OutputSink
    from flowctl.pipeline import Pipeline as Pipeline
    from flowctl.pipeline import load_pipeline as load_pipeline
    from flowctl.runner import ComponentState as ComponentState
    from flowctl.runner import ComponentView as ComponentView
    from flowctl.runner import PipelineRun as PipelineRun
    from flowctl.runner import Registration as Registration
    from flowctl.runner import RunOptions as RunOptions
    from flowctl.runner import open_pipeline as open_pipeline
