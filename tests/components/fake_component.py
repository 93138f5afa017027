"""A configurable pipeline component for tests: registers (or not), heartbeats, misbehaves.

    python fake_component.py --register metadata --lines 5 --exit-after 0.5 --exit-code 3

It speaks the control-plane contract with a raw grpclib stub (no flowctl.sdk), so the
runner is tested against a component it does not share code with.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

from grpclib.client import Channel

from flowctl._proto import flowctl as pb


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--register", choices=["id", "metadata", "anonymous", "never"], default="id"
    )
    parser.add_argument("--type", choices=["source", "processor", "sink"], default="source")
    parser.add_argument("--inputs", nargs="*", default=[])
    parser.add_argument("--outputs", nargs="*", default=[])
    parser.add_argument("--lines", type=int, default=0, help="print this many lines first")
    parser.add_argument("--stderr-lines", type=int, default=0, help="and this many on stderr")
    parser.add_argument(
        "--awkward-output",
        action="store_true",
        help="also print bytes that are not UTF-8, a 100 kB line, colour escapes, a bare CR",
    )
    parser.add_argument("--exit-after", type=float, default=None)
    parser.add_argument("--exit-code", type=int, default=0)
    parser.add_argument(
        "--exit-once",
        default=None,
        help="exit (as --exit-after says) only when this file does not exist yet, making it: "
        "a component that crashes the first time and runs once restarted",
    )
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--heartbeat", type=float, default=0.2)
    parser.add_argument(
        "--metric", action="append", default=[], help="KEY=VALUE sent with each heartbeat"
    )
    parser.add_argument("--register-when", default=None, help="register once this file exists")
    parser.add_argument(
        "--stop-heartbeat-after",
        type=float,
        default=None,
        help="stop heartbeating after this many seconds, but stay alive",
    )
    parser.add_argument(
        "--daemon",
        action="append",
        default=[],
        choices=["group", "setsid", "setsid-deaf", "double-fork", "double-fork-clean-env"],
        help="first start a sleeping descendant that stays in the group, or leaves it",
    )
    parser.add_argument("--marker", default="", help="put in the daemons' command lines")
    parser.add_argument(
        "--register-from-daemon",
        action="store_true",
        help="register from a double-forked daemon (new session, parent gone); this process "
        "stays, registering nothing",
    )
    parser.add_argument("--flood", type=int, default=0, help="first write this many bytes")
    parser.add_argument("--close-output", action="store_true", help="after registering")
    parser.add_argument("--sigterm-log", default=None, help="append 'term ID' here on SIGTERM")
    parser.add_argument(
        "--stop-after-peer",
        default=None,
        help="on SIGTERM, exit only once the sigterm log shows that this peer got it too",
    )
    return parser.parse_args()


def spawn_daemon(mode: str, marker: str) -> None:
    """A descendant that sleeps for an hour, holding this component's stdout and stderr."""
    code = "import time; time.sleep(3600)"
    if mode == "setsid-deaf":  # and ignores SIGTERM: only SIGKILL ends it
        code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); " + code
    argv = [sys.executable, "-c", code, f"daemon-{mode}", marker]
    if mode == "group":
        subprocess.Popen(argv)
    elif mode in ("setsid", "setsid-deaf"):
        subprocess.Popen(argv, start_new_session=True)
    else:  # the classic daemon: its parent exits at once, so it is re-parented
        pid = os.fork()
        if pid == 0:
            os.setsid()
            if os.fork() == 0:
                env = {} if mode == "double-fork-clean-env" else dict(os.environ)
                os.execve(sys.executable, argv, env)
            os._exit(0)
        os.waitpid(pid, 0)


def become_daemon() -> bool:
    """The classic double fork: True in the daemon, which is in a session of its own and
    re-parented (its parent exits at once); False in the original process."""
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        return True
    os.waitpid(pid, 0)
    return False


def flood_line(number: int) -> bytes:
    """Line `number` of --flood: 8 KiB, numbered, so that a lost or doubled one shows."""
    return f"{number:08d} ".encode() + b"x" * (FLOOD_LINE - 10) + b"\n"


FLOOD_LINE = 8192


