"""A flowctl.sdk component for the TLS tests: says what FLOWCTL_TLS_* it was given, then
registers and heartbeats as any SDK component does."""

from __future__ import annotations

import os
import sys

from flowctl.sdk import run_component

names = ("FLOWCTL_TLS_CA_CERT", "FLOWCTL_TLS_CERT", "FLOWCTL_TLS_KEY")
print("tls env: " + " ".join(f"{name}={os.environ.get(name, '')}" for name in names), flush=True)
sys.exit(run_component(service_type="sink", input_event_types=["demo.Event"]))
