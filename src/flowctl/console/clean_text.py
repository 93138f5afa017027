"""Component output is shown, not obeyed: escape sequences and control characters in a
line would move the cursor, clear the screen or garble the status view."""

from __future__ import annotations

import re

# CSI (colours, cursor moves), OSC (titles, links) and other two-byte escapes.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
# C0 controls but tab, and DEL; a carriage return inside a line included.
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def has_controls(line: str) -> bool:
    return _CONTROLS.search(line) is not None


def plain_text(line: str) -> str:
    """The line without escape sequences or control characters (tabs are kept).

    After a carriage return a terminal shows what follows it (progress bars), so only
    the last non-empty part is kept."""
    if "\r" in line:
        line = next((part for part in reversed(line.split("\r")) if part), "")
    if "\x1b" in line:
        line = _ESCAPES.sub("", line)
    return _CONTROLS.sub("", line)
