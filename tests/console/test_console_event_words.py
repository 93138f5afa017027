"""flowctl's lines for events, word for word."""

from __future__ import annotations

import math

from flowctl.console.event_log import describe_event
from flowctl.console.figures import count_of, telling_metrics
from flowctl.events import ControlPlaneListening, ServiceRegistered

STRANGER = ServiceRegistered("x-1", "SERVICE_TYPE_SOURCE", None, None, None)


def test_a_registration_without_a_pipeline_is_no_stranger() -> None:
    line = describe_event(STRANGER, in_pipeline=False)
    assert line is not None
    assert (line.level, line.text) == ("INFO", "registered x-1 (SERVICE_TYPE_SOURCE)")


def test_in_a_pipeline_an_unattached_registration_is_a_warning() -> None:
    line = describe_event(STRANGER)
    assert line is not None and line.level == "WARNING"
    assert "not part of this pipeline" in line.text


def test_the_listening_line() -> None:
    line = describe_event(ControlPlaneListening("127.0.0.1:8080"))
    assert line is not None and line.text == "control plane listening on 127.0.0.1:8080"


def test_counts_agree_with_their_noun() -> None:
    assert [count_of(n, "line") for n in (0, 1, 2)] == ["0 lines", "1 line", "2 lines"]


def test_metrics_that_are_not_finite_are_shown_not_raised() -> None:
    # A component may send NaN or ±Infinity; the live view and `list` used to raise on them.
    metrics = {"lag": math.nan, "rate": math.inf, "floor": -math.inf}
    assert telling_metrics(metrics) == "lag=nan rate=inf floor=-inf"
