"""Remove every container of a run, found by its label: the watchdog's and the guard's last pass.

Stdlib only (http.client over the engine's unix socket), so that the watchdog, which must
start quickly and without trio, can use it after flowctl was killed. The run itself stops
and removes its containers through engine_client.py; this pass finds what that could not
(flowctl SIGKILLed, a container created just before a cancellation).
"""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import quote

RUN_LABEL = "io.flowctl.run"
COMPONENT_LABEL = "io.flowctl.component"
LAUNCH_LABEL = "io.flowctl.launch"
API_VERSION = "v1.41"
TIMEOUT = 30.0  # per call; a busy engine is slow to remove a running container


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("engine", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def _connection(url: str) -> http.client.HTTPConnection:
    if url.startswith("unix://"):
        return _UnixConnection(url.removeprefix("unix://"), TIMEOUT)
    if url.startswith("tcp://"):
        return http.client.HTTPConnection(url.removeprefix("tcp://"), timeout=TIMEOUT)
    raise ValueError(f"unsupported engine address {url}")


def call_engine(url: str, method: str, path: str) -> tuple[int, bytes]:
    """One blocking call of the Engine API at `url` (unix:// or tcp://): status and body.
    Raises OSError when the engine cannot be reached."""
    connection = _connection(url)
    try:
        connection.request(method, f"/{API_VERSION}{path}")
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def run_containers(url: str, run_id: str) -> list[str]:
    """Ids of the run's containers, running or not."""
    filters = quote(json.dumps({"label": [f"{RUN_LABEL}={run_id}"]}))
    status, body = call_engine(url, "GET", f"/containers/json?all=1&filters={filters}")
    if status != 200:
        raise OSError(f"the engine at {url} answered {status} listing containers")
    return [str(item["Id"]) for item in json.loads(body)]


def remove_run_containers(url: str, run_id: str) -> int:
    """Remove (forcibly: SIGKILL, then delete) every container of the run; how many there were.

    Raises OSError when the engine cannot be reached or refuses."""
    removed = 0
    for container in run_containers(url, run_id):
        status, _ = call_engine(url, "DELETE", f"/containers/{container}?force=1&v=1")
        if status in (200, 204, 404):  # 404: it went away meanwhile
            removed += 1
    return removed
