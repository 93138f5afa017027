"""Trio's strict exception groups, unwrapped where one error is all there is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

E = TypeVar("E", bound=BaseException)


@contextmanager
def lone_exceptions_unwrapped() -> Iterator[None]:
    """Re-raise a group holding a single exception as that exception.

    Trio wraps everything that crosses a nursery, so without this a caller could not
    write `except PortInUse`. Groups of several exceptions pass through unchanged.
    """
    try:
        yield
    except BaseExceptionGroup as group:
        lone = _lone_leaf(group)
        if lone is None:
            raise
        context = lone.__context__
        try:
            raise lone
        finally:
            # Raising here would record the group as context; keep the original one.
            lone.__context__ = context


def _lone_leaf(error: BaseException) -> BaseException | None:
    while isinstance(error, BaseExceptionGroup):
        if len(error.exceptions) != 1:
            return None
        error = error.exceptions[0]
    return error


def first_error_of_type(error: BaseException, wanted: type[E]) -> E | None:
    """The first exception of type `wanted` inside (possibly nested) groups, if any."""
    if isinstance(error, wanted):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = first_error_of_type(inner, wanted)
            if found is not None:
                return found
    return None
