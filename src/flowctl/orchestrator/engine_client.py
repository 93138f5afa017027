"""A small client of the Docker Engine API, the one both Docker Engine and Podman serve.

Only the calls flowctl makes: ping, image lookup and pull, create, start, logs, wait, stop,
kill, remove, list by label, and build (for the scripts that make example images). It
speaks HTTP over the engine's unix socket with httpx, which runs on trio natively (through
anyio), so a container's log stream and its wait are ordinary trio tasks that a cancelled
nursery stops. The watchdog, which must start quickly and without trio, has its own
stdlib sweep (container_sweep.py).
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

API_VERSION = "v1.41"  # Docker Engine 20.10 and later, Podman 3 and later
# Where an engine listens when DOCKER_HOST is not set: Docker, then root and rootless Podman.
DEFAULT_SOCKETS = ("/var/run/docker.sock", "/run/podman/podman.sock")
CALL_TIMEOUT = 120.0  # a busy engine can take seconds to create or remove a container
MAX_ERROR_BODY = 64 * 1024

STDOUT, STDERR = 1, 2  # stream numbers in the multiplexed log stream


class EngineError(Exception):
    """The engine refused or failed a call; the message is the engine's, in a sentence."""


class EngineUnreachable(EngineError):
    pass


class ImageMissing(EngineError):
    pass


@dataclass(frozen=True)
class EngineAddress:
    url: str  # "unix:///var/run/docker.sock" or "tcp://127.0.0.1:2375"
    chosen_by: str  # how it was chosen, for messages: "DOCKER_HOST", "the default"
    tried: tuple[str, ...] = ()  # the sockets looked for, when none was found

    @property
    def socket_path(self) -> str | None:
        return self.url.removeprefix("unix://") if self.url.startswith("unix://") else None

    def describe(self) -> str:
        if self.tried:
            return f"{' or '.join(self.tried)} (the default sockets; none exists)"
        return f"{self.url} ({self.chosen_by})"


def engine_address(environ: Mapping[str, str] | None = None) -> EngineAddress:
    """DOCKER_HOST if set, else the first default socket that exists."""
    env = os.environ if environ is None else environ
    configured = env.get("DOCKER_HOST", "").strip()
    if configured:
        return EngineAddress(configured, "DOCKER_HOST")
    candidates = list(DEFAULT_SOCKETS)
    runtime_dir = env.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        candidates.insert(1, f"{runtime_dir}/podman/podman.sock")
    for path in candidates:
        if Path(path).exists():
            return EngineAddress(f"unix://{path}", "the default socket")
    return EngineAddress(f"unix://{candidates[0]}", "the default socket", tuple(candidates))


