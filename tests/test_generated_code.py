"""The committed betterproto code matches proto/flowctl/control_plane.proto."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "src" / "flowctl" / "_proto"


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    subprocess.run([str(ROOT / "scripts" / "gen-proto"), str(tmp_path)], check=True)
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.py"))
    assert fresh == sorted(p.relative_to(COMMITTED) for p in COMMITTED.rglob("*.py"))
    for relative in fresh:
        assert (tmp_path / relative).read_text() == (COMMITTED / relative).read_text(), (
            f"{relative} is stale: run scripts/gen-proto"
        )
