"""`${VAR}` in `env` values, `command`, `args` and `working_dir`: expanded when the file is
read, from flowctl's environment, with docker compose's rules; errors name the place."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from flowctl.errors import EXIT_USAGE, PipelineError
from flowctl.pipeline import Pipeline, load_pipeline, parse_pipeline

FILE = Path("/pipelines/p.yaml")
ENVIRON = {"HOME": "/home/ada", "EMPTY": "", "TOOL": "./bin/tool --fast", "NAME": "ada"}


def pipeline(component: str, environ: Mapping[str, str] = ENVIRON) -> Pipeline:
    """A pipeline whose only source is `component` (a YAML mapping body, without `id`)."""
    text = "apiVersion: v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  sources:\n"
    text += "    - id: src\n" + textwrap.indent(textwrap.dedent(component), "      ")
    return parse_pipeline(text, FILE, environ)


def env_of(values: str) -> dict[str, str]:
    return dict(pipeline(f"command: [x]\nenv:\n{textwrap.indent(values, '  ')}").components[0].env)


def error_of(component: str) -> PipelineError:
    with pytest.raises(PipelineError) as caught:
        pipeline(component)
    assert caught.value.exit_status == EXIT_USAGE
    assert str(caught.value).startswith(f"{FILE}: {caught.value.place}: ")
    return caught.value


def test_env_values_are_expanded_as_compose_does() -> None:
    env = env_of(
        textwrap.dedent(
            """\
            BRACED: ${HOME}/data
            BARE: $HOME/data
            DEFAULT_IF_EMPTY: ${EMPTY:-fallback}
            DEFAULT_IF_UNSET: ${EMPTY-fallback}
            UNSET_DEFAULT: ${NOPE-fallback}
            NESTED: ${NOPE:-${NAME:-x}}
            OTHER: ${NAME:+set}
            OTHER_EMPTY: ${EMPTY:+set}
            DOLLAR: price $$5 and $$HOME
            NOT_A_VARIABLE: $1 and $ alone and 100$
            $NAME: names are taken as written
            """
        )
    )
    assert env == {
        "BRACED": "/home/ada/data",
        "BARE": "/home/ada/data",
        "DEFAULT_IF_EMPTY": "fallback",
        "DEFAULT_IF_UNSET": "",
        "UNSET_DEFAULT": "fallback",
        "NESTED": "ada",
        "OTHER": "set",
        "OTHER_EMPTY": "",
        "DOLLAR": "price $5 and $HOME",
        "NOT_A_VARIABLE": "$1 and $ alone and 100$",
        "$NAME": "names are taken as written",
    }


def test_command_args_and_working_dir_are_expanded() -> None:
    listed = pipeline(
        """\
        command: ["${HOME}/bin/app", "--user=$NAME"]
        args: ["--cache=${CACHE:-/tmp/cache}"]
        working_dir: ${HOME}/work
        """
    ).components[0]
    assert listed.command == ("/home/ada/bin/app", "--user=ada", "--cache=/tmp/cache")
    assert listed.working_dir == Path("/home/ada/work")
    # A string command is expanded before it is split, as compose does.
    split = pipeline('command: "${TOOL} --name ${NAME}"').components[0]
    assert split.command == (str(FILE.parent / "bin/tool"), "--fast", "--name", "ada")


def test_an_unset_variable_is_empty_with_a_warning_naming_the_place() -> None:
    loaded = pipeline("command: [x, '${MISSING}']\nenv: {A: '${MISSING}', B: '${ALSO_MISSING}'}")
    assert loaded.components[0].command == ("x", "")
    assert loaded.components[0].env == {"A": "", "B": ""}
    assert loaded.warnings == (
        f"{FILE}: spec.sources[0].command[1]: variable MISSING is not set; using an empty string",
        f"{FILE}: spec.sources[0].env.A: variable MISSING is not set; using an empty string",
        f"{FILE}: spec.sources[0].env.B: variable ALSO_MISSING is not set; using an empty string",
    )


def test_a_default_that_is_not_used_is_not_expanded() -> None:
    loaded = pipeline("command: [x]\nenv: {A: '${NAME:-${MISSING}}', B: '${NAME:?${MISSING}}'}")
    assert loaded.components[0].env == {"A": "ada", "B": "ada"}
    assert loaded.warnings == ()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("${TOKEN:?set TOKEN to your API key}", "required variable TOKEN is not set: set "),
        ("${TOKEN?set TOKEN to your API key}", "required variable TOKEN is not set: set "),
        ("${EMPTY:?set EMPTY}", "required variable EMPTY is empty: set EMPTY"),
        ("${TOKEN:?}", "required variable TOKEN is not set"),
    ],
)
def test_a_required_variable_that_is_missing_is_an_error_at_its_place(
    value: str, reason: str
) -> None:
    error = error_of(f"command: [x]\nenv: {{TOKEN: '{value}'}}")
    assert error.place == "spec.sources[0].env.TOKEN"
    assert error.reason.startswith(reason)


def test_a_required_variable_that_is_set_empty_passes_without_the_colon() -> None:
    assert env_of("A: ${EMPTY?must be set}") == {"A": ""}


@pytest.mark.parametrize(
    ("component", "place", "reason"),
    [
        (
            "command: [x, '${NAME']",
            "spec.sources[0].command[1]",
            "in '${NAME': a '}' is missing (write '$$' for a literal '$')",
        ),
        (
            "command: [x]\nargs: ['${1}']",
            "spec.sources[0].args[0]",
            "in '${1}': a variable name must follow '${' (write '$$' for a literal '$')",
        ),
        (
            "command: [x]\nworking_dir: '${HOME/a/b}'",
            "spec.sources[0].working_dir",
            "in '${HOME/a/b}': '/' after 'HOME' is not understood; the forms are ${NAME}, ",
        ),
        (
            "command: ['${MISSING}']",
            "spec.sources[0].command[0]",
            "the program name is an empty string (after expanding its variables)",
        ),
    ],
)
def test_a_broken_expansion_names_its_place(component: str, place: str, reason: str) -> None:
    error = error_of(component)
    assert error.place == place
    assert error.reason.startswith(reason)


def test_the_file_reads_flowctls_environment_and_flowctl_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWCTL_TEST_GREETING", "hello")
    path = tmp_path / "p.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  sources:\n"
        "    - id: src\n      command: ['${FLOWCTL_PYTHON}', app.py]\n"
        "      env: {GREETING: $FLOWCTL_TEST_GREETING}\n"
    )
    (source,) = load_pipeline(path).components
    assert source.command == (sys.executable, "app.py")
    assert source.env == {"GREETING": "hello"}
