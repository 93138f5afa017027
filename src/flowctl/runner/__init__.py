"""PipelineRunner: composes the control plane, the orchestrator and the barrier."""

from flowctl.runner.pipeline_runner import OutputSink, PipelineRun, RunOptions, open_pipeline

__all__ = ["OutputSink", "PipelineRun", "RunOptions", "open_pipeline"]
