"""The keys of a component that runs as a container (one with an `image`), compose-like.

image: flowctl-example/sink:latest
command: [python3, /app/sink.py]     # replaces the image's command; args are appended
working_dir: /app                    # inside the container
volumes:
  - ./data:/data:ro                  # relative to the pipeline file's folder
  - {name: cache, mountPath: /cache} # the original's form: a named volume
network: host                        # the default: 127.0.0.1 is this machine
user: "1000:1000"
pull: never                          # or missing; flowctl never pulls otherwise
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowctl.pipeline.fields import at, describe, optional_text, present, text_of
from flowctl.pipeline.interpolate import Interpolator
from flowctl.pipeline.model import ContainerSettings, Volume
from flowctl.pipeline.problems import Invalid

CONTAINER_ONLY_KEYS = ("network", "user", "pull")
PULL_CHOICES = ("never", "missing")


def read_container(
    data: Mapping[str, Any],
    place: str,
    image: str | None,
    base_dir: Path,
    variables: Interpolator,
) -> ContainerSettings | None:
    """The settings of a component with an image; None (and no container key) without."""
    if image is None:
        for key in CONTAINER_ONLY_KEYS:
            if present(data, key):
                raise Invalid(
                    at(place, key),
                    f"'{key}' is for a component that runs as a container: add an 'image'",
                )
        return None
    image = variables.expand(image, at(place, "image"))
    if not image:
        raise Invalid(at(place, "image"), "must not be empty")
    return ContainerSettings(
        image=image,
        pull=_pull(data, place),
        volumes=_volumes(data, place, base_dir, variables),
        network=_text(data, "network", place, variables) or "host",
        user=_text(data, "user", place, variables),
        working_dir=_working_dir(data, place, variables),
    )


def _text(data: Mapping[str, Any], key: str, place: str, variables: Interpolator) -> str | None:
    text = optional_text(data, key, place)
    if text is None:
        return None
    text = variables.expand(text, at(place, key))
    if not text:
        raise Invalid(at(place, key), "must not be empty (leave it out for the default)")
    return text


def _pull(data: Mapping[str, Any], place: str) -> str:
    pull = optional_text(data, "pull", place) or "never"
    if pull not in PULL_CHOICES:
        raise Invalid(
            at(place, "pull"),
            f"must be 'never' (the default: the image must be on the engine) or 'missing' "
            f"(pull it when it is not), got '{pull}'",
        )
    return pull


def _working_dir(data: Mapping[str, Any], place: str, variables: Interpolator) -> str | None:
    folder = _text(data, "working_dir", place, variables)
    if folder is not None and not folder.startswith("/"):
        raise Invalid(
            at(place, "working_dir"),
            f"with an image, working_dir is a folder inside the container and must be "
            f"absolute, got '{folder}'",
        )
    return folder


def _volumes(
    data: Mapping[str, Any], place: str, base_dir: Path, variables: Interpolator
) -> tuple[Volume, ...]:
    items = data.get("volumes")
    if items is None:
        return ()
    here = at(place, "volumes")
    if not isinstance(items, list):
        raise Invalid(
            here, f"expected a list of 'host:container[:ro]' entries, got {describe(items)}"
        )
    volumes = []
    for index, item in enumerate(items):
        where = at(here, index)
        if isinstance(item, Mapping):
            volume = _volume_mapping(item, where, base_dir, variables)
        else:
            text = text_of(item, None)
            if text is None:
                raise Invalid(where, f"expected 'host:container[:ro]', got {describe(item)}")
            volume = _volume_text(variables.expand(text, where), where, base_dir)
        volumes.append(volume)
    return tuple(volumes)


def _volume_text(text: str, where: str, base_dir: Path) -> Volume:
    """compose's short form: "host:container", "host:container:ro" or ":rw"."""
    parts = text.split(":")
    read_only = False
    if len(parts) == 3 and parts[2] in ("ro", "rw"):
        read_only = parts.pop() == "ro"
    if len(parts) != 2 or not all(parts):
        raise Invalid(where, f"expected 'host:container' or 'host:container:ro', got '{text}'")
    return Volume(_source(parts[0], base_dir), _target(parts[1], where), read_only)


def _volume_mapping(
    item: Mapping[Any, Any], where: str, base_dir: Path, variables: Interpolator
) -> Volume:
    """The original's form: {name, mountPath, hostPath}; readOnly may be added."""
    values = {str(key): value for key, value in item.items()}
    known = {"name", "mountPath", "hostPath", "readOnly"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise Invalid(
            where,
            f"unknown key '{unknown[0]}'; the keys allowed here are "
            "name, mountPath, hostPath, readOnly",
        )
    target = optional_text(values, "mountPath", where)
    if not target:
        raise Invalid(where, "missing 'mountPath' (where the volume appears in the container)")
    host = optional_text(values, "hostPath", where)
    name = optional_text(values, "name", where)
    if host:
        source = _source(variables.expand(host, at(where, "hostPath")), base_dir, always_path=True)
    elif name:
        source = name  # a named volume of the engine
    else:
        raise Invalid(where, "give 'hostPath' (a folder of this machine) or 'name' (a volume)")
    read_only = values.get("readOnly", False)
    if not isinstance(read_only, bool):
        raise Invalid(at(where, "readOnly"), f"expected true or false, got {describe(read_only)}")
    return Volume(
        source, _target(variables.expand(target, at(where, "mountPath")), where), read_only
    )


def _source(text: str, base_dir: Path, *, always_path: bool = False) -> str:
    """compose's rule: a path starts with /, . or ~; anything else names a volume."""
    if text.startswith("~"):
        return str(Path(text).expanduser())
    if text.startswith(".") or (always_path and not text.startswith("/")):
        return str((base_dir / text).resolve())
    return text


def _target(text: str, where: str) -> str:
    if not text.startswith("/"):
        raise Invalid(where, f"the path inside the container must be absolute, got '{text}'")
    return text