def flood(total: int) -> None:
    lines = (flood_line(number) for number in range(total // FLOOD_LINE))
    out = sys.stdout.buffer
    chunk: list[bytes] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == 128:  # 1 MiB per write: as fast as the pipe takes it
            out.write(b"".join(chunk))
            chunk.clear()
    out.write(b"".join(chunk))
    out.flush()


def tls_context() -> ssl.SSLContext | None:
    """TLS as `flowctl run --tls-*` tells components (FLOWCTL_TLS_*), else None: plain."""
    ca_file = os.environ.get("FLOWCTL_TLS_CA_CERT")
    if not ca_file:
        return None
    context = ssl.create_default_context(cafile=ca_file)
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # the server's own cert as anchor
    context.set_alpn_protocols(["h2"])
    if os.environ.get("FLOWCTL_TLS_CERT"):
        context.load_cert_chain(os.environ["FLOWCTL_TLS_CERT"], os.environ["FLOWCTL_TLS_KEY"])
    return context


async def main(args: argparse.Namespace) -> int:
    component_id = os.environ.get("FLOWCTL_COMPONENT_ID", "")
    for mode in args.daemon:
        spawn_daemon(mode, args.marker)
    if args.flood:
        flood(args.flood)
    for number in range(1, args.lines + 1):
        print(f"{component_id} line {number}", flush=True)
    for number in range(1, args.stderr_lines + 1):
        print(f"{component_id} complains {number}", file=sys.stderr, flush=True)
    if args.awkward_output:
        sys.stdout.buffer.write(b"bad bytes \xff\xfe here\n" + b"x" * 100_000 + b"\n")
        sys.stdout.buffer.write(b"\x1b[31mred\x1b[0m and \x1b[2Jclear\n50%\r100%\n")
        sys.stdout.buffer.flush()
    if args.register != "never":
        while args.register_when and not os.path.exists(args.register_when):
            await asyncio.sleep(0.05)
        host, _, port = os.environ["FLOWCTL_ENDPOINT"].rpartition(":")
        channel = Channel(host, int(port), ssl=tls_context())
        stub = pb.ControlPlaneStub(channel)
        info = pb.ServiceInfo(
            service_type=pb.ServiceType[args.type.upper()],
            input_event_types=args.inputs,
            output_event_types=args.outputs,
        )
        if args.register == "id":
            info.service_id = os.environ["FLOWCTL_SERVICE_ID"]
        elif args.register == "metadata":
            info.metadata = {"component_id": component_id}
        ack = await stub.register(info)
        print(f"registered as {ack.service_id}", flush=True)
        if args.close_output:
            sys.stderr.flush()
            os.close(1)
            os.close(2)
        asyncio.get_running_loop().create_task(
            heartbeat(stub, ack.service_id, args.heartbeat, args.stop_heartbeat_after, args.metric)
        )
    first_time = args.exit_once is None or not os.path.exists(args.exit_once)
    if args.exit_once is not None and first_time:
        note(args.exit_once, "exited once")
    if args.exit_after is not None and first_time:
        await asyncio.sleep(args.exit_after)
        print(f"exiting with {args.exit_code}", file=sys.stderr, flush=True)
        return args.exit_code
    await asyncio.Event().wait()
    return 0


async def heartbeat(
    stub: pb.ControlPlaneStub,
    service_id: str,
    interval: float,
    stop_after: float | None,
    metric: tuple[str, ...] | list[str] = (),
) -> None:
    extra = {key: float(value) for key, _, value in (item.partition("=") for item in metric)}
    loop = asyncio.get_running_loop()
    stop_at = None if stop_after is None else loop.time() + stop_after
    count = 0
    while stop_at is None or loop.time() < stop_at:
        count += 1
        await stub.heartbeat(
            pb.ServiceHeartbeat(service_id=service_id, metrics={"beats": count, **extra})
        )
        await asyncio.sleep(interval)


def note(path: str, text: str) -> None:
    with open(path, "a") as log:  # O_APPEND: lines of several components never mix
        log.write(text + "\n")


def on_sigterm(args: argparse.Namespace) -> None:
    component_id = os.environ.get("FLOWCTL_COMPONENT_ID", "")
    if args.sigterm_log:
        note(args.sigterm_log, f"term {component_id}")
    if args.ignore_sigterm:
        return
    if args.stop_after_peer and args.sigterm_log:
        while f"term {args.stop_after_peer}\n" not in Path(args.sigterm_log).read_text():
            time.sleep(0.01)
    if args.sigterm_log:
        note(args.sigterm_log, f"exit {component_id}")
    os._exit(0)


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.ignore_sigterm and not arguments.sigterm_log:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: on_sigterm(arguments))
    if arguments.register_from_daemon and not become_daemon():
        arguments.register = "never"
    sys.exit(asyncio.run(main(arguments)))
