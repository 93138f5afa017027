"""`depends_on`: a start dependency without data flow, checked like `inputs`; and
`restart_policy`, read (tests/policies has the rest)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flowctl.errors import EXIT_USAGE, PipelineError
from flowctl.pipeline import Component, Pipeline, parse_pipeline

FILE = Path("/pipelines/p.yaml")


def pipeline(body: str) -> Pipeline:
    text = "apiVersion: v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n"
    text += textwrap.indent(textwrap.dedent(body), "  ")
    return parse_pipeline(text, FILE, environ={})


def error_of(body: str) -> PipelineError:
    with pytest.raises(PipelineError) as caught:
        pipeline(body)
    assert caught.value.exit_status == EXIT_USAGE
    return caught.value


def ids(levels: list[list[Component]]) -> list[list[str]]:
    return [[component.id for component in level] for level in levels]


def test_depends_on_orders_the_start_without_being_an_input() -> None:
    loaded = pipeline(
        """\
        sources:
          - {id: db, command: [x]}
          - {id: src, command: [x], depends_on: [db]}
        sinks: [{id: sink, command: [x], inputs: [src], depends_on: [db, src]}]
        """
    )
    src = loaded.component("src")
    assert src.depends_on == ("db",) and src.inputs == ()
    # Listed in both: waited for once.
    assert loaded.component("sink").waits_for == ("src", "db")
    assert ids(loaded.start_levels()) == [["db"], ["src"], ["sink"]]
    assert ids(list(reversed(loaded.start_levels()))) == [["sink"], ["src"], ["db"]]
    assert "depends_on" not in src.extra


def test_an_unknown_id_in_depends_on_is_named_with_a_suggestion() -> None:
    error = error_of(
        """\
        sources: [{id: database, command: [x]}]
        sinks: [{id: sink, command: [x], depends_on: [databse]}]
        """
    )
    assert error.place == "spec.sinks[0].depends_on[0]"
    assert error.reason == "unknown component 'databse', did you mean 'database'?"


def test_depends_on_itself_is_refused() -> None:
    error = error_of("sources: [{id: a, command: [x], depends_on: [a]}]\n")
    assert error.place == "spec.sources[0].depends_on[0]"
    assert error.reason == "component 'a' lists itself in depends_on"


def test_depends_on_must_be_a_list_of_ids() -> None:
    error = error_of("sources: [{id: a, command: [x], depends_on: {b: {}}}]\n")
    assert error.place == "spec.sources[0].depends_on"
    assert error.reason == "expected a list of component ids, got a mapping"


def test_a_cycle_through_inputs_and_depends_on_is_named() -> None:
    error = error_of(
        """\
        sources: [{id: s, command: [x], depends_on: [k]}]
        sinks: [{id: k, command: [x], inputs: [s]}]
        """
    )
    assert error.place == "spec.sources[0]"
    assert error.reason.startswith("cycle in inputs and depends_on: s -> k -> s (")
    assert "remove one of these entries" in error.reason


def test_restart_policy_is_read_and_no_longer_warned_about() -> None:
    loaded = pipeline(
        """\
        sources: [{id: src, command: [x], restart_policy: always}]
        sinks: [{id: sink, command: [x], restart_policy: on-failure}, {id: quiet, command: [x]}]
        """
    )
    assert loaded.component("src").extra["restart_policy"] == "always"  # kept as written
    assert loaded.component("src").restart.mode == "always"
    assert loaded.component("sink").restart.mode == "on-failure"
    assert loaded.component("quiet").restart.mode == "no"
    assert loaded.warnings == ()


def test_a_plain_file_has_no_warnings() -> None:
    assert pipeline("sources: [{id: src, command: [x]}]\n").warnings == ()
