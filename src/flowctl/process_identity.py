"""Which process is on the other end of a TCP connection, and who are its ancestors (Linux).

Step 3 of attachment (design.md, "Registration"): the peer's address leads, through
sock_diag (else /proc/net/tcp and tcp6), to the inode of the peer's socket; the inode to
the process whose /proc/PID/fd holds `socket:[inode]`; that process's parents to a
component. Only the descendants of one root process (flowctl itself) are searched, which
keeps the costly part, reading every open file descriptor, small; and, when the caller
names a mark (an environment entry prefix, FLOWCTL_RUN_ID=<run>/), the processes carrying
it, which finds a daemon that left the tree entirely. The mark is also read from the
owner's lineage, for a caller whose tree walk reaches nothing it knows.

Knows nothing of gRPC, pipelines or terminals. Where /proc cannot tell (another operating
system, a peer in another network namespace or container, processes whose files we may not
read), the answer is `CannotTell`, never a guess.
"""

from __future__ import annotations

import ipaddress
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from flowctl import sock_diag
from flowctl.procfs import (
    ProcInfo,
    all_pids,
    environ_entries,
    pids_with_environ_prefix,
    read_info,
)

Address = tuple[str, int]  # (host, port) as a socket reports it

_MAX_ANCESTORS = 64  # a bound for the ancestor walk, far above any real process tree


# One process of an ancestry: its pid, its parent, and the session it belongs to.
ProcessLink = ProcInfo


@dataclass(frozen=True)
class OwnedBy:
    """The peer's socket is held by `lineage[0]`; the rest are its ancestors, up to (not
    including) the root that was searched.

    `mark`: the rest of the searched mark's entry (b"FLOWCTL_RUN_ID=<run>/" -> "<component>")
    in the environment of the nearest process of the lineage carrying it; "" if none does.
    """

    lineage: tuple[ProcessLink, ...]
    mark: str = ""

    @property
    def pid(self) -> int:
        return self.lineage[0].pid


@dataclass(frozen=True)
class NotDescendant:
    """The peer's socket is on this host, and no descendant of the root holds it."""


@dataclass(frozen=True)
class CannotTell:
    reason: str


ConnectionOwner = OwnedBy | NotDescendant | CannotTell


def find_connection_owner(
    peer: Address,
    server: Address | None = None,
    root: int | None = None,
    proc: str = "/proc",
    mark: bytes = b"",
) -> ConnectionOwner:
    """Who, among the descendants of `root` (default: this process), holds the other end of
    the connection from `peer` to `server` (both as seen by the server)?

    Without `server`, any socket whose local address is `peer` matches. With `mark`, the
    processes whose environment carries it are searched too when no descendant holds the
    socket, and the owner's `mark` is read.
    """
    root = os.getpid() if root is None else root
    try:
        inode = _peer_inode(peer, server, proc)
    except OSError:
        return CannotTell(f"{proc}/net/tcp cannot be read")
    if inode is None:
        return CannotTell("the peer's socket is not on this host (another network namespace?)")
    target = f"socket:[{inode}]"
    searched = descendants(root, proc)
    holder, unreadable = _holder(searched, target, proc)
    if holder is None and mark:
        # Once per connection, and only for a socket none of flowctl's descendants holds.
        seen = set(searched)
        marked = [pid for pid in pids_with_environ_prefix(mark, proc) if pid not in seen]
        holder, unreadable_marked = _holder(marked, target, proc)
        unreadable += unreadable_marked
    if holder is not None:
        lineage = ancestry(holder, root, proc)
        return OwnedBy(lineage, _nearest_mark(lineage, mark, proc) if mark else "")
    if unreadable:
        return CannotTell(f"the open files of {unreadable} processes cannot be read")
    return NotDescendant()


def _holder(pids: list[int], target: str, proc: str) -> tuple[int | None, int]:
    """The first of `pids` holding `target`, and how many could not be read."""
    unreadable = 0
    for pid in pids:
        try:
            if _holds(pid, target, proc):
                return pid, unreadable
        except PermissionError:
            unreadable += 1
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited while we looked
    return None, unreadable


def _nearest_mark(lineage: tuple[ProcessLink, ...], mark: bytes, proc: str) -> str:
    """The rest of the `mark` entry of the nearest process carrying it: the owner itself,
    normally (children inherit it), so this reads one environment."""
    for link in lineage:
        for entry in environ_entries(link.pid, proc):
            if entry.startswith(mark):
                return entry[len(mark) :].decode(errors="replace")
    return ""


# -- sockets --------------------------------------------------------------------------------


