"""The keys of a component that runs as a container: how they are read (volumes in both
forms, command and args, the errors, each naming its place), then what a container gets
from them through the real `flowctl run` (a read-only volume, user, working_dir, its
environment and not flowctl's)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from container_helpers import (
    PYTHON_IMAGE,
    cli_env,
    containers_of,
    run_args,
    run_flowctl,
    unique_id,
    write_pipeline,
)

from flowctl.errors import PipelineError
from flowctl.pipeline import Component, parse_pipeline
from flowctl.pipeline.model import Volume

HEADER = "apiVersion: v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  sources:\n"


def only_component(tmp_path: Path, entry: str) -> Component:
    pipeline = parse_pipeline(HEADER + textwrap.indent(entry, "    "), tmp_path / "p.yaml")
    [component] = pipeline.components
    return component


def error_of(tmp_path: Path, entry: str) -> PipelineError:
    with pytest.raises(PipelineError) as caught:
        only_component(tmp_path, entry)
    return caught.value


# -- reading the keys -----------------------------------------------------------------------


def test_short_volumes_resolve_relative_host_paths_from_the_pipeline_folder(
    tmp_path: Path,
) -> None:
    component = only_component(
        tmp_path,
        "- id: a\n  image: img\n"
        '  volumes: ["./data:/data:ro", "/abs/x:/x:rw", "cache:/cache", "../up:/up"]\n',
    )
    assert component.container is not None
    assert component.container.volumes == (
        Volume(str(tmp_path / "data"), "/data", read_only=True),
        Volume("/abs/x", "/x", read_only=False),
        Volume("cache", "/cache"),  # no /, . or ~: a named volume, as in compose
        Volume(str(tmp_path.parent / "up"), "/up"),
    )


def test_the_originals_volume_mappings(tmp_path: Path) -> None:
    component = only_component(
        tmp_path,
        "- id: a\n  image: img\n  volumes:\n"
        "    - {name: data, mountPath: /data, hostPath: data}\n"
        "    - {name: cache, mountPath: /cache}\n"
        "    - {name: conf, mountPath: /etc/app, hostPath: /srv/conf, readOnly: true}\n",
    )
    assert component.container is not None
    assert component.container.volumes == (
        Volume(str(tmp_path / "data"), "/data"),  # hostPath: always a path
        Volume("cache", "/cache"),  # name alone: a named volume
        Volume("/srv/conf", "/etc/app", read_only=True),
    )


def test_command_then_args_replace_the_images_command(tmp_path: Path) -> None:
    both = only_component(
        tmp_path, "- id: a\n  image: img\n  command: [python3, app.py]\n  args: [--fast]\n"
    )
    assert both.command == ("python3", "app.py", "--fast")  # as written: paths of the image
    alone = only_component(tmp_path, "- id: a\n  image: img\n  args: [--fast, '1']\n")
    assert alone.command == ("--fast", "1")
    neither = only_component(tmp_path, "- id: a\n  image: img\n")
    assert neither.command == ()  # the image's own command
    assert neither.container is not None
    assert (neither.container.network, neither.container.pull) == ("host", "never")


@pytest.mark.parametrize(
    ("entry", "place", "reason"),
    [
        (
            '- {id: a, image: img, volumes: ["./data:data"]}',
            "spec.sources[0].volumes[0]",
            "the path inside the container must be absolute, got 'data'",
        ),
        (
            "- {id: a, image: img, volumes: [{name: v, hostPath: d, mountPath: rel}]}",
            "spec.sources[0].volumes[0]",
            "the path inside the container must be absolute, got 'rel'",
        ),
        (
            '- {id: a, image: img, volumes: ["just-one-part"]}',
            "spec.sources[0].volumes[0]",
            "expected 'host:container' or 'host:container:ro', got 'just-one-part'",
        ),
        (
            "- {id: a, image: img, pull: always}",
            "spec.sources[0].pull",
            "must be 'never' (the default: the image must be on the engine) or 'missing' "
            "(pull it when it is not), got 'always'",
        ),
        (
            "- {id: a, command: [x], network: host}",
            "spec.sources[0].network",
            "'network' is for a component that runs as a container: add an 'image'",
        ),
        (
            "- {id: a, image: img, working_dir: app}",
            "spec.sources[0].working_dir",
            "with an image, working_dir is a folder inside the container and must be "
            "absolute, got 'app'",
        ),
    ],
)
def test_bad_container_keys_name_their_place(
    tmp_path: Path, entry: str, place: str, reason: str
) -> None:
    error = error_of(tmp_path, entry)
    assert (error.place, error.reason) == (place, reason)
    assert str(error) == f"{tmp_path / 'p.yaml'}: {place}: {reason}"


# -- what the container gets (end to end) ---------------------------------------------------

# Notes what it finds as one JSON line: read-only folder's file, whether writing there
# fails, its uid, its folder and its environment.
PROBE = """
import json, os
found = {"uid": os.getuid(), "cwd": os.getcwd(), "env": dict(os.environ)}
if os.path.isdir("/data"):
    found["read"] = open("/data/hello.txt").read()
    try:
        open("/data/written.txt", "w").close()
        found["write"] = "allowed"
    except OSError as error:
        found["write"] = error.strerror
