"""Where the registry keeps its records.

The registry only talks to the `Storage` protocol, so a persistent store (the standalone
server's file under ~/.flowctl/) can replace the in-memory one. Operations are
synchronous on purpose: registry mutations run inside grpclib handlers and must not await.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from .records import ServiceRecord


class Storage(Protocol):
    def put(self, record: ServiceRecord) -> None:
        """Insert a record, or replace the one with the same service_id in place."""
        ...

    def update(self, record: ServiceRecord) -> None:
        """Replace an existing record; KeyError when its service_id is not stored."""
        ...

    def update_in_memory(self, record: ServiceRecord) -> None:
        """Replace an existing record where reads come from, not where it is kept: for
        state a restart recomputes anyway (health) when the store cannot be written."""
        ...

    def get(self, service_id: str) -> ServiceRecord | None: ...

    def list(self) -> list[ServiceRecord]:
        """Every record, in the order they were first stored."""
        ...

    def count(self) -> int:
        """How many records are stored (without listing them)."""
        ...

    def delete(self, service_id: str) -> bool:
        """Remove a record; False when there was none."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """All changes inside the block are kept together, or none if it raises."""
        ...


class InMemoryStorage:
    """A dict in registration order; transactions restore a snapshot on error."""

    def __init__(self) -> None:
        self._records: dict[str, ServiceRecord] = {}
        self._depth = 0

    def put(self, record: ServiceRecord) -> None:
        self._records[record.service_id] = record

    def update(self, record: ServiceRecord) -> None:
        if record.service_id not in self._records:
            raise KeyError(record.service_id)
        self._records[record.service_id] = record

    def update_in_memory(self, record: ServiceRecord) -> None:
        InMemoryStorage.update(self, record)  # not a subclass's write-through update

    def get(self, service_id: str) -> ServiceRecord | None:
        return self._records.get(service_id)

    def list(self) -> list[ServiceRecord]:
        return list(self._records.values())

    def count(self) -> int:
        return len(self._records)

    def delete(self, service_id: str) -> bool:
        return self._records.pop(service_id, None) is not None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        # Records are immutable, so a shallow copy is a full snapshot.
        snapshot = dict(self._records) if self._depth == 0 else None
        self._depth += 1
        try:
            yield
        except BaseException:
            if snapshot is not None:
                self._records = snapshot
            raise
        finally:
            self._depth -= 1
