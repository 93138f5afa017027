"""Step 3's /proc lookup against real sockets and real processes: who holds the peer's end."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from flowctl import sock_diag
from flowctl.process_identity import (
    CannotTell,
    ConnectionOwner,
    NotDescendant,
    OwnedBy,
    find_connection_owner,
    peer_socket_inode,
)

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/net"), reason="needs Linux /proc")

# Connects to the port in argv[1], says so, then holds the connection open.
CLIENT = (
    "import socket, sys, time; s = socket.create_connection(('{host}', int(sys.argv[1]))); "
    "print('connected', flush=True); time.sleep(60)"
)


@contextmanager
def listening(host: str = "127.0.0.1") -> Iterator[socket.socket]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as server:
        server.bind((host, 0))
        server.listen()
        server.settimeout(10)  # a guard against hangs, not a measurement
        yield server


@contextmanager
def started(argv: list[str]) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def client_argv(host: str, port: int) -> list[str]:
    return [sys.executable, "-c", CLIENT.format(host=host), str(port)]


def accept(server: socket.socket) -> tuple[tuple[str, int], tuple[str, int], socket.socket]:
    """(peer address, server address, the accepted socket), as the control plane sees them."""
    connection, peer = server.accept()
    return peer[:2], connection.getsockname()[:2], connection


def lookup_from(
    argv: Callable[[int], list[str]], host: str = "127.0.0.1"
) -> tuple[ConnectionOwner, int]:
    """Start `argv(port)`, accept its connection and ask who holds the peer's end.

    Returns the answer and the pid of the process started."""
    with listening(host) as server, started(argv(server.getsockname()[1])) as process:
        peer, ours, connection = accept(server)
        with connection:
            return find_connection_owner(peer, ours), process.pid


def test_the_child_holding_the_peer_socket_is_found() -> None:
    owner, child = lookup_from(lambda port: client_argv("127.0.0.1", port))
    assert isinstance(owner, OwnedBy)
    assert owner.pid == child
    assert owner.lineage[0].ppid == os.getpid()


def test_a_grandchild_is_found_with_its_ancestors() -> None:
    # `sh -c 'CMD; exit $?'` forks CMD (it is not the last command), like `npm start`.
    owner, shell = lookup_from(
        lambda port: ["sh", "-c", shlex.join(client_argv("127.0.0.1", port)) + "; exit $?"]
    )
    assert isinstance(owner, OwnedBy)
    assert owner.pid != shell
    assert [link.pid for link in owner.lineage[1:]] == [shell]
    assert owner.lineage[0].session == owner.lineage[1].session


def test_a_socket_of_this_process_is_no_descendant() -> None:
    with listening() as server, socket.create_connection(server.getsockname()) as client:
        peer, ours, connection = accept(server)
        with connection:
            assert client.getsockname()[:2] == peer
            assert find_connection_owner(peer, ours) == NotDescendant()


def test_a_peer_that_is_not_on_this_host_cannot_be_told() -> None:
    with listening() as server:
        owner = find_connection_owner(("127.0.0.1", 1), server.getsockname())
    assert isinstance(owner, CannotTell)
    assert "not on this host" in owner.reason


def test_without_proc_nothing_can_be_told(tmp_path: Path) -> None:
    owner = find_connection_owner(("127.0.0.1", 5000), None, proc=str(tmp_path))
    assert isinstance(owner, CannotTell)


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")


@needs_ipv6
def test_an_ipv6_child_is_found() -> None:
    owner, child = lookup_from(lambda port: client_argv("::1", port), host="::1")
    assert isinstance(owner, OwnedBy) and owner.pid == child


@pytest.mark.parametrize(
    ("listen_on", "connect_to"),
    [
        ("127.0.0.1", "127.0.0.1"),
        pytest.param("::1", "::1", marks=needs_ipv6),
        # A dual-stack server sees an IPv4 client as ::ffff:127.0.0.1.
        pytest.param("::", "127.0.0.1", marks=needs_ipv6),
    ],
)
def test_both_ways_to_the_socket_inode_agree(listen_on: str, connect_to: str) -> None:
    with listening(listen_on) as server:
        port = server.getsockname()[1]
        with socket.create_connection((connect_to, port)) as client:
            peer, ours, connection = accept(server)
            with connection:
                expected = os.fstat(client.fileno()).st_ino
                assert sock_diag.tcp_socket_inode(peer, ours) == expected
                assert peer_socket_inode(peer, ours) == expected
                # The server's own end is not the peer's.
                assert sock_diag.tcp_socket_inode(ours, peer) != expected


def test_no_socket_has_no_inode() -> None:
    with listening() as server:
        assert sock_diag.tcp_socket_inode(("127.0.0.1", 1), server.getsockname()) is None
        assert peer_socket_inode(("127.0.0.1", 1), server.getsockname()) is None