class EngineClient:
    """Calls on one engine; `async with` it, or call aclose()."""

    def __init__(self, address: EngineAddress) -> None:
        self.address = address
        socket_path = address.socket_path
        if socket_path is not None:
            transport = httpx.AsyncHTTPTransport(uds=socket_path)
            base = f"http://engine/{API_VERSION}"
        elif address.url.startswith("tcp://"):
            transport = httpx.AsyncHTTPTransport()
            base = f"http://{address.url.removeprefix('tcp://')}/{API_VERSION}"
        else:
            raise EngineUnreachable(
                f"DOCKER_HOST={address.url} is not supported: use unix:///path or tcp://host:port"
            )
        self._http = httpx.AsyncClient(
            transport=transport, base_url=base, timeout=httpx.Timeout(CALL_TIMEOUT)
        )

    async def __aenter__(self) -> EngineClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- calls -----------------------------------------------------------------------------

    async def ping(self) -> None:
        await self._call("GET", "/_ping")

    async def image_exists(self, image: str) -> bool:
        return await self.image_labels(image) is not None

    async def image_labels(self, image: str) -> dict[str, str] | None:
        """The image's labels ({} for none); None when the engine does not have it."""
        response = await self._call("GET", f"/images/{quote(image, safe='')}/json", ok_404=True)
        if response.status_code == 404:
            return None
        labels = (response.json().get("Config") or {}).get("Labels") or {}
        return {str(key): str(value) for key, value in labels.items()}

    async def pull(self, image: str) -> None:
        """Pull `image`; the engine's progress is read and dropped, its error raised."""
        name, tag = _split_reference(image)
        params = {"fromImage": name, "tag": tag}
        async with self._http.stream("POST", "/images/create", params=params) as response:
            await self._check(response, image=image)
            async for line in response.aiter_lines():
                _raise_stream_error(line, f"pulling {image}")

    async def create(self, name: str, config: Mapping[str, Any]) -> str:
        response = await self._call(
            "POST",
            "/containers/create",
            params={"name": name},
            json=config,
            image=str(config.get("Image", "")),
        )
        return str(response.json()["Id"])

    async def start(self, container: str) -> None:
        await self._call("POST", f"/containers/{container}/start")

    async def inspect(self, container: str) -> dict[str, Any]:
        response = await self._call("GET", f"/containers/{container}/json")
        result: dict[str, Any] = response.json()
        return result

    async def wait(self, container: str) -> int:
        """The exit status, once the container is not running (a long poll)."""
        response = await self._call(
            "POST",
            f"/containers/{container}/wait",
            params={"condition": "not-running"},
            timeout=httpx.Timeout(CALL_TIMEOUT, read=None),
        )
        return int(response.json()["StatusCode"])

    async def stop(self, container: str, grace: float) -> None:
        """The engine's stop: its stop signal, `grace` seconds (whole), then SIGKILL."""
        seconds = max(0, int(grace))
        await self._call(
            "POST",
            f"/containers/{container}/stop",
            params={"t": seconds},
            timeout=httpx.Timeout(CALL_TIMEOUT + seconds),
            ok_304=True,
        )

    async def kill(self, container: str, signal: str | int = "SIGKILL") -> None:
        await self._call(
            "POST", f"/containers/{container}/kill", params={"signal": str(signal)}, ok_409=True
        )

    async def remove(self, container: str) -> None:
        await self._call(
            "DELETE", f"/containers/{container}", params={"force": "1", "v": "1"}, ok_404=True
        )

    async def logs(self, container: str, follow: bool = True) -> AsyncIterator[tuple[int, bytes]]:
        """(STDOUT or STDERR, bytes) from the start of the container's output until it ends
        (follow) or up to what it has written so far (not follow).

        The stream is multiplexed (no TTY): frames of an 8-byte header (stream, 0, 0, 0,
        size as big-endian uint32) and that many bytes.
        """
        params = {"follow": "1" if follow else "0", "stdout": "1", "stderr": "1"}
        timeout = httpx.Timeout(CALL_TIMEOUT, read=None)
        url = f"/containers/{container}/logs"
        async with self._http.stream("GET", url, params=params, timeout=timeout) as response:
            await self._check(response)
            frames = _Frames()
            async for chunk in response.aiter_raw():
                for item in frames.feed(chunk):
                    yield item

    async def build_image(self, context_tar: bytes, tag: str) -> None:
        """Build from a tar of a context holding a Dockerfile (scripts use this)."""
        headers = {"Content-Type": "application/x-tar"}
        params = {"t": tag, "rm": "1", "pull": "0"}
        timeout = httpx.Timeout(CALL_TIMEOUT, read=600.0)
        async with self._http.stream(
            "POST", "/build", params=params, content=context_tar, headers=headers, timeout=timeout
        ) as response:
            await self._check(response)
            async for line in response.aiter_lines():
                _raise_stream_error(line, f"building {tag}")

    # -- plumbing --------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        timeout: httpx.Timeout | None = None,
        image: str = "",
        ok_304: bool = False,
        ok_404: bool = False,
        ok_409: bool = False,
    ) -> httpx.Response:
        try:
            response = await self._http.request(
                method,
                path,
                params=params,
                json=json,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TransportError as error:
            raise self._unreachable(error) from None
        allowed = {code for code, ok in ((304, ok_304), (404, ok_404), (409, ok_409)) if ok}
        if response.status_code in allowed:
            return response
        await self._check(response, image=image)
        return response

    async def _check(self, response: httpx.Response, image: str = "") -> None:
        if response.status_code < 400:
            return
        try:
            body = response.content[:MAX_ERROR_BODY]  # a plain call: read already
        except httpx.ResponseNotRead:
            body = await _bounded_body(response)  # a stream: read no more than needed
        message = _engine_message(body) or f"HTTP {response.status_code}"
        if response.status_code == 404 and image and "image" in message.lower():
            raise ImageMissing(message)
        raise EngineError(message)

    def _unreachable(self, error: Exception) -> EngineUnreachable:
        where = self.address.describe()
        if self.address.tried:
            return EngineUnreachable(
                f"no container engine answers at {where}: start Docker or "
                "`podman system service`, or set DOCKER_HOST to the engine's socket"
            )
        cause = str(error) or type(error).__name__
        return EngineUnreachable(f"no container engine answers at {where}: {cause}")


async def _bounded_body(response: httpx.Response) -> bytes:
    body = b""
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) >= MAX_ERROR_BODY:
            break
    return body[:MAX_ERROR_BODY]


def _engine_message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()
    if isinstance(data, dict):
        return str(data.get("message") or data.get("cause") or "").strip()
    return ""


def _raise_stream_error(line: str, doing: str) -> None:
    """Pull and build answer 200 and report failure inside the stream of JSON lines."""
    if not line.strip():
        return
    try:
        item = json.loads(line)
    except ValueError:
        return
    if isinstance(item, dict) and item.get("error"):
        raise EngineError(f"{doing}: {str(item['error']).strip()}")


def _split_reference(image: str) -> tuple[str, str]:
    """("name", "tag") of an image reference; a digest stays in the name."""
    if "@" in image:
        return image, ""
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return image, "latest"
    return name, tag


class _Frames:
    """Splits the multiplexed log stream into (stream, bytes) pieces as the bytes arrive:
    a frame is never buffered whole, whatever size its header announces."""

    def __init__(self) -> None:
        self._header = b""
        self._stream = STDOUT
        self._left = 0  # bytes of the current frame still to come

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        pieces: list[tuple[int, bytes]] = []
        while data:
            if self._left == 0:
                needed = 8 - len(self._header)
                self._header += data[:needed]
                data = data[needed:]
                if len(self._header) == 8:
                    self._stream, self._left = struct.unpack(">BxxxL", self._header)
                    self._header = b""
                continue
            piece, data = data[: self._left], data[self._left :]
            self._left -= len(piece)
            pieces.append((self._stream, piece))
        return pieces


def env_list(env: Mapping[str, str]) -> Sequence[str]:
    return [f"{name}={value}" for name, value in env.items()]
