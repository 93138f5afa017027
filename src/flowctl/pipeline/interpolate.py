"""Variable expansion in pipeline values, with docker compose's rules.

    $$                  a literal $
    $NAME, ${NAME}      the variable's value; unset: "" and a warning
    ${NAME:-default}    default when NAME is unset or empty   (${NAME-default}: when unset)
    ${NAME:?message}    an error when NAME is unset or empty   (${NAME?message}: when unset)
    ${NAME:+other}      other when NAME is set and non-empty   (${NAME+other}: when set)

The default, message and other words may hold expansions themselves (`${A:-${B:-x}}`);
they are expanded only when used, so an unused default never warns. A `$` followed by
anything else (`$1`, `$ `, a `$` at the end) is kept as written, as compose does. Values
come from flowctl's own environment when the file is read, never from a component's `env:`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping

from flowctl.pipeline.problems import Invalid

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Longest first: ":-" must not be read as ":" followed by a default "-...".
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")

FLOWCTL_PYTHON = "FLOWCTL_PYTHON"
"""The Python interpreter flowctl runs under (the one that can import flowctl.sdk); set for
expansion in the file and in every component's environment."""


def flowctl_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a pipeline file can use: `environ` (default: flowctl's own) and
    FLOWCTL_PYTHON."""
    variables = dict(os.environ if environ is None else environ)
    variables[FLOWCTL_PYTHON] = sys.executable
    return variables


class Interpolator:
    """Expands the values of one file; `warnings` collects what it had to guess."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.warnings: list[str] = []

    def expand(self, text: str, place: str) -> str:
        """`text` with its variables expanded; Invalid names `place` for `${X:?...}` and
        for a broken `${...}`."""
        if "$" not in text:
            return text
        expanded, _ = _Expansion(self, text, place).word(0, inside_braces=False, used=True)
        return expanded

    def _warn(self, place: str, text: str) -> None:
        warning = f"{place}: {text}"
        if warning not in self.warnings:
            self.warnings.append(warning)

    def _lookup(self, name: str) -> str | None:
        return self._environ.get(name)


class _Unclosed(Exception):
    """The text ended inside `${...}`; the `${` that opened it reports it."""


class _Expansion:
    """One value being expanded: a small recursive-descent reader over its text."""

    def __init__(self, owner: Interpolator, text: str, place: str) -> None:
        self._owner = owner
        self._text = text
        self._place = place

    def word(self, start: int, *, inside_braces: bool, used: bool) -> tuple[str, int]:
        """Read from `start` to the end, or (inside braces) to the `}` that closes them.

        Returns the expansion and the index after what was read (the `}` included). When
        `used` is False the word is only read, not evaluated: no warning, no error.
        """
        text = self._text
        parts: list[str] = []
        index = start
        while index < len(text):
            char = text[index]
            if inside_braces and char == "}":
                return "".join(parts), index + 1
            if char != "$":
                parts.append(char)
                index += 1
                continue
            following = text[index + 1 : index + 2]
            if following == "$":
                parts.append("$")
                index += 2
            elif following == "{":
                value, index = self._braced(index, used)
                parts.append(value)
            elif name := _NAME.match(text, index + 1):
                parts.append(self._value(name.group(), used))
                index = name.end()
            else:
                parts.append("$")  # not a variable: kept as written
                index += 1
        if inside_braces:
            raise _Unclosed
        return "".join(parts), index

    def _braced(self, dollar: int, used: bool) -> tuple[str, int]:
        """`${...}` starting at `dollar`: its value and the index after its `}`."""
        text = self._text
        name_match = _NAME.match(text, dollar + 2)
        if name_match is None:
            raise self._broken(dollar, "a variable name must follow '${'")
        name = name_match.group()
        index = name_match.end()
        if text.startswith("}", index):
            return self._value(name, used), index + 1
        operator = next((op for op in _OPERATORS if text.startswith(op, index)), None)
        if operator is None:
            if index >= len(text):
                raise self._broken(dollar, "a '}' is missing")
            raise self._broken(
                dollar,
                f"'{text[index]}' after '{name}' is not understood; the forms are ${{NAME}}, "
                "${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}, "
                "${NAME:+other} and ${NAME+other}",
            )
        value = self._owner._lookup(name)
        empty_counts = operator.startswith(":")
        absent = value is None or (empty_counts and value == "")
        kind = operator[-1]
        # Only the branch that is taken is evaluated (warnings and errors included).
        takes_word = (kind in "-?" and absent) or (kind == "+" and not absent)
        try:
            word, end = self.word(
                index + len(operator), inside_braces=True, used=used and takes_word
            )
        except _Unclosed:
            raise self._broken(dollar, "a '}' is missing") from None
        if not used:
            return "", end
        if kind == "-":
            return (word if absent else value or ""), end
        if kind == "+":
            return (word if not absent else ""), end
        if absent:
            state = "not set" if value is None else "empty"
            reason = f"required variable {name} is {state}"
            raise Invalid(self._place, f"{reason}: {word}" if word else reason)
        return value or "", end

    def _value(self, name: str, used: bool) -> str:
        value = self._owner._lookup(name)
        if value is None:
            if used:
                self._owner._warn(self._place, f"variable {name} is not set; using an empty string")
            return ""
        return value

    def _broken(self, dollar: int, reason: str) -> Invalid:
        shown = self._text[dollar : dollar + 40]
        return Invalid(
            self._place,
            f"in '{shown}': {reason} (write '$$' for a literal '$')",
        )
