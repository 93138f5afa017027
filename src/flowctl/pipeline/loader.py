"""load_pipeline / parse_pipeline: from a file or text to a validated Pipeline."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from flowctl.errors import PipelineError
from flowctl.pipeline.components import read_component
from flowctl.pipeline.fields import (
    at,
    check_keys,
    describe,
    free_mapping,
    optional_text,
    present,
    require_mapping,
    required_text,
    text_map,
)
from flowctl.pipeline.interpolate import Interpolator, flowctl_environment
from flowctl.pipeline.model import Component, Pipeline, Role
from flowctl.pipeline.problems import Invalid
from flowctl.pipeline.validate import check_graph
from flowctl.pipeline.yaml_source import read_yaml

TOP_KEYS = ("apiVersion", "kind", "metadata", "spec")
METADATA_KEYS = ("name", "namespace", "labels", "annotations")
# `pipelines` (whole pipelines as components) exists in later revisions of the original;
# it is recognised so that the message can say it is not supported, not that it is unknown.
SPEC_KEYS = ("description", "driver", "config", "sources", "processors", "sinks", "pipelines")
SECTIONS = (("sources", Role.SOURCE), ("processors", Role.PROCESSOR), ("sinks", Role.SINK))


def load_pipeline(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> Pipeline:
    """Read and validate a pipeline file; PipelineError names the file, place and reason.

    `${NAME}` in values is expanded from `environ` (default: flowctl's environment)."""
    shown = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # -sig: tolerate a BOM
    except FileNotFoundError:
        raise PipelineError(shown, "", "no such file") from None
    except IsADirectoryError:
        raise PipelineError(shown, "", "is a folder, not a pipeline file") from None
    except UnicodeDecodeError as error:
        byte = error.object[error.start]
        reason = f"is not UTF-8 text (byte 0x{byte:02x} at offset {error.start})"
        raise PipelineError(shown, "", reason) from None
    except OSError as error:
        raise PipelineError(shown, "", f"cannot read the file: {error.strerror}") from None
    return parse_pipeline(text, Path(path), environ)


def parse_pipeline(text: str, file: Path, environ: Mapping[str, str] | None = None) -> Pipeline:
    """Validate pipeline YAML text; `file` names it in messages and its folder is the base dir."""
    variables = Interpolator(flowctl_environment(environ))
    try:
        pipeline = _pipeline(read_yaml(text), Path(os.path.abspath(file)), variables)
    except Invalid as problem:
        raise PipelineError(os.fspath(file), problem.place, problem.reason) from None
    shown = os.fspath(file)
    warnings = [f"{shown}: {warning}" for warning in variables.warnings]
    return dataclasses.replace(pipeline, warnings=tuple(warnings))


def _pipeline(document: Any, file: Path, variables: Interpolator) -> Pipeline:
    if document is None:
        raise Invalid(
            "",
            "the file is empty (no YAML document); "
            "a pipeline needs apiVersion, kind, metadata and spec",
        )
    top = require_mapping(document, "", "a mapping (apiVersion, kind, metadata, spec) at the top")
    check_keys(top, TOP_KEYS, "")
    required_text(top, "apiVersion", "", "missing 'apiVersion'; add 'apiVersion: v1' at the top")
    kind = required_text(top, "kind", "", "missing 'kind'; add 'kind: Pipeline' at the top")
    if kind != "Pipeline":
        raise Invalid("kind", f"must be 'Pipeline', got '{kind}'")
    metadata = _section(top, "metadata", "", "name: my-pipeline")
    check_keys(metadata, METADATA_KEYS, "metadata")
    name = required_text(metadata, "name", "metadata", "missing 'name'; give the pipeline a name")
    namespace = optional_text(metadata, "namespace", "metadata")
    labels = text_map(metadata, "labels", "metadata", "names to strings")
    annotations = text_map(metadata, "annotations", "metadata", "names to strings")
    spec = _section(top, "spec", "", "sources: [...]")
    check_keys(spec, SPEC_KEYS, "spec")
    if present(spec, "pipelines"):
        raise Invalid(
            "spec.pipelines",
            "nested pipelines are not supported by flowctl; "
            "run each pipeline with its own `flowctl run`",
        )
    description = optional_text(spec, "description", "spec")
    driver = optional_text(spec, "driver", "spec")
    config = free_mapping(spec, "config", "spec")
    return Pipeline(
        name=name,
        file=file,
        components=_components(spec, file.parent, variables),
        description=description,
        namespace=namespace,
        labels=MappingProxyType(labels),
        annotations=MappingProxyType(annotations),
        config=MappingProxyType(config),
        driver=driver,
    )


def _section(top: Mapping[str, Any], key: str, place: str, example: str) -> Mapping[Any, Any]:
    value = top.get(key)
    if value is None:
        raise Invalid(place, f"missing '{key}'; add a '{key}:' mapping (with e.g. {example})")
    return require_mapping(value, at(place, key), "a mapping")


def _components(
    spec: Mapping[str, Any], base_dir: Path, variables: Interpolator
) -> tuple[Component, ...]:
    components: list[Component] = []
    for key, role in SECTIONS:
        entries = spec.get(key)
        place = at("spec", key)
        if entries is None:
            entries = []
        elif not isinstance(entries, list):
            raise Invalid(place, f"expected a list of components, got {describe(entries)}")
        if role is Role.SOURCE and not entries:
            raise Invalid(place, "at least one source is required (a component under 'sources')")
        components += [
            read_component(entry, role, at(place, index), base_dir, variables)
            for index, entry in enumerate(entries)
        ]
    check_graph(components)
    return tuple(components)
