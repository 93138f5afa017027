"""Stand-in for ttp-processor: turns synthetic raw ledgers into token transfer events.

Started as `npm start -- 1234 2345`, so npm and a shell sit between flowctl and this program;
package.json runs it with FLOWCTL_PYTHON, the Python flowctl runs under.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from standin import Stats, plural, run_standin


def process_next_ledger(stats: Stats) -> str:
    stats.ledger += 1
    transfers = stats.ledger % 5
    stats.events_received += 1
    stats.success_count += 1
    stats.latency_ms = 10.0 + (stats.ledger * 13) % 20
    return f"processed ledger {stats.ledger}: {plural(transfers, 'token transfer')}"


print(f"ttp-processor: started with arguments {' '.join(sys.argv[1:]) or '(none)'}", flush=True)
run_standin(
    name="ttp-processor",
    service_type="processor",
    input_event_types=["raw_ledger_service.RawLedgerChunk"],
    output_event_types=["token_transfer.TokenTransferEvent"],
    step=process_next_ledger,
    metric_keys=[
        "success_count",
        "error_count",
        "total_processed",
        "total_events_received",
        "last_processed_ledger",
        "processing_latency_ms",
        "uptime_ms",
    ],
    stderr_note="no real ledgers to decode, inventing token transfers",
)
