"""Build a container image that runs flowctl components, from this machine's own files.

No image can be pulled here (and tests must never pull), so the image is made the way a
distroless image is: a root file system holding only what a Python component needs, taken
from the running interpreter and the virtualenv flowctl is installed in:
- the interpreter and its standard library (without its tests and GUI modules) in /usr/local;
- flowctl and the distributions it depends on at run time (not the dev tools) in
  /usr/local/lib/python3.X/site-packages;
- every shared library those binaries load (found with ldd), at the same paths;
- a minimal /etc/passwd and /etc/group, and /tmp.
Then the Docker Engine API builds it (`FROM scratch`, `COPY`), so Docker Engine and Podman
both take it: about 130 MB, 10 to 60 seconds. flowctl's own package is a layer on it
(localhost/flowctl/python:3.11, seconds), and the example's images are layers on that.

Each image is labelled with a hash of what went into it (flowctl's source, the example's
files, this script, the Python version), and built again only when that changes: the images
always run the flowctl of this checkout.

Usage: python scripts/lib/python_image.py [--force]     (DOCKER_HOST names the engine)
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as metadata
import io
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import trio
from packaging.requirements import Requirement

import flowctl
from flowctl.orchestrator.engine_client import EngineClient, EngineError, engine_address

PREFIX = Path("/usr/local")
VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"
# Not needed to run a component: tests, GUI, build and packaging tools, and the static
# library and Makefile for building C extensions ("config-3.X-...").
STDLIB_SKIPPED = {
    "site-packages",
    "test",
    "idlelib",
    "tkinter",
    "turtledemo",
    "ensurepip",
    "lib2to3",
    "distutils",
    "pydoc_data",
}
STDLIB_SKIPPED_PREFIXES = ("config-", "_tkinter")
STDLIB_SKIPPED_SUFFIXES = (".opt-1.pyc", ".opt-2.pyc")  # only the plain bytecode is used


def runtime_distributions(root: str = "flowctl") -> list[metadata.Distribution]:
    """`root` and what it needs at run time (no extras), each distribution once."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        distribution = metadata.distribution(name)
        seen[key] = distribution
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(seen.values())


def stage_root(root: Path, additions: Sequence[tuple[Path, str]]) -> None:
    """Fill `root` with the image's files."""
    base = Path(sys.base_prefix)
    stdlib = Path(sysconfig.get_paths(vars={"base": sys.base_prefix})["stdlib"])
    image_lib = root / PREFIX.relative_to("/") / "lib"
    image_stdlib = image_lib / VERSION
    site_packages = image_stdlib / "site-packages"

    def skip_stdlib(folder: str, names: list[str]) -> list[str]:
        top = Path(folder) == stdlib
        return [
            name
            for name in names
            if name.endswith(STDLIB_SKIPPED_SUFFIXES)
            or (top and name in STDLIB_SKIPPED)
            or name.startswith(STDLIB_SKIPPED_PREFIXES)
        ]

    shutil.copytree(stdlib, image_stdlib, symlinks=True, ignore=skip_stdlib)
    binaries = root / PREFIX.relative_to("/") / "bin"
    binaries.mkdir(parents=True)
    shutil.copy2(Path(sys.executable).resolve(), binaries / VERSION)
    for alias in ("python3", "python"):
        (binaries / alias).symlink_to(VERSION)
    # The interpreter loads libpython by its soname; stripped, it is a third of its size.
    for library in base.joinpath("lib").glob("libpython*.so.*"):
        shutil.copy2(library.resolve(), image_lib / library.name)
        subprocess.run(["strip", "--strip-unneeded", str(image_lib / library.name)], check=False)

    site_packages.mkdir()
    for distribution in runtime_distributions():
        if distribution.metadata["Name"] == "flowctl":
            continue  # installed editable here: its files are the source tree, copied below
        for file in distribution.files or []:
            source = Path(str(distribution.locate_file(file)))
            if ".." in file.parts or not source.is_file():
                continue  # scripts in bin/ and the like: not needed in the image
            target = site_packages / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)

    _copy_files(root, additions)
    _copy_shared_libraries(root, [binaries / VERSION, *root.rglob("*.so*")])
    etc = root / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text(
        "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n"
    )
    (etc / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    for folder, mode in (("tmp", 0o1777), ("root", 0o700)):
        (root / folder).mkdir(exist_ok=True)
        (root / folder).chmod(mode)


def _copy_shared_libraries(root: Path, binaries: Iterable[Path]) -> None:
    """Copy what ldd says each binary loads, to the same path inside `root`."""
    needed: set[str] = set()
    for binary in binaries:
        if not binary.is_file() or binary.is_symlink():
            continue
        result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
        for line in result.stdout.splitlines():
            match = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
            if match:
                needed.add(match.group(1))
    for library in sorted(needed):
        if library.startswith(str(root)):
            continue  # found inside the image already (libpython)
        target = root / library.lstrip("/")
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(library).resolve(), target)


