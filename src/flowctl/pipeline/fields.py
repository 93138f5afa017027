"""Typed readers for the values of a YAML mapping; each names the place when a value is wrong."""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Collection, Mapping
from typing import Any

from flowctl.pipeline.problems import Invalid
from flowctl.pipeline.yaml_source import YamlList, YamlMap


def at(place: str, key: str | int) -> str:
    """The place of a key or index inside `place`: "spec" + "sources" -> "spec.sources"."""
    if isinstance(key, int):
        return f"{place}[{key}]"
    return f"{place}.{key}" if place else key


def describe(value: Any) -> str:
    """What a value is, in words a user knows from their file."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime.date):
        return "a date"
    return f"a {type(value).__name__}"


def suggestion(word: str, choices: Collection[str]) -> str | None:
    """The closest choice to a misspelt word, if one is close enough."""
    by_lower = {choice.lower(): choice for choice in choices}
    if word.lower() in by_lower:
        return by_lower[word.lower()]
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, choices: Collection[str], listing: str) -> str:
    """The end of a message: ", did you mean 'x'?" or else "; <listing>: a, b, c"."""
    close = suggestion(word, choices)
    if close is not None:
        return f", did you mean '{close}'?"
    return f"; {listing}: {', '.join(choices)}" if choices else ""


def check_keys(mapping: Mapping[Any, Any], known: Collection[str], place: str) -> None:
    for key in mapping:
        if not isinstance(key, str):
            raise Invalid(place, f"keys must be names, got {describe(key)} ({key!r})")
        if key not in known:
            hint = did_you_mean(key, known, "the keys allowed here are")
            raise Invalid(place, f"unknown key '{key}'{hint}")


def present(mapping: Mapping[str, Any], key: str) -> bool:
    """Whether the key is there with a value (`key:` with nothing after it counts as absent)."""
    return mapping.get(key) is not None


def require_mapping(value: Any, place: str, what: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise Invalid(place, f"expected {what}, got {describe(value)}")
    return value


def text_of(value: Any, raw: str | None) -> str | None:
    """A scalar as the text written in the file (None for lists, mappings and null)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float | datetime.date):
        if raw is not None:
            return raw
        return str(value).lower() if isinstance(value, bool) else str(value)
    return None


def optional_text(mapping: Mapping[str, Any], key: str, place: str) -> str | None:
    value = mapping.get(key)
    if value is None:
        return None
    text = text_of(value, _raw(mapping, key))
    if text is None:
        raise Invalid(at(place, key), f"expected a string, got {describe(value)}")
    return text


def required_text(mapping: Mapping[str, Any], key: str, place: str, missing: str) -> str:
    """A non-empty string; `missing` is the whole reason given when the key is absent."""
    text = optional_text(mapping, key, place)
    if text is None:
        raise Invalid(place, missing)
    if not text:
        raise Invalid(at(place, key), "must not be empty")
    return text


def text_list(mapping: Mapping[str, Any], key: str, place: str, what: str) -> tuple[str, ...]:
    """A list of scalars as strings; `what` says what the list holds, e.g. "component ids"."""
    value = mapping.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise Invalid(at(place, key), f"expected a list of {what}, got {describe(value)}")
    texts = []
    for index, item in enumerate(value):
        text = text_of(item, _raw(value, index))
        if text is None:
            raise Invalid(at(at(place, key), index), f"expected a string, got {describe(item)}")
        texts.append(text)
    return tuple(texts)


def text_map(mapping: Mapping[str, Any], key: str, place: str, what: str) -> dict[str, str]:
    """A mapping of names to scalars, values as strings (null becomes an empty string)."""
    value = mapping.get(key)
    if value is None:
        return {}
    here = at(place, key)
    require_mapping(value, here, f"a mapping of {what}")
    result = {}
    for name, item in value.items():
        if not isinstance(name, str):
            raise Invalid(here, f"names must be strings, got {describe(name)} ({name!r})")
        text = "" if item is None else text_of(item, _raw(value, name))
        if text is None:
            raise Invalid(at(here, name), f"expected a string, got {describe(item)}")
        result[name] = text
    return result


def optional_int(mapping: Mapping[str, Any], key: str, place: str) -> int | None:
    value = mapping.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(at(place, key), f"expected a whole number, got {describe(value)}")
    return value


def free_mapping(mapping: Mapping[str, Any], key: str, place: str) -> dict[str, Any]:
    """A free-form mapping (e.g. `config`) as plain data; {} when absent."""
    value = mapping.get(key)
    if value is None:
        return {}
    require_mapping(value, at(place, key), "a mapping")
    return plain(value, at(place, key))


def plain(value: Any, place: str) -> Any:
    """A copy built of plain dicts and lists, for free-form data handed to other layers.

    Parts shared through YAML aliases stay shared (no exponential "billion laughs" copy);
    a part that contains itself is refused, since no other layer could use it.
    """
    copies: dict[int, Any] = {}
    open_parts: set[int] = set()

    def copy(item: Any) -> Any:
        if not isinstance(item, Mapping | list):
            return item
        key = id(item)
        if key in copies:
            return copies[key]
        if key in open_parts:
            raise Invalid(place, "contains itself through a YAML alias; write the value out")
        open_parts.add(key)
        if isinstance(item, Mapping):
            result: Any = {name: copy(part) for name, part in item.items()}
        else:
            result = [copy(part) for part in item]
        open_parts.discard(key)
        copies[key] = result
        return result

    return copy(value)


def _raw(container: Any, key: Any) -> str | None:
    if isinstance(container, YamlMap):
        return container.raw.get(key)
    if isinstance(container, YamlList) and key < len(container.raw):
        return container.raw[key]
    return None
