"""Ask the Linux kernel, through NETLINK_SOCK_DIAG, for the inode of one TCP socket.

Reading /proc/net/tcp walks the kernel's whole connection hash table (milliseconds even on
an idle host); an exact sock_diag request looks one socket up by its addresses and ports
(microseconds). It is what `ss` uses and needs no privilege.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct

Address = tuple[str, int]

_NETLINK_SOCK_DIAG = 4  # NETLINK_INET_DIAG
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 1
_NLMSG_ERROR = 2
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port id
_ALL_STATES = 0xFFFFFFFF
_NO_COOKIE = 0xFFFFFFFF
# inet_diag_msg: family, state, timer, retrans (4 bytes), inet_diag_sockid (48 bytes),
# expires, rqueue, wqueue, uid, inode.
_INODE_OFFSET = 4 + 48 + 4 * 4


class Unavailable(Exception):
    """sock_diag cannot answer here (not Linux, or the kernel refuses): ask /proc instead."""


def tcp_socket_inode(local: Address, remote: Address, timeout: float = 1.0) -> int | None:
    """The inode of the TCP socket bound to `local` and connected to `remote`, in this
    network namespace; None when there is none. Raises Unavailable."""
    try:
        channel = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG)
    except (AttributeError, OSError) as error:  # AF_NETLINK exists on Linux only
        raise Unavailable(str(error)) from None
    with channel:
        channel.settimeout(timeout)
        for family, source, destination in _forms(local, remote):
            inode = _ask(channel, family, (source, local[1]), (destination, remote[1]))
            if inode is not None:
                return inode
    return None


def _forms(local: Address, remote: Address) -> list[tuple[int, bytes, bytes]]:
    """(family, local address, remote address) as the socket may hold them: an IPv4
    connection can be an AF_INET socket, or an AF_INET6 one with IPv4-mapped addresses."""
    ends = [ipaddress.ip_address(host.split("%", 1)[0]) for host, _ in (local, remote)]
    v4 = [ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else ip for ip in ends]
    forms: list[tuple[int, bytes, bytes]] = []
    if all(isinstance(ip, ipaddress.IPv4Address) for ip in v4):
        forms.append((socket.AF_INET, v4[0].packed, v4[1].packed))  # type: ignore[union-attr]
        v6 = [ipaddress.IPv6Address(f"::ffff:{ip}") for ip in v4]
        forms.append((socket.AF_INET6, v6[0].packed, v6[1].packed))
    else:
        forms.append((socket.AF_INET6, ends[0].packed, ends[1].packed))
    return forms


def _ask(
    channel: socket.socket, family: int, local: tuple[bytes, int], remote: tuple[bytes, int]
) -> int | None:
    (source, sport), (destination, dport) = local, remote
    sockid = (
        struct.pack("!HH", sport, dport)
        + source.ljust(16, b"\0")
        + destination.ljust(16, b"\0")
        + struct.pack("=III", 0, _NO_COOKIE, _NO_COOKIE)  # any interface, no cookie check
    )
    request = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, _ALL_STATES) + sockid
    header = _HEADER.pack(_HEADER.size + len(request), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, 1, 0)
    try:
        channel.send(header + request)
        reply = channel.recv(8192)
    except OSError as error:
        raise Unavailable(str(error)) from None
    if len(reply) < _HEADER.size:
        raise Unavailable("short reply")
    _, kind, _, _, _ = _HEADER.unpack_from(reply)
    if kind == _NLMSG_ERROR:
        (code,) = struct.unpack_from("=i", reply, _HEADER.size)
        if -code == errno.ENOENT:  # no such socket (or, rarely, no tcp_diag: see caller)
            return None
        raise Unavailable(errno.errorcode.get(-code, str(-code)))
    if len(reply) < _HEADER.size + _INODE_OFFSET + 4:
        raise Unavailable("short reply")
    (inode,) = struct.unpack_from("=I", reply, _HEADER.size + _INODE_OFFSET)
    return inode or None  # 0: a socket in TIME_WAIT, owned by nobody any more
