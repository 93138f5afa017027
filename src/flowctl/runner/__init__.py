"""PipelineRunner: composes the control plane, the orchestrator and the barrier."""

from flowctl.runner.component_view import ComponentState, ComponentView, Registration
from flowctl.runner.pipeline_runner import OutputSink, PipelineRun, RunOptions, open_pipeline

__all__ = [
    "ComponentState",
    "ComponentView",
    "OutputSink",
    "PipelineRun",
    "Registration",
    "RunOptions",
    "open_pipeline",
]
