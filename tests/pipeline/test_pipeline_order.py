"""Start order from `inputs`: levels, any declaration order, and cycles."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flowctl.errors import PipelineError
from flowctl.pipeline import Component, Pipeline, Role, parse_pipeline


def pipeline(body: str) -> Pipeline:
    text = "apiVersion: v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n"
    text += textwrap.indent(textwrap.dedent(body), "  ")
    return parse_pipeline(text, Path("/pipelines/p.yaml"))


def ids(levels: list[list[Component]]) -> list[list[str]]:
    return [[component.id for component in level] for level in levels]


def test_diamond_starts_in_three_levels_and_stops_in_reverse() -> None:
    diamond = pipeline(
        """\
        sources: [{id: src, command: [x]}]
        processors:
          - {id: left, command: [x], inputs: [src]}
          - {id: right, command: [x], inputs: [src]}
        sinks: [{id: sink, command: [x], inputs: [left, right]}]
        """
    )
    assert ids(diamond.start_levels()) == [["src"], ["left", "right"], ["sink"]]
    assert ids(list(reversed(diamond.start_levels()))) == [["sink"], ["left", "right"], ["src"]]
    assert [c.id for c in diamond.start_order()] == ["src", "left", "right", "sink"]


def test_inputs_may_name_components_declared_later() -> None:
    # The original loader required inputs to be declared earlier; flowctl does not.
    chain = pipeline(
        """\
        sources: [{id: src, command: [x]}]
        processors:
          - {id: second, command: [x], inputs: [first]}
          - {id: first, command: [x], inputs: [src]}
        """
    )
    assert ids(chain.start_levels()) == [["src"], ["first"], ["second"]]
    assert [c.id for c in chain.components] == ["src", "second", "first"]


def test_within_a_level_declaration_order_wins() -> None:
    flat = pipeline(
        """\
        sources: [{id: b, command: [x]}, {id: a, command: [x]}]
        sinks: [{id: z, command: [x]}, {id: y, command: [x], inputs: [b]}]
        """
    )
    assert ids(flat.start_levels()) == [["b", "a", "z"], ["y"]]


def test_a_component_waits_for_its_latest_input() -> None:
    uneven = pipeline(
        """\
        sources: [{id: s, command: [x]}]
        processors:
          - {id: p1, command: [x], inputs: [s]}
          - {id: p2, command: [x], inputs: [p1]}
        sinks: [{id: k, command: [x], inputs: [s, p2]}]
        """
    )
    assert ids(uneven.start_levels()) == [["s"], ["p1"], ["p2"], ["k"]]


def test_a_source_with_inputs_starts_after_them() -> None:
    odd = pipeline(
        """\
        sources:
          - {id: late-source, command: [x], inputs: [early-source]}
          - {id: early-source, command: [x]}
        """
    )
    assert odd.component("late-source").role is Role.SOURCE
    assert ids(odd.start_levels()) == [["early-source"], ["late-source"]]


def cycle_error(body: str) -> PipelineError:
    with pytest.raises(PipelineError) as caught:
        pipeline(body)
    return caught.value


CYCLE_EXPLAINED = (
    " (each arrow goes from an input to the component that lists it); "
    "none of them could start first, so remove one of these inputs"
)


def test_three_component_cycle_is_named_in_data_flow_order() -> None:
    error = cycle_error(
        """\
        sources: [{id: s, command: [x]}]
        processors:
          - {id: b, command: [x], inputs: [a]}
          - {id: a, command: [x], inputs: [c]}
          - {id: c, command: [x], inputs: [s, b]}
        """
    )
    # It starts at the earliest-declared member: b reads a, a reads c, c reads b.
    assert error.place == "spec.processors[0]"
    assert error.reason == "cycle in inputs: b -> c -> a -> b" + CYCLE_EXPLAINED


def test_two_component_cycle_with_a_bystander_downstream() -> None:
    error = cycle_error(
        """\
        sources: [{id: s, command: [x]}]
        processors:
          - {id: after, command: [x], inputs: [p]}
          - {id: p, command: [x], inputs: [s, q]}
          - {id: q, command: [x], inputs: [p]}
        """
    )
    assert error.place == "spec.processors[1]"
    assert error.reason == "cycle in inputs: p -> q -> p" + CYCLE_EXPLAINED
    assert str(error) == f"/pipelines/p.yaml: spec.processors[1]: {error.reason}"


def test_a_cycle_among_sources_and_sinks() -> None:
    error = cycle_error(
        """\
        sources: [{id: s, command: [x], inputs: [k]}]
        sinks: [{id: k, command: [x], inputs: [s]}]
        """
    )
    assert error.place == "spec.sources[0]"
    assert error.reason == "cycle in inputs: s -> k -> s" + CYCLE_EXPLAINED


def test_a_hand_built_pipeline_with_an_unsatisfiable_input_refuses_to_order() -> None:
    # Pipelines built in code skip validation; ordering them must still not loop or guess.
    lonely = Component(id="a", role=Role.SINK, type=None, command=("x",), inputs=("ghost",))
    with pytest.raises(ValueError, match="never start: a"):
        Pipeline(name="p", file=Path("/p.yaml"), components=(lonely,)).start_levels()
