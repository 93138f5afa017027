"""Every fault test cleans up after itself, also when it fails half-way."""

from fault_helpers import kill_what_a_failed_test_left

__all__ = ["kill_what_a_failed_test_left"]  # an autouse fixture: pytest finds it here
