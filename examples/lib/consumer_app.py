"""Stand-in for consumer-app: consumes synthetic token transfer events.

Started by bin/consumer-app, with the Python flowctl runs under.
"""

from standin import Stats, plural, run_standin


def consume_next_ledger(stats: Stats) -> str:
    stats.ledger += 1
    events = stats.ledger % 5
    stats.events_received += events
    stats.success_count += 1
    stats.latency_ms = 3.0 + stats.ledger % 7
    return f"received {plural(events, 'token transfer event')} from ledger {stats.ledger}"


run_standin(
    name="consumer-app",
    service_type="sink",
    input_event_types=["token_transfer.TokenTransferEvent"],
    step=consume_next_ledger,
    metric_keys=[
        "success_count",
        "error_count",
        "total_events_received",
        "last_processed_ledger",
        "processing_latency_ms",
        "uptime_ms",
    ],
    stderr_note="printing events instead of storing them (stand-in)",
)
