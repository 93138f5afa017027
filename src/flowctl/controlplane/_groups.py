"""Unwrap trio's strict exception groups where one error is all there is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


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
