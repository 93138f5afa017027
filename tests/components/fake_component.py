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
import sys

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
    parser.add_argument("--exit-after", type=float, default=None)
    parser.add_argument("--exit-code", type=int, default=0)
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--heartbeat", type=float, default=0.2)
    return parser.parse_args()


async def main(args: argparse.Namespace) -> int:
    component_id = os.environ.get("FLOWCTL_COMPONENT_ID", "")
    for number in range(1, args.lines + 1):
        print(f"{component_id} line {number}", flush=True)
    if args.register != "never":
        host, _, port = os.environ["FLOWCTL_ENDPOINT"].rpartition(":")
        channel = Channel(host, int(port))
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
        asyncio.get_running_loop().create_task(heartbeat(stub, ack.service_id, args.heartbeat))
    if args.exit_after is not None:
        await asyncio.sleep(args.exit_after)
        print(f"exiting with {args.exit_code}", file=sys.stderr, flush=True)
        return args.exit_code
    await asyncio.Event().wait()
    return 0


async def heartbeat(stub: pb.ControlPlaneStub, service_id: str, interval: float) -> None:
    count = 0
    while True:
        count += 1
        await stub.heartbeat(pb.ServiceHeartbeat(service_id=service_id, metrics={"beats": count}))
        await asyncio.sleep(interval)


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    sys.exit(asyncio.run(main(arguments)))
