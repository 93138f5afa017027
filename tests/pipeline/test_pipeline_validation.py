"""Bad pipeline files: each error names the file, the exact place and what to fix."""

from __future__ import annotations

import os
import pwd
import tempfile
import textwrap
from pathlib import Path

import pytest

from flowctl.errors import EXIT_USAGE, PipelineError
from flowctl.pipeline import load_pipeline

HEADER = """\
apiVersion: v1
kind: Pipeline
metadata: {name: p}
spec:
"""


def spec(body: str) -> str:
    """A valid header followed by `body` indented under `spec:`."""
    return HEADER + textwrap.indent(textwrap.dedent(body), "  ")


def load_error(tmp_path: Path, text: str) -> PipelineError:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    with pytest.raises(PipelineError) as caught:
        load_pipeline(path)
    error = caught.value
    assert error.file == str(path)
    assert str(error).startswith(f"{path}: ")
    assert error.exit_status == EXIT_USAGE
    return error


def assert_error(tmp_path: Path, text: str, place: str, reason: str) -> None:
    error = load_error(tmp_path, text)
    assert (error.place, error.reason) == (place, reason)
    where = f"{error.file}: {place}: " if place else f"{error.file}: "
    assert str(error) == where + reason


# -- the file itself ---------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(PipelineError) as caught:
        load_pipeline(missing)
    assert str(caught.value) == f"{missing}: no such file"


def test_a_folder_is_not_a_pipeline_file(tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as caught:
        load_pipeline(tmp_path)
    assert str(caught.value) == f"{tmp_path}: is a folder, not a pipeline file"


def load_message_as_nobody(path: Path) -> str:
    """str() of load_pipeline's error, from a forked child that, under root (who reads any
    file), first becomes `nobody`. Forked rather than started: nobody may not be allowed to
    run this Python at all."""
    load_pipeline_error(path.parent / "warm-up.yaml")  # every import done here, as root
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 1
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            os.write(write_end, load_pipeline_error(path).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        message = answer.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return message


def load_pipeline_error(path: Path) -> str:
    try:
        load_pipeline(path)
    except PipelineError as error:
        return str(error)
    return ""


def test_unreadable_file() -> None:
    # Not under tmp_path: its parents are root's alone, and nobody must reach the file.
    with tempfile.TemporaryDirectory() as folder:
        Path(folder).chmod(0o755)
        (Path(folder) / "warm-up.yaml").write_text(spec("sources: []"))
        path = Path(folder) / "secret.yaml"
        path.write_text(spec("sources: []"))
        path.chmod(0)
        message = load_message_as_nobody(path)
    assert message == f"{path}: cannot read the file: Permission denied"


def test_a_path_through_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    path = tmp_path / "file" / "pipeline.yaml"
    with pytest.raises(PipelineError) as caught:
        load_pipeline(path)
    assert str(caught.value) == f"{path}: cannot read the file: Not a directory"


def test_a_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"apiVersion: v1\n\xff\xfe")
    with pytest.raises(PipelineError) as caught:
        load_pipeline(path)
    assert caught.value.reason == "is not UTF-8 text (byte 0xff at offset 15)"


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    assert_error(
        tmp_path,
        text,
        "",
        "the file is empty (no YAML document); "
        "a pipeline needs apiVersion, kind, metadata and spec",
    )


@pytest.mark.parametrize(("text", "got"), [("- a\n- b\n", "a list"), ("hello\n", "a string")])
def test_document_that_is_not_a_mapping(tmp_path: Path, text: str, got: str) -> None:
    assert_error(
        tmp_path,
        text,
        "",
        f"expected a mapping (apiVersion, kind, metadata, spec) at the top, got {got}",
    )


# -- broken YAML -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "place", "reason"),
    [
        (
            "apiVersion: v1\nkind: [Pipeline\nmetadata: {}\n",
            "line 3, column 9",
            "invalid YAML: expected ',' or ']', but got ':' "
            "(while parsing a flow sequence that starts at line 2, column 7)",
        ),
        (
            "apiVersion: v1\nkind:\n\tPipeline\n",
            "line 3, column 1",
            "invalid YAML: found character '\\t' that cannot start any token "
            "(while scanning for the next token); indent with spaces, not tabs",
        ),
        (
            "apiVersion: v1\n---\nkind: Pipeline\n",
            "line 2, column 1",
            "invalid YAML: expected a single document in the stream, but found another document",
        ),
        (
            "apiVersion: v1\nkind: \x07\n",
            "line 2, column 7",
            "invalid YAML: the control character #x0007 is not allowed",
        ),
        (
            "apiVersion: !!python/object:os.system v1\n",
            "line 1, column 13",
            "invalid YAML: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/object:os.system'",
        ),
    ],
    ids=["unclosed-list", "tab", "two-documents", "control-character", "python-tag"],
)
def test_broken_yaml_names_line_and_column(
    tmp_path: Path, text: str, place: str, reason: str
) -> None:
    assert_error(tmp_path, text, place, reason)


