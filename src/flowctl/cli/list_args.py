"""`flowctl list`'s command line read without cyclopts (about 90 ms to import), for the
plain cases only: `list` first, then each option of `list_services` at most once, as
`--name VALUE` or `--name=VALUE`, with a value that cannot be mistaken for an option.

Anything else (help, a positional argument, an unknown or repeated option, a bad
--output, a missing value) returns None and goes through cyclopts as before, so its help
and its errors are cyclopts' own, unchanged. Standard library only.
"""

from __future__ import annotations

from pathlib import Path

# The options of `list_command.list_services` that take a value, by keyword.
_VALUES = {
    "--endpoint": "endpoint",
    "--run": "run",
    "--output": "output",
    "--tls-ca-cert": "tls_ca_cert",
    "--tls-cert": "tls_cert",
    "--tls-key": "tls_key",
}
_FLAGS = {"--runs": "runs"}
_OUTPUTS = ("table", "json")  # list_services' Literal
_PATHS = ("tls_ca_cert", "tls_cert", "tls_key")


def plain_list_arguments(args: list[str]) -> dict[str, object] | None:
    """The keyword arguments of `list_services` for `args` (`["list", ...]`), as cyclopts
    would bind them, or None when cyclopts must read the line."""
    if args[:1] != ["list"]:
        return None
    bound: dict[str, object] = {}
    rest = args[1:]
    while rest:
        token, rest = rest[0], rest[1:]
        name, equals, value = token.partition("=")
        if name in _FLAGS and not equals:
            keyword: str = _FLAGS[name]
            if keyword in bound:
                return None
            bound[keyword] = True
            continue
        if name not in _VALUES:
            return None  # help, a positional, an unknown option or a negated flag
        if not equals:
            if not rest:
                return None
            value, rest = rest[0], rest[1:]
        keyword = _VALUES[name]
        if keyword in bound or not value or value.startswith("-"):
            return None
        if keyword == "output" and value not in _OUTPUTS:
            return None
        bound[keyword] = Path(value) if keyword in _PATHS else value
    return bound
