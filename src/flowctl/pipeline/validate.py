"""Checks across components: unique ids, inputs that name declared components, no cycles."""

from __future__ import annotations

from collections.abc import Sequence

from flowctl.pipeline.fields import at, did_you_mean
from flowctl.pipeline.model import Component
from flowctl.pipeline.order import find_cycle
from flowctl.pipeline.problems import Invalid


def check_graph(components: Sequence[Component]) -> None:
    _check_unique_ids(components)
    _check_inputs(components)
    _check_no_cycle(components)


def _check_unique_ids(components: Sequence[Component]) -> None:
    first_place: dict[str, str] = {}
    for component in components:
        earlier = first_place.setdefault(component.id, component.place)
        if earlier != component.place:
            raise Invalid(
                at(component.place, "id"),
                f"id '{component.id}' is already used by {earlier}; "
                "ids must be unique across sources, processors and sinks",
            )


def _check_inputs(components: Sequence[Component]) -> None:
    ids = [component.id for component in components]
    for component in components:
        for index, input_id in enumerate(component.inputs):
            place = at(at(component.place, "inputs"), index)
            if input_id == component.id:
                raise Invalid(place, f"component '{input_id}' lists itself as an input")
            if input_id not in ids:
                others = [i for i in ids if i != component.id]
                hint = did_you_mean(input_id, others, "declared components are")
                raise Invalid(place, f"unknown component '{input_id}'{hint}")


def _check_no_cycle(components: Sequence[Component]) -> None:
    cycle = find_cycle(components)
    if cycle is None:
        return
    path = " -> ".join(component.id for component in [*cycle, cycle[0]])
    raise Invalid(
        cycle[0].place,
        f"cycle in inputs: {path} (each arrow goes from an input to the component that "
        "lists it); none of them could start first, so remove one of these inputs",
    )
