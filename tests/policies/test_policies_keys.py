"""The lifecycle keys of a component (restart_policy, max_restarts, restart_delay, job):
their defaults, and each bad value as one message naming its place."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flowctl.errors import EXIT_USAGE, PipelineError
from flowctl.pipeline import Component, parse_pipeline

FILE = Path("/pipelines/p.yaml")


def component(keys: str) -> Component:
    text = textwrap.dedent(
        f"""\
        apiVersion: v1
        kind: Pipeline
        metadata: {{name: p}}
        spec:
          sources: [{{id: src, command: [x], {keys}}}]
        """
    )
    return parse_pipeline(text, FILE, environ={}).components[0]


@pytest.mark.parametrize(
    ("keys", "mode", "max_restarts", "delay"),
    [
        ("job: false", "no", 0, 1.0),
        ("restart_policy: no", "no", 0, 1.0),  # YAML's `no` is read as written
        ("restart_policy: on-failure", "on-failure", 5, 1.0),
        ("restart_policy: on-failure:2", "on-failure", 2, 1.0),
        ("restart_policy: always, restart_delay: 250ms", "always", 5, 0.25),
        ("restart_policy: unless-stopped, max_restarts: 0", "always", 0, 1.0),
        ("restart_policy: on-failure:3, max_restarts: 3", "on-failure", 3, 1.0),
    ],
)
def test_defaults_and_values(keys: str, mode: str, max_restarts: int, delay: float) -> None:
    policy = component(keys).restart
    assert (policy.mode, policy.max_restarts, policy.delay) == (mode, max_restarts, delay)


def test_job_is_read() -> None:
    assert component("job: true, restart_policy: on-failure").job is True
    assert component("restart_policy: on-failure").job is False


@pytest.mark.parametrize(
    ("keys", "place", "reason"),
    [
        (
            "restart_policy: on-failur",
            "spec.sources[0].restart_policy",
            "unknown restart policy 'on-failur', did you mean 'on-failure'?",
        ),
        (
            "restart_policy: on-failure:x",
            "spec.sources[0].restart_policy",
            "'on-failure:x': the number of restarts must be a whole number, e.g. on-failure:3",
        ),
        (
            "restart_policy: on-failure:2, max_restarts: 4",
            "spec.sources[0].max_restarts",
            "is 4 but restart_policy on-failure:2 sets it to 2; keep one",
        ),
        (
            "restart_policy: always, max_restarts: -1",
            "spec.sources[0].max_restarts",
            "must be 0 or more, got -1",
        ),
        (
            "restart_policy: always, restart_delay: soon",
            "spec.sources[0].restart_delay",
            "invalid duration 'soon' (write it like 500ms, 10s, 1m or 1m30s)",
        ),
        (
            "restart_policy: always, restart_delay: 0s",
            "spec.sources[0].restart_delay",
            "must be more than 0, got '0s'",
        ),
        (
            "max_restarts: 3",
            "spec.sources[0].max_restarts",
            "has no effect without a restart: set restart_policy to on-failure or always, "
            "or leave it out",
        ),
        ("job: yes please", "spec.sources[0].job", "expected true or false, got a string"),
        (
            "job: true, restart_policy: always",
            "spec.sources[0].restart_policy",
            "a job restarted always would never complete; use on-failure (or leave it out)",
        ),
    ],
)
def test_bad_values_name_their_place(keys: str, place: str, reason: str) -> None:
    with pytest.raises(PipelineError) as caught:
        component(keys)
    assert (caught.value.place, caught.value.reason) == (place, reason)
    assert caught.value.exit_status == EXIT_USAGE
