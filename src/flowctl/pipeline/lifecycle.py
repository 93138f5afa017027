"""A component's lifecycle keys: `restart_policy`, `max_restarts`, `restart_delay`, `job`.

Compose's values, so files written for the original (whose compose generator passes
`restart_policy` through) keep their meaning. `unless-stopped` is `always` within a run: a
run never outlives its own stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowctl.durations import parse_duration
from flowctl.pipeline.fields import at, describe, did_you_mean, optional_int, optional_text
from flowctl.pipeline.problems import Invalid

NO = "no"
ON_FAILURE = "on-failure"
ALWAYS = "always"
POLICY_VALUES = ("no", "on-failure", "on-failure:N", "always", "unless-stopped")
DEFAULT_MAX_RESTARTS = 5
DEFAULT_RESTART_DELAY = 1.0
LIFECYCLE_KEYS = ("restart_policy", "max_restarts", "restart_delay", "job")


@dataclass(frozen=True)
class RestartPolicy:
    """When a component that exited is started again, how often, and after how long.

    `mode` is `no`, `on-failure` (a non-zero exit or a signal) or `always` (any exit);
    `delay` is the first wait, doubled at each further restart (the runner caps it).
    """

    mode: str = NO
    max_restarts: int = 0
    delay: float = DEFAULT_RESTART_DELAY

    def restarts_after(self, returncode: int) -> bool:
        """Whether an exit with this status is one the policy restarts (limit aside)."""
        if self.mode == ALWAYS:
            return True
        return self.mode == ON_FAILURE and returncode != 0


def read_restart_policy(data: Mapping[str, Any], place: str) -> RestartPolicy:
    """The policy of the component at `place`; Invalid names the key and the cause."""
    text = optional_text(data, "restart_policy", place)
    mode, limit_in_value = _mode(text or NO, at(place, "restart_policy"))
    max_restarts = optional_int(data, "max_restarts", place)
    delay = _delay(data, place)
    if mode == NO:
        for key, value in (("max_restarts", max_restarts), ("restart_delay", delay)):
            if value is not None:
                raise Invalid(
                    at(place, key),
                    "has no effect without a restart: set restart_policy to on-failure "
                    "or always, or leave it out",
                )
        return RestartPolicy()
    if max_restarts is not None and max_restarts < 0:
        raise Invalid(at(place, "max_restarts"), f"must be 0 or more, got {max_restarts}")
    if limit_in_value is not None and max_restarts not in (None, limit_in_value):
        raise Invalid(
            at(place, "max_restarts"),
            f"is {max_restarts} but restart_policy on-failure:{limit_in_value} sets it to "
            f"{limit_in_value}; keep one",
        )
    limit = next((n for n in (limit_in_value, max_restarts) if n is not None), DEFAULT_MAX_RESTARTS)
    return RestartPolicy(mode, limit, DEFAULT_RESTART_DELAY if delay is None else delay)


def read_job(data: Mapping[str, Any], place: str, policy: RestartPolicy) -> bool:
    """`job: true`: the component is meant to finish (exit 0 is success)."""
    value = data.get("job")
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Invalid(at(place, "job"), f"expected true or false, got {describe(value)}")
    if value and policy.mode == ALWAYS:
        raise Invalid(
            at(place, "restart_policy"),
            "a job restarted always would never complete; use on-failure (or leave it out)",
        )
    return value


def _mode(text: str, here: str) -> tuple[str, int | None]:
    """(`no` | `on-failure` | `always`, the limit `on-failure:N` gives or None)."""
    if text in (NO, ON_FAILURE, ALWAYS):
        return text, None
    if text == "unless-stopped":
        return ALWAYS, None
    if text.startswith(f"{ON_FAILURE}:"):
        count = text.removeprefix(f"{ON_FAILURE}:")
        if count.isdigit():
            return ON_FAILURE, int(count)
        raise Invalid(
            here, f"'{text}': the number of restarts must be a whole number, e.g. on-failure:3"
        )
    hint = did_you_mean(text, POLICY_VALUES, "the values allowed are")
    raise Invalid(here, f"unknown restart policy '{text}'{hint}")


def _delay(data: Mapping[str, Any], place: str) -> float | None:
    text = optional_text(data, "restart_delay", place)
    if text is None:
        return None
    here = at(place, "restart_delay")
    try:
        seconds = parse_duration(text)
    except ValueError as error:
        raise Invalid(here, str(error)) from None
    if seconds <= 0:
        raise Invalid(here, f"must be more than 0, got '{text}'")
    return seconds
