"""The command line of tests/components/fake_component.py (a module of its own, not in
conftest.py, so that folders of tests can have conftest files of their own)."""

from __future__ import annotations

import sys
from pathlib import Path

FAKE_COMPONENT = Path(__file__).parent / "components" / "fake_component.py"


def fake_command(*args: str) -> list[str]:
    """The command line of tests/components/fake_component.py with these options."""
    return [sys.executable, str(FAKE_COMPONENT), *args]