DEPENDENCIES = "localhost/flowctl/python-deps:3.11"
BASE = "localhost/flowctl/python:3.11"
KEY_LABEL = "io.flowctl.source-hash"
REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLES = REPOSITORY / "examples"
SITE_PACKAGES = f"{PREFIX}/lib/{VERSION}/site-packages"


@dataclass(frozen=True)
class Layer:
    """A small image on another: some files copied in, maybe a command."""

    tag: str
    files: tuple[tuple[Path, str], ...]  # (source in the repository, absolute path in the image)
    cmd: tuple[str, ...] = ()


# Layer by layer, so that a change to flowctl's code rebuilds seconds, not the interpreter.
LAYERS = (
    Layer(BASE, ((Path(flowctl.__file__).parent, f"{SITE_PACKAGES}/flowctl"),)),
    Layer(
        "localhost/flowctl-example/ttp-processor:latest",
        (
            (EXAMPLES / "ttp-processor" / "processor.py", "/app/ttp-processor/processor.py"),
            (EXAMPLES / "lib", "/app/lib"),
        ),
        ("python3", "/app/ttp-processor/processor.py"),
    ),
    Layer(
        "localhost/flowctl-example/consumer-app:latest",
        ((EXAMPLES / "lib", "/app/lib"),),
        ("python3", "/app/lib/consumer_app.py"),
    ),
)


def content_key(paths: Iterable[Path], *parts: str) -> str:
    """A hash of the files under `paths` (their names and bytes) and of `parts`."""
    digest = hashlib.sha256("\0".join(parts).encode())
    for path in paths:
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(path.parent)).encode() + b"\0")
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def dockerfile(source: str, key: str, cmd: Sequence[str] = ()) -> str:
    lines = [f"FROM {source}", "COPY files/ /"]
    if source == "scratch":
        lines += [
            f"ENV PATH={PREFIX}/bin:/usr/bin:/bin LD_LIBRARY_PATH={PREFIX}/lib",
            "ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1",
        ]
    lines.append(f'LABEL {KEY_LABEL}="{key}"')
    if cmd:
        lines.append(f"CMD {json.dumps(list(cmd))}")
    return "\n".join(lines) + "\n"


def _context(folder: Path, dockerfile_text: str) -> bytes:
    (folder / "Dockerfile").write_text(dockerfile_text)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(folder / "Dockerfile", "Dockerfile")
        archive.add(folder / "files", "files")
    return buffer.getvalue()


async def build_all(force: bool) -> None:
    async with EngineClient(engine_address()) as client:
        below = DEPENDENCIES
        key = content_key([Path(__file__), REPOSITORY / "pyproject.toml"], sys.version)
        if force or await _label(client, DEPENDENCIES) != key:
            say(f"{DEPENDENCIES}: building (Python and flowctl's dependencies, from this machine)")
            with tempfile.TemporaryDirectory(prefix="flowctl-image-") as folder:
                stage_root(Path(folder) / "files", [])
                context = _context(Path(folder), dockerfile("scratch", key))
            await client.build_image(context, DEPENDENCIES)
        for layer in LAYERS:
            key = content_key([source for source, _ in layer.files], key, *layer.cmd)
            if not force and await _label(client, layer.tag) == key:
                say(f"{layer.tag}: up to date")
            else:
                with tempfile.TemporaryDirectory(prefix="flowctl-image-") as folder:
                    _copy_files(Path(folder) / "files", layer.files)
                    context = _context(Path(folder), dockerfile(below, key, layer.cmd))
                await client.build_image(context, layer.tag)
                say(f"{layer.tag}: built")
            if layer.tag == BASE:
                below = BASE  # the example's images are layers on it


def _copy_files(root: Path, files: Iterable[tuple[Path, str]]) -> None:
    for source, destination in files:
        target = root / destination.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)


async def _label(client: EngineClient, image: str) -> str | None:
    labels = await client.image_labels(image)
    return None if labels is None else labels.get(KEY_LABEL)


def say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="build even if up to date")
    options = parser.parse_args(argv)
    os.umask(0o022)  # the image's files readable by any user a pipeline names
    try:
        trio.run(build_all, options.force)
    except EngineError as error:
        print(f"build-example-images: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("build-example-images: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
