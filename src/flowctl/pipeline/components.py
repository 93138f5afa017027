"""Reading one component entry: its keys, its types, and its command resolved to a full argv.

Variables (`${NAME}`, interpolate.py) are expanded here, in `env` values, `command`, `args`
and `working_dir`, so that an error names its place in the file.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from flowctl.pipeline.container_fields import CONTAINER_ONLY_KEYS, read_container
from flowctl.pipeline.fields import (
    at,
    check_keys,
    describe,
    free_mapping,
    optional_int,
    optional_text,
    plain,
    present,
    require_mapping,
    required_text,
    suggestion,
    text_list,
    text_map,
)
from flowctl.pipeline.interpolate import Interpolator
from flowctl.pipeline.known_types import KNOWN_COMPONENT_TYPES
from flowctl.pipeline.lifecycle import LIFECYCLE_KEYS, read_job, read_restart_policy
from flowctl.pipeline.model import Component, Role
from flowctl.pipeline.problems import Invalid

# Both spellings of the event-type keys occur in real files; snake_case is the original's.
EVENT_TYPE_KEYS = {
    "input_event_types": "inputEventTypes",
    "output_event_types": "outputEventTypes",
}
# Accepted for files written for the original (container use); passed through untouched.
EXTRA_KEYS = ("volumes", "ports", "health_check", "health_port", "replicas", "resources")
# Keys of later revisions of the original's component model. The original decoded YAML
# leniently, so files carry them; `secrets` is kept as plain data, not interpreted;
# `restart_policy` is kept as written too (for whoever runs containers) and read into the
# component's RestartPolicy (lifecycle.py). `depends_on`, the third, is a start dependency.
LATER_ORIGINAL_KEYS = ("secrets", "restart_policy")
COMPONENT_KEYS = (
    "id",
    "type",
    "command",
    "args",
    "env",
    "working_dir",
    "inputs",
    "depends_on",
    *(key for pair in EVENT_TYPE_KEYS.items() for key in pair),
    "image",
    *CONTAINER_ONLY_KEYS,
    "config",
    *EXTRA_KEYS,
    *LATER_ORIGINAL_KEYS,
    *(key for key in LIFECYCLE_KEYS if key not in LATER_ORIGINAL_KEYS),
)


def read_component(
    value: Any, role: Role, place: str, base_dir: Path, variables: Interpolator
) -> Component:
    """The component declared at `place`; relative paths resolve against `base_dir`."""
    data = require_mapping(value, place, "a component (a mapping with id, command, inputs...)")
    check_keys(data, COMPONENT_KEYS, place)
    component_id = required_text(
        data, "id", place, "missing 'id'; every component needs an id, unique in the pipeline"
    )
    component_type = optional_text(data, "type", place)
    image = optional_text(data, "image", place)
    container = read_container(data, place, image, base_dir, variables)
    if container is not None:
        # A container's command and working_dir are inside the image: taken as written.
        working_dir = base_dir
        command = _container_argv(data, place, variables)
    else:
        working_dir = _working_dir(data, place, base_dir, variables)
        command = _argv(data, place, component_type, working_dir, variables)
    extra = _extra(data, place, with_image=container is not None)
    restart = read_restart_policy(data, place)
    return Component(
        id=component_id,
        role=role,
        type=component_type,
        command=command,
        env=MappingProxyType(_env(data, place, variables)),
        working_dir=working_dir,
        inputs=text_list(data, "inputs", place, "component ids"),
        depends_on=text_list(data, "depends_on", place, "component ids"),
        input_event_types=_event_types(data, "input_event_types", place),
        output_event_types=_event_types(data, "output_event_types", place),
        image=container.image if container is not None else None,
        container=container,
        config=MappingProxyType(free_mapping(data, "config", place)),
        place=place,
        extra=MappingProxyType(extra),
        restart=restart,
        job=read_job(data, place, restart),
    )


def _working_dir(
    data: Mapping[str, Any], place: str, base_dir: Path, variables: Interpolator
) -> Path:
    text = optional_text(data, "working_dir", place)
    if text is None:
        return base_dir
    text = variables.expand(text, at(place, "working_dir"))
    if not text:
        raise Invalid(at(place, "working_dir"), "must not be empty (leave it out for the default)")
    return base_dir / text  # an absolute value replaces base_dir


def _args(data: Mapping[str, Any], place: str, variables: Interpolator) -> tuple[str, ...]:
    return tuple(
        variables.expand(arg, at(at(place, "args"), index))
        for index, arg in enumerate(text_list(data, "args", place, "strings (arguments)"))
    )


def _container_argv(
    data: Mapping[str, Any], place: str, variables: Interpolator
) -> tuple[str, ...]:
    """`command` then `args`, as written (paths are the image's); empty: the image's own.

    A known `type`'s default command is not used: it names a program of this machine. As
    with `docker run IMAGE ARGS`, `args` alone replace the image's command."""
    command = _command(data, place, variables) if present(data, "command") else ()
    return (*command, *_args(data, place, variables))


def _argv(
    data: Mapping[str, Any],
    place: str,
    component_type: str | None,
    working_dir: Path,
    variables: Interpolator,
) -> tuple[str, ...]:
    """The full argv of a process: its command (or its type's), then `args`."""
    args = _args(data, place, variables)
    if present(data, "command"):
        command = _command(data, place, variables)
    elif component_type is not None and component_type in KNOWN_COMPONENT_TYPES:
        command = KNOWN_COMPONENT_TYPES[component_type]
    elif component_type is not None:
        raise Invalid(at(place, "type"), _no_default_command(component_type))
    else:
        raise Invalid(
            place,
            "nothing to run: add a 'command' (the program to run, e.g. command: [./bin/my-app]), "
            f"a known 'type' ({', '.join(KNOWN_COMPONENT_TYPES)}) or an 'image'",
        )
    program, *rest = command
    if "/" in program and not os.path.isabs(program):
        program = str(working_dir / program)  # "./bin/x" means "in the working directory"
    return (program, *rest, *args)


def _command(data: Mapping[str, Any], place: str, variables: Interpolator) -> tuple[str, ...]:
    value = data["command"]
    here = at(place, "command")
    if isinstance(value, list):
        listed = text_list(data, "command", place, "strings (the program, then arguments)")
        command = tuple(variables.expand(item, at(here, i)) for i, item in enumerate(listed))
    elif isinstance(value, Mapping):
        raise Invalid(here, "expected a list of strings or one string, got a mapping")
    else:
        # Expanded before it is split, as compose does: a value with spaces gives words.
        text = variables.expand(optional_text(data, "command", place) or "", here)
        try:
            command = tuple(shlex.split(text))
        except ValueError as error:  # e.g. an unclosed quote
            raise Invalid(here, f"cannot split {text!r} like a shell would: {error}") from None
    if not command:
        raise Invalid(here, "is empty; give the program to run, e.g. command: [./bin/my-app]")
    if not command[0]:
        expanded = " (after expanding its variables)" if "$" in str(value) else ""
        raise Invalid(at(here, 0), f"the program name is an empty string{expanded}")
    return command


def _no_default_command(component_type: str) -> str:
    add_command = "add a 'command' (the program to run, e.g. command: [./bin/my-app])"
    close = suggestion(component_type, KNOWN_COMPONENT_TYPES)
    if close is not None:
        return (
            f"there is no default command for type '{component_type}', "
            f"did you mean '{close}'? Or {add_command}."
        )
    known = ", ".join(KNOWN_COMPONENT_TYPES)
    return (
        f"there is no default command for type '{component_type}' (known types: {known}); "
        + add_command
    )


def _env(data: Mapping[str, Any], place: str, variables: Interpolator) -> dict[str, str]:
    env = text_map(data, "env", place, "variable names to values")
    for name in env:
        if not name or "=" in name or "\0" in name:
            raise Invalid(at(place, "env"), f"{name!r} is not a usable environment variable name")
    # Only values are expanded; names are taken as written (as compose does).
    return {
        name: variables.expand(value, at(at(place, "env"), name)) for name, value in env.items()
    }


def _event_types(data: Mapping[str, Any], key: str, place: str) -> tuple[str, ...]:
    camel = EVENT_TYPE_KEYS[key]
    snake_value = text_list(data, key, place, "event type names")
    camel_value = text_list(data, camel, place, "event type names")
    if present(data, key) and present(data, camel) and snake_value != camel_value:
        raise Invalid(
            place,
            f"'{key}' and '{camel}' are two spellings of the same key and are set to "
            f"different values ({list(snake_value)} and {list(camel_value)}); keep one",
        )
    return snake_value or camel_value


def _extra(data: Mapping[str, Any], place: str, *, with_image: bool) -> dict[str, Any]:
    """Keys kept as plain data, checked for their shape (`volumes` of a component with an
    image are read by container_fields.py instead)."""
    extra: dict[str, Any] = {}
    for key in ("ports",) if with_image else ("volumes", "ports"):
        items = data.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise Invalid(at(place, key), f"expected a list of mappings, got {describe(items)}")
        for index, item in enumerate(items):
            require_mapping(item, at(at(place, key), index), "a mapping")
        extra[key] = plain(items, at(place, key))
    if present(data, "resources"):
        extra["resources"] = free_mapping(data, "resources", place)
    health_check = optional_text(data, "health_check", place)
    if health_check is not None:
        extra["health_check"] = health_check
    for key in LATER_ORIGINAL_KEYS:
        if present(data, key):
            extra[key] = plain(data[key], at(place, key))
    for key in ("health_port", "replicas"):
        number = optional_int(data, key, place)
        if number is not None:
            extra[key] = number
    return extra