def test_broken_yaml_message_is_one_line(tmp_path: Path) -> None:
    error = load_error(tmp_path, "a:\n  b: 1\n c: 2\n")
    assert "\n" not in str(error)
    assert error.place == "line 3, column 2"


def test_duplicate_key_names_the_key_and_both_lines(tmp_path: Path) -> None:
    text = spec(
        """\
        sources:
          - id: a
            command: [./one]
            env: {X: "1"}
            command: [./two]
        """
    )
    assert_error(
        tmp_path,
        text,
        "line 9, column 7",
        "invalid YAML: duplicate key 'command' (first at line 7); "
        "YAML would silently keep only the last one, so remove one of them",
    )


def test_duplicate_top_level_key(tmp_path: Path) -> None:
    error = load_error(tmp_path, HEADER.replace("kind: Pipeline", "kind: Pipeline\nkind: Pipe"))
    assert error.place == "line 3, column 1"
    assert "duplicate key 'kind' (first at line 2)" in error.reason


# -- top level, metadata, spec -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "place", "reason"),
    [
        (
            HEADER.replace("apiVersion: v1\n", "") + "  sources: [{id: a, command: [x]}]\n",
            "",
            "missing 'apiVersion'; add 'apiVersion: v1' at the top",
        ),
        (HEADER.replace("v1", '""'), "apiVersion", "must not be empty"),
        (HEADER.replace("v1", "[v1]"), "apiVersion", "expected a string, got a list"),
        (
            HEADER.replace("kind: Pipeline\n", ""),
            "",
            "missing 'kind'; add 'kind: Pipeline' at the top",
        ),
        (HEADER.replace("Pipeline", "pipeline"), "kind", "must be 'Pipeline', got 'pipeline'"),
        (
            HEADER.replace("apiVersion", "apiversion"),
            "",
            "unknown key 'apiversion', did you mean 'apiVersion'?",
        ),
        (
            HEADER + "  sources: [{id: a, command: [x]}]\nstatus: {}\n",
            "",
            "unknown key 'status'; the keys allowed here are: apiVersion, kind, metadata, spec",
        ),
        (
            HEADER.replace("metadata: {name: p}\n", ""),
            "",
            "missing 'metadata'; add a 'metadata:' mapping (with e.g. name: my-pipeline)",
        ),
        (
            HEADER.replace("{name: p}", "p"),
            "metadata",
            "expected a mapping, got a string",
        ),
        (
            HEADER.replace("{name: p}", "{namespace: n}"),
            "metadata",
            "missing 'name'; give the pipeline a name",
        ),
        (
            HEADER.replace("{name: p}", "{name: p, lables: {}}"),
            "metadata",
            "unknown key 'lables', did you mean 'labels'?",
        ),
        (
            HEADER.replace("{name: p}", "{name: p, labels: [a]}"),
            "metadata.labels",
            "expected a mapping of names to strings, got a list",
        ),
        (
            HEADER.replace("{name: p}", "{name: p, labels: {a: {b: c}}}"),
            "metadata.labels.a",
            "expected a string, got a mapping",
        ),
        (
            HEADER.replace("spec:\n", ""),
            "",
            "missing 'spec'; add a 'spec:' mapping (with e.g. sources: [...])",
        ),
        (HEADER, "", "missing 'spec'; add a 'spec:' mapping (with e.g. sources: [...])"),
        (spec("source: []"), "spec", "unknown key 'source', did you mean 'sources'?"),
        (
            spec("config: [1]\nsources: [{id: a, command: [x]}]"),
            "spec.config",
            "expected a mapping, got a list",
        ),
        (
            spec("sinks: [{id: a, command: [x]}]"),
            "spec.sources",
            "at least one source is required (a component under 'sources')",
        ),
        (
            spec("sources: []"),
            "spec.sources",
            "at least one source is required (a component under 'sources')",
        ),
        (
            spec("sources: {id: a}"),
            "spec.sources",
            "expected a list of components, got a mapping",
        ),
        (
            spec("sources: [{id: a, command: [x]}]\nsinks: b"),
            "spec.sinks",
            "expected a list of components, got a string",
        ),
    ],
)
def test_document_structure_errors(tmp_path: Path, text: str, place: str, reason: str) -> None:
    assert_error(tmp_path, text, place, reason)


