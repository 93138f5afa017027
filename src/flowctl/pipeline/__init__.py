"""The pipeline file: its model, loading and validation, and the dependency order.

This layer knows nothing of processes, gRPC or terminals.
"""

from flowctl.pipeline.known_types import KNOWN_COMPONENT_TYPES
from flowctl.pipeline.loader import load_pipeline, parse_pipeline
from flowctl.pipeline.model import Component, ContainerSettings, Pipeline, Role, Volume

__all__ = [
    "KNOWN_COMPONENT_TYPES",
    "Component",
    "ContainerSettings",
    "Pipeline",
    "Role",
    "Volume",
    "load_pipeline",
    "parse_pipeline",
]
