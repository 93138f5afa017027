"""`flowctl completion SHELL`: a completion script generated from the commands themselves."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from cli_helpers import run_flowctl


async def test_the_bash_script_completes_the_commands_and_options(tmp_path: Path) -> None:
    status, out, err = await run_flowctl(["completion", "bash"], cwd=tmp_path)
    assert status == 0, err
    assert "complete" in out and "flowctl" in out
    assert "run" in out and "list" in out and "--control-plane-port" in out
    assert "server" not in out.split("all_commands=", 1)[-1].splitlines()[0]  # hidden

    # bash accepts it, and registers a completion for flowctl.
    script = tmp_path / "flowctl.bash"
    script.write_text(out)
    with trio.fail_after(30):
        result = await trio.run_process(
            ["bash", "-c", f"source '{script}' && complete -p flowctl"],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert result.returncode == 0, result.stderr.decode()
    assert b"flowctl" in result.stdout


@pytest.mark.parametrize("shell", ["zsh", "fish"])
async def test_zsh_and_fish_scripts(tmp_path: Path, shell: str) -> None:
    status, out, err = await run_flowctl(["completion", shell], cwd=tmp_path)
    assert status == 0, err
    assert "flowctl" in out and "run" in out


async def test_an_unknown_shell_is_a_usage_error(tmp_path: Path) -> None:
    status, _, err = await run_flowctl(["completion", "tcsh"], cwd=tmp_path)
    assert status == 2 and "tcsh" in err and "bash" in err