def _peer_inode(peer: Address, server: Address | None, proc: str) -> int | None:
    """Ask sock_diag first (microseconds); /proc/net/tcp (milliseconds: it walks every
    connection of the host) when it cannot answer, or to confirm a miss, since sock_diag
    also says "no such socket" when the kernel has no tcp_diag module."""
    if server is not None and proc == "/proc":
        try:
            inode = sock_diag.tcp_socket_inode(peer, server)
        except sock_diag.Unavailable:
            inode = None
        if inode is not None:
            return inode
    return peer_socket_inode(peer, server, proc)


def peer_socket_inode(peer: Address, server: Address | None, proc: str = "/proc") -> int | None:
    """The inode of the socket whose local address is `peer` (and remote is `server`).

    Raises OSError when /proc/net/tcp itself cannot be read.
    """
    locals_ = _proc_forms(peer)
    remotes = _proc_forms(server) if server is not None else None
    found_table = False
    for table in ("tcp", "tcp6"):
        try:
            with open(f"{proc}/net/{table}") as file:
                lines = file.readlines()[1:]  # the first line is the header
        except FileNotFoundError:
            continue  # no IPv6 on this host
        found_table = True
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[1] not in locals_:
                continue
            if remotes is not None and fields[2] not in remotes:
                continue
            inode = int(fields[9])
            if inode:  # 0: a socket in TIME_WAIT, owned by nobody any more
                return inode
    if not found_table:
        raise FileNotFoundError(f"{proc}/net/tcp")
    return None


def _proc_forms(address: Address) -> set[str]:
    """How /proc/net/tcp{,6} may write this address: `HEX:PORT`, the address as 32-bit words
    in host byte order. An IPv4 address may also appear IPv4-mapped in tcp6, and a mapped
    one as plain IPv4 in tcp, depending on which socket family each side used."""
    host, port = address
    ip = ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    packed = [ip.packed]
    if isinstance(ip, ipaddress.IPv4Address):
        packed.append(ipaddress.IPv6Address(f"::ffff:{ip}").packed)
    return {f"{_words_hex(raw)}:{port:04X}" for raw in packed}


def _words_hex(raw: bytes) -> str:
    # The kernel prints each 32-bit word of the address as a native-endian number.
    words = struct.unpack(f"={len(raw) // 4}I", raw)
    return "".join(f"{word:08X}" for word in words)


def _holds(pid: int, target: str, proc: str) -> bool:
    """Whether the process has `target` (e.g. "socket:[123]") among its open files."""
    with os.scandir(f"{proc}/{pid}/fd") as entries:
        for entry in entries:
            try:
                if os.readlink(entry.path) == target:
                    return True
            except OSError:
                continue  # closed while we looked
    return False


# -- processes ------------------------------------------------------------------------------


def read_link(pid: int, proc: str = "/proc") -> ProcessLink | None:
    """pid, parent and session from /proc/PID/stat; None when the process is gone."""
    return read_info(pid, proc)


def ancestry(pid: int, root: int, proc: str = "/proc") -> tuple[ProcessLink, ...]:
    """`pid` and its ancestors, nearest first, stopping before `root` (or init)."""
    lineage: list[ProcessLink] = []
    while pid not in (root, 0, 1) and len(lineage) < _MAX_ANCESTORS:
        link = read_link(pid, proc)
        if link is None:
            break
        lineage.append(link)
        pid = link.ppid
    return tuple(lineage)


def descendants(root: int, proc: str = "/proc") -> list[int]:
    """Every living descendant of `root`, parents before their children."""
    children = _children_by_parent(root, proc)
    found: list[int] = []
    queue = list(children.get(root, ()))
    while queue:
        pid = queue.pop(0)
        found.append(pid)
        queue.extend(children.get(pid, ()))
    return found


def _children_by_parent(root: int, proc: str) -> dict[int, list[int]]:
    """Parent -> children, from the kernel's per-thread children lists when it keeps them
    (CONFIG_PROC_CHILDREN: cost grows with flowctl's tree only), else from every
    /proc/PID/stat (cost grows with the number of processes on the host)."""
    if os.path.exists(f"{proc}/{root}/task/{root}/children"):
        return _children_from_task_lists(root, proc)
    children: dict[int, list[int]] = {}
    for pid in all_pids(proc):
        link = read_link(pid, proc)
        if link is not None:
            children.setdefault(link.ppid, []).append(pid)
    return children


def _children_from_task_lists(root: int, proc: str) -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    queue = [root]
    while queue:
        parent = queue.pop()
        kids = list(_task_children(parent, proc))
        children[parent] = kids
        queue.extend(kids)
    return children


def _task_children(pid: int, proc: str) -> Iterator[int]:
    # A child belongs to the thread that forked it, so every thread's list is read.
    try:
        tasks = os.listdir(f"{proc}/{pid}/task")
    except OSError:
        return
    for tid in tasks:
        try:
            with open(f"{proc}/{pid}/task/{tid}/children") as file:
                yield from (int(child) for child in file.read().split())
        except OSError:
            continue
