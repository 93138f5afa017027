"""Loading good pipeline files: what each component ends up with."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flowctl.errors import PipelineError
from flowctl.pipeline import (
    KNOWN_COMPONENT_TYPES,
    Component,
    ContainerSettings,
    Pipeline,
    Role,
    Volume,
    load_pipeline,
)


def write(folder: Path, text: str, name: str = "pipeline.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def load(folder: Path, text: str) -> Pipeline:
    return load_pipeline(write(folder, text))


# Written the way files for the original Go flowctl are: every accepted key.
GO_STYLE = """\
    apiVersion: flowctl/v1
    kind: Pipeline
    metadata:
      name: ttp-pipeline
      namespace: stellar
      labels:
        team: data
        tier: 1
      annotations:
        description: "Token transfer pipeline"
    spec:
      description: Streams ledgers, extracts token transfers, consumes them
      driver: docker
      config:
        network: testnet
        batch: {size: 10, flush: 1s}
      sources:
        - id: stellar-live-source-datalake
          type: stellar-live-source-datalake
          image: ghcr.io/withobsrvr/stellar-live-source-datalake:latest
          env:
            STORAGE_TYPE: GCS
            LEDGERS_PER_FILE: 1
            ENABLE_FLOWCTL: true
          volumes:
            - name: data
              mountPath: /data
              hostPath: ./data
          ports:
            - name: grpc
              containerPort: 50052
              hostPort: 50052
              protocol: TCP
          health_check: /health
          health_port: 8088
          replicas: 1
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: "1", memory: 1Gi}
          output_event_types: [raw_ledger_service.RawLedgerChunk]
      processors:
        - id: ttp-processor
          type: ttp-processor
          image: ghcr.io/withobsrvr/ttp-processor:latest
          inputs: [stellar-live-source-datalake]
          input_event_types: [raw_ledger_service.RawLedgerChunk]
          output_event_types: [token_transfer.TokenTransferEvent]
          config:
            network_passphrase: "Test SDF Network ; September 2015"
      sinks:
        - id: consumer-app
          type: consumer-app
          image: ghcr.io/withobsrvr/consumer-app:latest
          inputs: [ttp-processor]
          input_event_types: [token_transfer.TokenTransferEvent]
    """


def test_original_go_style_file_loads_with_every_key(tmp_path: Path) -> None:
    pipeline = load(tmp_path, GO_STYLE)

    assert pipeline.name == "ttp-pipeline"
    assert pipeline.file == tmp_path / "pipeline.yaml"
    assert pipeline.namespace == "stellar"
    assert dict(pipeline.labels) == {"team": "data", "tier": "1"}
    assert dict(pipeline.annotations) == {"description": "Token transfer pipeline"}
    assert pipeline.description == "Streams ledgers, extracts token transfers, consumes them"
    assert pipeline.driver == "docker"
    assert pipeline.config == {"network": "testnet", "batch": {"size": 10, "flush": "1s"}}
    assert [(c.id, c.role) for c in pipeline.components] == [
        ("stellar-live-source-datalake", Role.SOURCE),
        ("ttp-processor", Role.PROCESSOR),
        ("consumer-app", Role.SINK),
    ]

    source = pipeline.component("stellar-live-source-datalake")
    assert source.place == "spec.sources[0]"
    assert source.image == "ghcr.io/withobsrvr/stellar-live-source-datalake:latest"
    # With an image, the type's default command (a program of this machine) is not used:
    # the container runs the image's own command.
    assert source.command == ()
    assert source.container == ContainerSettings(
        image="ghcr.io/withobsrvr/stellar-live-source-datalake:latest",
        volumes=(Volume(source=str(tmp_path / "data"), target="/data"),),
    )
    assert dict(source.env) == {
        "STORAGE_TYPE": "GCS",
        "LEDGERS_PER_FILE": "1",
        "ENABLE_FLOWCTL": "true",
    }
    assert source.output_event_types == ("raw_ledger_service.RawLedgerChunk",)
    assert source.extra == {
        "ports": [{"name": "grpc", "containerPort": 50052, "hostPort": 50052, "protocol": "TCP"}],
        "health_check": "/health",
        "health_port": 8088,
        "replicas": 1,
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
    }

    processor = pipeline.component("ttp-processor")
    assert processor.place == "spec.processors[0]"
    assert processor.command == ()
    assert processor.inputs == ("stellar-live-source-datalake",)
    assert processor.input_event_types == ("raw_ledger_service.RawLedgerChunk",)
    assert processor.config == {"network_passphrase": "Test SDF Network ; September 2015"}

    sink = pipeline.component("consumer-app")
    assert sink.place == "spec.sinks[0]"
    assert sink.command == ()


def test_service_type_names_follow_the_proto() -> None:
    assert [role.service_type_name for role in Role] == [
        "SERVICE_TYPE_SOURCE",
        "SERVICE_TYPE_PROCESSOR",
        "SERVICE_TYPE_SINK",
    ]


def test_unknown_component_id_is_a_key_error(tmp_path: Path) -> None:
    pipeline = load(tmp_path, GO_STYLE)
    with pytest.raises(KeyError):
        pipeline.component("nope")


HEADER = """\
apiVersion: v1
kind: Pipeline
metadata: {name: p}
spec:
  sources:
    - id: src
