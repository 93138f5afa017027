"""What the example pipeline's stand-in components share.

Each stand-in plays one role of the original Stellar token-transfer pipeline without real
data: it registers with flowctl's control plane through flowctl.sdk, prints a line per
synthetic ledger, says one thing on stderr, and reports metrics under the real keys.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

try:
    from flowctl.sdk import StopToken, run_component
except ImportError:
    sys.exit(
        f"{sys.argv[0]}: flowctl is not installed for {sys.executable}; run it with the "
        "Python flowctl is installed for (flowctl run sets FLOWCTL_PYTHON to it)"
    )

FIRST_LEDGER = 56_000_000
TICK_SECONDS = 1.0


@dataclass
class Stats:
    """Counters a stand-in updates as it goes; `metrics()` names them as real components do."""

    ledger: int = FIRST_LEDGER
    success_count: int = 0
    error_count: int = 0
    total_bytes: int = 0
    events_received: int = 0
    latency_ms: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def metrics(self) -> dict[str, float]:
        return {
            "success_count": self.success_count,
            "error_count": self.error_count,
            "total_processed": self.success_count + self.error_count,
            "total_bytes_processed": self.total_bytes,
            "last_successful_sequence": self.ledger,
            "total_events_received": self.events_received,
            "last_processed_ledger": self.ledger,
            "processing_latency_ms": self.latency_ms,
            "uptime_ms": (time.monotonic() - self.started) * 1000,
        }


def synthetic_size(ledger: int) -> int:
    """A ledger's size in bytes: varies from ledger to ledger, the same on every run."""
    return 2_000 + (ledger * 7_919) % 3_000


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def run_standin(
    *,
    name: str,
    service_type: str,
    step: Callable[[Stats], str],
    metric_keys: Sequence[str],
    stderr_note: str,
    input_event_types: Sequence[str] = (),
    output_event_types: Sequence[str] = (),
) -> None:
    """Run the stand-in until SIGTERM/SIGINT: `step` advances `stats` by one ledger and
    returns the line to print. Exits the process with run_component's status."""
    stats = Stats()

    def metrics() -> dict[str, float]:
        everything = stats.metrics()
        return {key: everything[key] for key in metric_keys}

    async def work(stop: StopToken) -> None:
        print(f"{name}: {stderr_note}", file=sys.stderr, flush=True)
        while True:
            print(step(stats), flush=True)
            if await stop.sleep(TICK_SECONDS):
                return

    sys.exit(
        run_component(
            service_type=service_type,
            input_event_types=input_event_types,
            output_event_types=output_event_types,
            metrics=metrics,
            work=work,
        )
    )
