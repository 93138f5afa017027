"""The one internal error of this package; the loader adds the file and raises PipelineError."""

from __future__ import annotations


class Invalid(Exception):
    """Something wrong at one place of the document (e.g. "spec.sources[0].inputs")."""

    def __init__(self, place: str, reason: str) -> None:
        super().__init__(f"{place}: {reason}" if place else reason)
        self.place = place
        self.reason = reason