"""


def pipeline_text(component: str) -> str:
    """A pipeline with one source whose keys (after its id) are `component`."""
    return HEADER + textwrap.indent(textwrap.dedent(component), " " * 6)


def only_component(tmp_path: Path, component: str) -> Component:
    return load(tmp_path, pipeline_text(component)).components[0]


@pytest.mark.parametrize(
    ("event_keys", "expected_in", "expected_out"),
    [
        ("input_event_types: [a]\noutput_event_types: [b]", ("a",), ("b",)),
        ("inputEventTypes: [a]\noutputEventTypes: [b]", ("a",), ("b",)),
        ("input_event_types: [a]\ninputEventTypes: [a]\noutputEventTypes: [b]", ("a",), ("b",)),
        ("command: [x]", (), ()),
    ],
    ids=["snake_case", "camelCase", "both-equal", "neither"],
)
def test_event_types_read_from_either_spelling(
    tmp_path: Path, event_keys: str, expected_in: tuple[str, ...], expected_out: tuple[str, ...]
) -> None:
    keys = event_keys if "command" in event_keys else f"command: [x]\n{event_keys}"
    component = only_component(tmp_path, keys)
    assert component.input_event_types == expected_in
    assert component.output_event_types == expected_out


def test_single_string_command_is_split_like_a_shell(tmp_path: Path) -> None:
    component = only_component(tmp_path, """command: "python3 -c 'print(\\"hi there\\")'" """)
    assert component.command == ("python3", "-c", 'print("hi there")')


def test_command_list_then_args(tmp_path: Path) -> None:
    component = only_component(tmp_path, "command: [python3, -u]\nargs: [serve.py, --port, 8080]")
    assert component.command == ("python3", "-u", "serve.py", "--port", "8080")


@pytest.mark.parametrize("component_type", list(KNOWN_COMPONENT_TYPES))
def test_type_default_command_followed_by_args(tmp_path: Path, component_type: str) -> None:
    component = only_component(tmp_path, f"type: {component_type}\nargs: [--verbose]")
    default = KNOWN_COMPONENT_TYPES[component_type]
    program = default[0] if "/" not in default[0] else str(tmp_path / default[0])
    assert component.command == (program, *default[1:], "--verbose")
    assert component.type == component_type


def test_command_overrides_the_type_default(tmp_path: Path) -> None:
    component = only_component(tmp_path, "type: ttp-processor\ncommand: [node, index.js]")
    assert component.command == ("node", "index.js")


def test_unknown_type_with_a_command_is_fine(tmp_path: Path) -> None:
    component = only_component(tmp_path, "type: process\ncommand: [./run.sh]")
    assert component.type == "process"
    assert component.command == (str(tmp_path / "run.sh"),)


def test_image_component_args_alone_replace_the_image_command(tmp_path: Path) -> None:
    # As `docker run IMAGE --fast`: the arguments are the container's whole command.
    component = only_component(tmp_path, "image: example/source:1\nargs: [--fast]")
    assert component.command == ("--fast",)
    assert component.image == "example/source:1"
    assert component.extra == {}


def test_image_component_without_command_runs_the_image_own(tmp_path: Path) -> None:
    component = only_component(tmp_path, "type: ttp-processor\nimage: example/ttp:1")
    assert component.command == ()


def test_working_dir_defaults_to_the_file_folder(tmp_path: Path) -> None:
    component = only_component(tmp_path, "command: [./bin/src, ./data]")
    assert component.working_dir == tmp_path
    assert component.working_dir.is_absolute()
    # Only the program is resolved; arguments are the component's business.
    assert component.command == (str(tmp_path / "bin" / "src"), "./data")


def test_relative_working_dir_resolves_against_the_file_folder(tmp_path: Path) -> None:
    component = only_component(tmp_path, "command: [bin/src]\nworking_dir: services/source")
    assert component.working_dir == tmp_path / "services" / "source"
    assert component.command == (str(tmp_path / "services" / "source" / "bin" / "src"),)


def test_absolute_working_dir_and_commands_stay_as_written(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    component = only_component(tmp_path, f"command: [/usr/bin/env, x]\nworking_dir: {elsewhere}")
    assert component.working_dir == elsewhere
    assert component.command == ("/usr/bin/env", "x")


def test_bare_program_names_are_left_for_path_lookup(tmp_path: Path) -> None:
    component = only_component(tmp_path, "command: npm start\nworking_dir: app")
    assert component.command == ("npm", "start")


def test_relative_file_path_gives_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pipelines").mkdir()
    write(tmp_path / "pipelines", pipeline_text("command: [./src]"), "p.yaml")
    monkeypatch.chdir(tmp_path)
    pipeline = load_pipeline("pipelines/p.yaml")
    assert pipeline.file == tmp_path / "pipelines" / "p.yaml"
    assert pipeline.components[0].command == (str(tmp_path / "pipelines" / "src"),)


def test_env_values_keep_the_text_written_in_the_file(tmp_path: Path) -> None:
    # YAML 1.1 would read these as True, 493, 1.1 and null; the original kept the text.
    component = only_component(
        tmp_path,
        """\
        command: [x]
        env: {FLAG: on, MODE: "0755", OCTAL: 0755, VERSION: 1.10, EMPTY: , QUOTED: "yes"}
        """,
    )
    assert dict(component.env) == {
        "FLAG": "on",
        "MODE": "0755",
        "OCTAL": "0755",
        "VERSION": "1.10",
        "EMPTY": "",
        "QUOTED": "yes",
    }


def test_scalar_args_keep_their_text(tmp_path: Path) -> None:
    component = only_component(tmp_path, "command: [x]\nargs: [true, 1e3, 0x1F]")
    assert component.command == ("x", "true", "1e3", "0x1F")


def test_null_sections_count_as_absent(tmp_path: Path) -> None:
    pipeline = load(
        tmp_path,
        """\
        apiVersion: v1
        kind: Pipeline
        metadata: {name: p, labels: }
        spec:
          processors:
          sinks:
          sources:
            - id: a
              command: [x]
              env:
              inputs:
        """,
    )
    assert [c.id for c in pipeline.components] == ["a"]
    assert pipeline.components[0].env == {}
    assert pipeline.labels == {}


def test_yaml_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    pipeline = load(
        tmp_path,
        """\
        apiVersion: v1
        kind: Pipeline
        metadata: {name: p}
        spec:
          sources:
            - &base
              id: a
              command: [x]
              env: {A: "1", B: "2"}
            - <<: *base
              id: b
        """,
    )
    assert [(c.id, c.command, dict(c.env)) for c in pipeline.components] == [
        ("a", ("x",), {"A": "1", "B": "2"}),
        ("b", ("x",), {"A": "1", "B": "2"}),
    ]


def test_loaded_models_are_immutable_and_hashable(tmp_path: Path) -> None:
    pipeline = load(tmp_path, GO_STYLE)
    source = pipeline.components[0]
    with pytest.raises(TypeError):
        source.env["NEW"] = "x"  # type: ignore[index]
    assert {source: 1}[pipeline.component(source.id)] == 1
    assert hash(pipeline) == hash(load(tmp_path, GO_STYLE))
    assert pipeline == load(tmp_path, GO_STYLE)


def test_a_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + textwrap.dedent(GO_STYLE).encode())
    assert load_pipeline(path).name == "ttp-pipeline"


def test_keys_of_later_original_revisions_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "later.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pipeline\nmetadata: {name: later}\nspec:\n  sources:\n"
        "    - id: src\n      command: [./run]\n      restart_policy: always\n"
        "      secrets: [{name: key, host_path: /s, container_path: /c, env: KEY}]\n"
    )
    (source,) = load_pipeline(path).components
    assert source.extra["restart_policy"] == "always"
    assert source.extra["secrets"][0]["env"] == "KEY"


def test_nested_pipelines_are_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "nested.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pipeline\nmetadata: {name: n}\nspec:\n"
        "  sources: [{id: src, command: [./run]}]\n  pipelines: [{id: inner, image: x}]\n"
    )
    with pytest.raises(PipelineError) as caught:
        load_pipeline(path)
    assert caught.value.place == "spec.pipelines"
    assert "not supported" in caught.value.reason
