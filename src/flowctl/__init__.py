"""flowctl: run data pipelines on one machine, with their control plane built in."""

__version__ = "0.1.0"