# -- one component -----------------------------------------------------------------------


def sources(*components: str) -> str:
    return spec("sources:\n" + "".join(f"  - {c}\n" for c in components))


@pytest.mark.parametrize(
    ("component", "place", "reason"),
    [
        (
            "a-string",
            "spec.sources[0]",
            "expected a component (a mapping with id, command, inputs...), got a string",
        ),
        (
            "{id: a, comand: [x]}",
            "spec.sources[0]",
            "unknown key 'comand', did you mean 'command'?",
        ),
        (
            "{id: a, command: [x], healthCheck: /h}",
            "spec.sources[0]",
            "unknown key 'healthCheck', did you mean 'health_check'?",
        ),
        (
            "{command: [x]}",
            "spec.sources[0]",
            "missing 'id'; every component needs an id, unique in the pipeline",
        ),
        ('{id: "", command: [x]}', "spec.sources[0].id", "must not be empty"),
        ("{id: [a], command: [x]}", "spec.sources[0].id", "expected a string, got a list"),
        (
            "{id: a}",
            "spec.sources[0]",
            "nothing to run: add a 'command' (the program to run, e.g. command: [./bin/my-app]), "
            "a known 'type' (stellar-live-source-datalake, ttp-processor, consumer-app) "
            "or an 'image'",
        ),
        (
            "{id: a, type: ttp-procesor}",
            "spec.sources[0].type",
            "there is no default command for type 'ttp-procesor', did you mean 'ttp-processor'? "
            "Or add a 'command' (the program to run, e.g. command: [./bin/my-app]).",
        ),
        (
            "{id: a, type: kafka}",
            "spec.sources[0].type",
            "there is no default command for type 'kafka' (known types: "
            "stellar-live-source-datalake, ttp-processor, consumer-app); "
            "add a 'command' (the program to run, e.g. command: [./bin/my-app])",
        ),
        (
            "{id: a, command: []}",
            "spec.sources[0].command",
            "is empty; give the program to run, e.g. command: [./bin/my-app]",
        ),
        (
            '{id: a, command: ""}',
            "spec.sources[0].command",
            "is empty; give the program to run, e.g. command: [./bin/my-app]",
        ),
        (
            """{id: a, command: 'npm "start'}""",
            "spec.sources[0].command",
            """cannot split 'npm "start' like a shell would: No closing quotation""",
        ),
        (
            "{id: a, command: {run: x}}",
            "spec.sources[0].command",
            "expected a list of strings or one string, got a mapping",
        ),
        (
            "{id: a, command: [x, [y]]}",
            "spec.sources[0].command[1]",
            "expected a string, got a list",
        ),
        (
            '{id: a, command: [""]}',
            "spec.sources[0].command[0]",
            "the program name is an empty string",
        ),
        (
            "{id: a, command: [x], args: --fast}",
            "spec.sources[0].args",
            "expected a list of strings (arguments), got a string",
        ),
        (
            "{id: a, command: [x], inputs: b}",
            "spec.sources[0].inputs",
            "expected a list of component ids, got a string",
        ),
        (
            "{id: a, command: [x], env: [A=1]}",
            "spec.sources[0].env",
            "expected a mapping of variable names to values, got a list",
        ),
        (
            "{id: a, command: [x], env: {A: [1]}}",
            "spec.sources[0].env.A",
            "expected a string, got a list",
        ),
        (
            "{id: a, command: [x], env: {A=B: c}}",
            "spec.sources[0].env",
            "'A=B' is not a usable environment variable name",
        ),
        (
            "{id: a, command: [x], working_dir: ''}",
            "spec.sources[0].working_dir",
            "must not be empty (leave it out for the default)",
        ),
        (
            "{id: a, command: [x], outputEventTypes: x}",
            "spec.sources[0].outputEventTypes",
            "expected a list of event type names, got a string",
        ),
        (
            "{id: a, command: [x], input_event_types: [x], inputEventTypes: [y]}",
            "spec.sources[0]",
            "'input_event_types' and 'inputEventTypes' are two spellings of the same key and "
            "are set to different values (['x'] and ['y']); keep one",
        ),
        (
            "{id: a, command: [x], config: [1]}",
            "spec.sources[0].config",
            "expected a mapping, got a list",
        ),
        (
            "{id: a, command: [x], volumes: {name: v}}",
            "spec.sources[0].volumes",
            "expected a list of mappings, got a mapping",
        ),
        (
            "{id: a, command: [x], ports: [8080]}",
            "spec.sources[0].ports[0]",
            "expected a mapping, got a number",
        ),
        (
            "{id: a, command: [x], health_port: '8080'}",
            "spec.sources[0].health_port",
            "expected a whole number, got a string",
        ),
        (
            "{id: a, command: [x], replicas: true}",
            "spec.sources[0].replicas",
            "expected a whole number, got a boolean",
        ),
        (
            "{id: a, command: [x], resources: 1Gi}",
            "spec.sources[0].resources",
            "expected a mapping, got a string",
        ),
    ],
)
def test_component_errors(tmp_path: Path, component: str, place: str, reason: str) -> None:
    assert_error(tmp_path, sources(component), place, reason)


