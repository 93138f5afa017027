"""Heartbeats reach the console without waking its task when it has taken every earlier
event (`EventBus.subscribe(heartbeats=...)`), and in order through its channel otherwise."""

from __future__ import annotations

import io

import trio
import trio.testing

from flowctl.console.run_console import ConsoleOptions, RunConsole
from flowctl.events import ComponentStarted, EventBus, HeartbeatReceived, ServiceRegistered


def test_a_heartbeat_on_an_empty_channel_is_handed_over_at_once() -> None:
    bus = EventBus()
    taken: list[HeartbeatReceived] = []
    channel = bus.subscribe(heartbeats=taken.append)
    beat = HeartbeatReceived("s1", {"n": 1.0})
    bus.publish(beat)
    assert taken == [beat]
    bus.publish(ComponentStarted("c1", 7))  # every other event goes through the channel
    assert channel.receive_nowait() == ComponentStarted("c1", 7)
    assert taken == [beat]


def test_a_heartbeat_behind_queued_events_goes_through_the_channel_after_them() -> None:
    bus = EventBus()
    taken: list[HeartbeatReceived] = []
    channel = bus.subscribe(heartbeats=taken.append)
    registered = ServiceRegistered("s1", "SERVICE_TYPE_SOURCE", "c1", "by id")
    beat = HeartbeatReceived("s1", {"n": 1.0})
    bus.publish(registered)
    bus.publish(beat)
    assert taken == []
    assert [channel.receive_nowait(), channel.receive_nowait()] == [registered, beat]
    # Taken up: the next one is handed over directly again.
    later = HeartbeatReceived("s1", {"n": 2.0})
    bus.publish(later)
    assert taken == [later]


def test_a_subscriber_that_went_away_gets_no_more_heartbeats() -> None:
    bus = EventBus()
    taken: list[HeartbeatReceived] = []
    channel = bus.subscribe(heartbeats=taken.append)
    channel.close()
    bus.publish(HeartbeatReceived("s1", {}))
    bus.publish(HeartbeatReceived("s1", {}))
    assert taken == []


async def test_the_console_shows_the_metrics_either_way() -> None:
    bus = EventBus()
    console = RunConsole(
        [("c1", "source")], ConsoleOptions(status_view=False, summary_interval=0), io.StringIO()
    )
    events = bus.subscribe(heartbeats=console.heartbeat)
    # Queued: the registration, then a heartbeat behind it (it goes through the channel).
    bus.publish(ServiceRegistered("s1", "SERVICE_TYPE_SOURCE", "c1", "by id"))
    bus.publish(HeartbeatReceived("s1", {"n": 1.0}))
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(console.run, events)
            await trio.testing.wait_all_tasks_blocked()  # the console took both
            assert console.status.components["c1"].metrics == {"n": 1.0}
            # Now the channel is empty: handed over directly, seen at once.
            bus.publish(HeartbeatReceived("s1", {"n": 2.0}))
            assert console.status.components["c1"].metrics == {"n": 2.0}
            nursery.cancel_scope.cancel()
