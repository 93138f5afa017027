"""What the user sees in the terminal: aggregated component logs and flowctl's own lines."""