def test_component_place_counts_within_its_section(tmp_path: Path) -> None:
    text = spec(
        """\
        sources: [{id: s, command: [x]}]
        processors:
          - {id: p0, command: [x], inputs: [s]}
          - {id: p1, comand: [x], inputs: [p0]}
        """
    )
    assert_error(
        tmp_path, text, "spec.processors[1]", "unknown key 'comand', did you mean 'command'?"
    )


# -- across components -------------------------------------------------------------------


def test_duplicate_ids_name_both_places(tmp_path: Path) -> None:
    text = spec(
        """\
        sources: [{id: a, command: [x]}, {id: b, command: [x]}]
        sinks: [{id: b, command: [x], inputs: [a]}]
        """
    )
    assert_error(
        tmp_path,
        text,
        "spec.sinks[0].id",
        "id 'b' is already used by spec.sources[1]; "
        "ids must be unique across sources, processors and sinks",
    )


def test_unknown_input_suggests_a_close_id(tmp_path: Path) -> None:
    text = spec(
        """\
        sources: [{id: source, command: [x]}]
        processors:
          - {id: transform, command: [x], inputs: [source]}
          - {id: enrich, command: [x], inputs: [transfrom]}
        """
    )
    assert_error(
        tmp_path,
        text,
        "spec.processors[1].inputs[0]",
        "unknown component 'transfrom', did you mean 'transform'?",
    )


def test_unknown_input_without_a_close_id_lists_the_declared_ones(tmp_path: Path) -> None:
    text = spec(
        """\
        sources: [{id: ledgers, command: [x]}]
        sinks: [{id: out, command: [x], inputs: [ledgers, zzz]}]
        """
    )
    assert_error(
        tmp_path,
        text,
        "spec.sinks[0].inputs[1]",
        "unknown component 'zzz'; declared components are: ledgers",
    )


def test_a_component_cannot_be_its_own_input(tmp_path: Path) -> None:
    text = spec(
        """\
        sources: [{id: s, command: [x]}]
        processors: [{id: p, command: [x], inputs: [s, p]}]
        """
    )
    assert_error(
        tmp_path, text, "spec.processors[0].inputs[1]", "component 'p' lists itself as an input"
    )


def test_config_that_contains_itself_through_an_alias(tmp_path: Path) -> None:
    text = spec("sources: [{id: a, command: [x]}]\nconfig: &loop {again: *loop}")
    assert_error(
        tmp_path, text, "spec.config", "contains itself through a YAML alias; write the value out"
    )


def test_absurdly_deep_nesting_is_an_error_not_a_crash(tmp_path: Path) -> None:
    text = spec("sources: [{id: a, command: [x]}]\nconfig: {x: " + "[" * 1200 + "]" * 1200 + "}")
    assert_error(tmp_path, text, "", "invalid YAML: nested too deeply")
