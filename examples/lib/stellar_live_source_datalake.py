"""Stand-in for stellar-live-source-datalake: emits synthetic raw ledgers.

Started by bin/stellar-live-source-datalake, with the Python flowctl runs under.
"""

from standin import Stats, run_standin, synthetic_size


def read_next_ledger(stats: Stats) -> str:
    stats.ledger += 1
    if stats.ledger % 25 == 0:
        # Real datalakes lag now and then; show it in error_count.
        stats.error_count += 1
        return f"ledger {stats.ledger} not in the datalake yet, will retry"
    size = synthetic_size(stats.ledger)
    stats.success_count += 1
    stats.total_bytes += size
    return f"processed ledger {stats.ledger} ({size} bytes)"


run_standin(
    name="stellar-live-source-datalake",
    service_type="source",
    output_event_types=["raw_ledger_service.RawLedgerChunk"],
    step=read_next_ledger,
    metric_keys=[
        "success_count",
        "error_count",
        "total_processed",
        "total_bytes_processed",
        "last_successful_sequence",
        "uptime_ms",
    ],
    stderr_note="no datalake configured, generating synthetic ledgers",
)