print("PROBE " + json.dumps(found), flush=True)
"""


def probe(component_id: str, **keys: object) -> dict[str, object]:
    """A job: the probe in the Python image (exit 0: completed, no registration needed)."""
    return {
        "id": component_id,
        "job": True,
        "image": PYTHON_IMAGE,
        "command": ["python3", "-c", PROBE],
        **keys,
    }


def probed(log: Path) -> dict[str, object]:
    [line] = [line for line in log.read_text().splitlines() if line.startswith("PROBE ")]
    found: dict[str, object] = json.loads(line.removeprefix("PROBE "))
    return found


async def test_a_container_gets_its_keys_and_not_flowctls_environment(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "hello.txt").write_text("hello from the host")
    mounted, shaped = unique_id("mounted"), unique_id("shaped")
    path = write_pipeline(
        tmp_path / "p.yaml",
        [
            probe(mounted, volumes=["./data:/data:ro"]),  # relative to the pipeline's folder
            probe(shaped, user="65534", working_dir="/tmp", env={"GREETING": "hi"}),
        ],
    )
    # flowctl's own environment, which must not reach a container.
    env = cli_env(HOME=str(tmp_path), FLOWCTL_TEST_HOST_ONLY="leak")
    status, out, err = await run_flowctl(run_args(path, tmp_path), cwd=tmp_path, env=env)
    assert status == 0, out + err
    assert "all 2 components completed" in out, out
    logs = tmp_path / "logs"

    seen = probed(logs / f"{mounted}.log")
    assert seen["read"] == "hello from the host"
    assert seen["write"] == "Read-only file system"
    assert not (tmp_path / "data" / "written.txt").exists()

    seen = probed(logs / f"{shaped}.log")
    assert (seen["uid"], seen["cwd"]) == (65534, "/tmp")
    inside = seen["env"]
    assert isinstance(inside, dict)
    assert inside["GREETING"] == "hi"
    assert inside["FLOWCTL_COMPONENT_ID"] == shaped
    assert inside["FLOWCTL_ENDPOINT"].startswith("127.0.0.1:")  # the host's network
    assert "FLOWCTL_TEST_HOST_ONLY" not in inside
    assert "FLOWCTL_PYTHON" not in inside  # an interpreter of the host
    assert inside.get("HOME") != str(tmp_path)
    assert inside["PATH"] == "/usr/local/bin:/usr/bin:/bin"  # the image's, not the host's
    assert "Traceback" not in out + err
    assert containers_of(mounted) == [] and containers_of(shaped) == []
