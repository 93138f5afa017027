"""Checks across components: unique ids, `inputs` and `depends_on` that name declared
components, no cycles through either."""

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
        for key, listed in (("inputs", component.inputs), ("depends_on", component.depends_on)):
            for index, other_id in enumerate(listed):
                place = at(at(component.place, key), index)
                if other_id == component.id:
                    where = "as an input" if key == "inputs" else "in depends_on"
                    raise Invalid(place, f"component '{other_id}' lists itself {where}")
                if other_id not in ids:
                    others = [i for i in ids if i != component.id]
                    hint = did_you_mean(other_id, others, "declared components are")
                    raise Invalid(place, f"unknown component '{other_id}'{hint}")


def _check_no_cycle(components: Sequence[Component]) -> None:
    cycle = find_cycle(components)
    if cycle is None:
        return
    path = " -> ".join(component.id for component in [*cycle, cycle[0]])
    links = zip(cycle, [*cycle[1:], cycle[0]], strict=True)
    if all(earlier.id in later.inputs for earlier, later in links):
        raise Invalid(
            cycle[0].place,
            f"cycle in inputs: {path} (each arrow goes from an input to the component that "
            "lists it); none of them could start first, so remove one of these inputs",
        )
    raise Invalid(
        cycle[0].place,
        f"cycle in inputs and depends_on: {path} (each arrow goes from a component to one "
        "that lists it in inputs or depends_on); none of them could start first, so remove "
        "one of these entries",
    )
