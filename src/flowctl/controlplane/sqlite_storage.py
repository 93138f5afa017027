"""The standalone server's persistent registry: one SQLite file (standard library only).

Components never re-register, so after a restart the server must know the ids they keep
heartbeating with. Each record is one row; the ServiceInfo is kept as the protobuf bytes
it arrived as, so unknown fields and enum numbers without a name survive a restart.

Transactions behave like InMemoryStorage's: only the outermost block commits or rolls
back; an inner block is part of it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from loguru import logger

from flowctl._proto import flowctl as pb
from flowctl.errors import RegistryUnavailable

from . import wire_check
from .attachment import Attachment, PeerInfo
from .limits import Limits, clipped
from .private_files import create_private_file, create_private_folders
from .records import ServiceRecord
from .storage import InMemoryStorage

# Marks the file as a flowctl registry (PRAGMA application_id, "flct"), so another
# program's SQLite file is refused instead of being written into.
APPLICATION_ID = 0x666C6374
# Bump when the table changes, and add the step to _migrate().
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE services (
    position INTEGER PRIMARY KEY,      -- registration order: an upsert keeps the rowid
    service_id TEXT NOT NULL UNIQUE,
    info BLOB NOT NULL,                -- pb.ServiceInfo as received, protobuf bytes
    healthy INTEGER NOT NULL,
    last_heartbeat TEXT NOT NULL,      -- ISO 8601, UTC
    metrics TEXT NOT NULL,             -- JSON object; NaN and infinities as strings
    attached_to TEXT,
    attached_by TEXT,
    peer TEXT,                         -- JSON object
    unattached_reason TEXT
)
"""
_UPSERT = """
INSERT INTO services (service_id, info, healthy, last_heartbeat, metrics,
                      attached_to, attached_by, peer, unattached_reason)
VALUES (:service_id, :info, :healthy, :last_heartbeat, :metrics,
        :attached_to, :attached_by, :peer, :unattached_reason)
ON CONFLICT (service_id) DO UPDATE SET
    info = excluded.info, healthy = excluded.healthy,
    last_heartbeat = excluded.last_heartbeat, metrics = excluded.metrics,
    attached_to = excluded.attached_to, attached_by = excluded.attached_by,
    peer = excluded.peer, unattached_reason = excluded.unattached_reason
"""
_UPDATE_STATE = """
UPDATE services SET
    healthy = :healthy, last_heartbeat = :last_heartbeat, metrics = :metrics,
    attached_to = :attached_to, attached_by = :attached_by, peer = :peer,
    unattached_reason = :unattached_reason
WHERE service_id = :service_id
"""
_UPDATE = _UPDATE_STATE.replace("SET", "SET info = :info,")
_DELETE = "DELETE FROM services WHERE service_id = ?"
_SELECT_ALL = """
SELECT service_id, info, healthy, last_heartbeat, metrics,
       attached_to, attached_by, peer, unattached_reason
FROM services ORDER BY position
"""


# Stored registrations are checked for what decodes, not for today's limits: a service
# registered under other limits is still the service its component heartbeats as.
_ANY_SIZE = Limits(**{limit.name: 1 << 62 for limit in dataclasses.fields(Limits)})


class SqliteStorage(InMemoryStorage):
    """A `Storage` in one SQLite file, held by this process alone until `close()`.

    The in-memory storage, written through to the file: reads are served from memory
    (the file is locked for this process, so what it wrote is what the file holds, and
    parsing protobuf on every heartbeat would cost more than SQLite itself), and every
    change goes to the file before it is kept in memory.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._connection = _connect(path)
        try:
            _prepare(self._connection, path)
            rows = self._connection.execute(_SELECT_ALL).fetchall()
            self._records = {
                record.service_id: record for record in map(_record_of, self._decodable(rows))
            }
        except RegistryUnavailable:
            self._connection.close()
            raise
        except Exception as error:  # whatever a damaged row or page raises
            self._connection.close()
            raise RegistryUnavailable(path, f"not a readable flowctl registry ({error})") from None
        self.reloaded = len(self._records)
        self._unwritable = False  # the last write failed: said once, until one works

    def _decodable(self, rows: list[Row]) -> Iterator[Row]:
        """The rows whose registration decodes; the others are dropped from the file.

        Before requests were checked, a registration that did not decode (an enum sent as
        bytes) could be stored, and then broke every list, also after a restart. It is
        dropped with one line saying why: unusable, and its component would have to
        register again (none do), so nothing usable is lost.
        """
        for row in rows:
            service_id, info = row[0], row[1]
            try:
                wire_check.check_request(info, wire_check.SERVICE_INFO, _ANY_SIZE)
            except wire_check.RequestRejected as rejected:
                logger.warning(
                    f"registry: dropped service {clipped(service_id)}: its stored "
                    f"registration does not decode ({rejected.message})"
                )
                # Best effort: on a full disk it stays in the file, and is skipped again.
                with contextlib.suppress(sqlite3.Error):
                    self._connection.execute(_DELETE, (service_id,))
                continue
            yield row

    # -- Storage: the file first, then memory -----------------------------------------

    def put(self, record: ServiceRecord) -> None:
        self._connection.execute(_UPSERT, {**_state_of(record), "info": bytes(record.info)})
        super().put(record)  # an existing key keeps its place

    def update(self, record: ServiceRecord) -> None:
        stored = self.get(record.service_id)
        if stored is None:
            raise KeyError(record.service_id)
        if record.info is stored.info:
            # A heartbeat or a health change: the registration itself is unchanged, so
            # its bytes (betterproto's serialisation, the costly part) are not rewritten.
            self._connection.execute(_UPDATE_STATE, _state_of(record))
        else:
            self._connection.execute(_UPDATE, {**_state_of(record), "info": bytes(record.info)})
        super().update(record)

    def delete(self, service_id: str) -> bool:
        self._connection.execute(_DELETE, (service_id,))
        return super().delete(service_id)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One SQLite transaction around the outermost block; memory is restored by the
        in-memory storage's own snapshot when the block fails."""
        with super().transaction():
            if self._depth > 1:  # nested: part of the outer transaction
                yield
                return
            try:
                self._connection.execute("BEGIN IMMEDIATE")
                yield
                self._connection.execute("COMMIT")
            except BaseException as error:
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
                if isinstance(error, sqlite3.Error):  # a full disk, a file gone read-only
                    self._say_unwritable(error)
                    raise RegistryUnavailable(self.path, f"cannot write it ({error})") from None
                raise
            if self._unwritable:
                self._unwritable = False
                logger.info(f"registry: {self.path} can be written again")

    def _say_unwritable(self, error: sqlite3.Error) -> None:
        # Every heartbeat writes: one line when the trouble starts, not one per call.
        if not self._unwritable:
            self._unwritable = True
            logger.error(
                f"registry: cannot write {self.path} ({error}); registrations and heartbeats "
                "answer UNAVAILABLE until it can, the services known are still served"
            )

    # -- lifetime -----------------------------------------------------------------------

    def close(self) -> None:
        """Write everything back into the file (the WAL is folded in) and release it."""
        self._connection.close()

    def __enter__(self) -> SqliteStorage:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _connect(path: Path) -> sqlite3.Connection:
    if path.is_dir():
        raise RegistryUnavailable(path, "it is a folder")
    try:
        create_private_folders(path.parent)
    except OSError as error:
        raise RegistryUnavailable(path, f"cannot create its folder ({error.strerror})") from None
    try:
        # Made 0600 before SQLite opens it: SQLite gives its -wal (and -shm) file the
        # database file's mode, and would create the file itself 0644.
        create_private_file(path)
    except OSError as error:
        raise RegistryUnavailable(path, f"cannot create it ({error.strerror})") from None
    try:
        # Autocommit (isolation_level=None): transaction() says where transactions are.
        # timeout=0: a file held by another server is refused at once, not waited for.
        return sqlite3.connect(path, timeout=0, isolation_level=None)
    except sqlite3.Error as error:
        raise RegistryUnavailable(path, str(error)) from None


def _prepare(connection: sqlite3.Connection, path: Path) -> None:
    """Check the file is a flowctl registry (or new), set the pragmas, create the schema."""
    try:
        # EXCLUSIVE locking: one server owns the file (a second one is refused instead of
        # sharing a registry), WAL then needs no shared-memory index, and the lock taken by
        # the first read below is held, so nobody changes the file between check and use.
        connection.execute("PRAGMA locking_mode = EXCLUSIVE")
        # Read-only until the file is known to be ours: another program's file is left as
        # it was (even journal_mode is written into the file).
        version = _registry_version(connection, path)
        # Every heartbeat is a write, so each one must be cheap:
        # - WAL appends to a log instead of rewriting pages through a rollback journal;
        # - synchronous=NORMAL skips the fsync per commit (WAL fsyncs at checkpoints). A
        #   crash of flowctl loses nothing; a power cut may lose the last heartbeats, which
        #   the components resend anyway within an interval.
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        with _immediate(connection):  # also proves the file is writable, before serving
            if version is None:
                connection.execute(_SCHEMA)
                connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            else:
                _migrate(connection, version)
    except sqlite3.Error as error:
        raise RegistryUnavailable(path, _why_unusable(error)) from None


def _registry_version(connection: sqlite3.Connection, path: Path) -> int | None:
    """The schema version of a flowctl registry, None for an empty file (a new one);
    RegistryUnavailable for anything else."""
    application_id = _pragma(connection, "application_id")
    version = _pragma(connection, "user_version")
    tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if application_id == 0 and version == 0 and not tables:
        return None
    if application_id != APPLICATION_ID:
        raise RegistryUnavailable(path, "not a flowctl registry (another SQLite file)")
    if version > SCHEMA_VERSION:
        raise RegistryUnavailable(
            path, f"written by a newer flowctl (schema {version}, this one reads {SCHEMA_VERSION})"
        )
    return version


def _migrate(connection: sqlite3.Connection, version: int) -> None:
    """Bring an older schema up to SCHEMA_VERSION (inside the opening transaction)."""
    # Version 1 is the first schema: nothing to migrate yet. A later one adds its step here,
    # e.g. `if version < 2: connection.execute("ALTER TABLE ...")`, then sets user_version.


@contextmanager
def _immediate(connection: sqlite3.Connection) -> Iterator[None]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _pragma(connection: sqlite3.Connection, name: str) -> int:
    return int(connection.execute(f"PRAGMA {name}").fetchone()[0])


def _why_unusable(error: sqlite3.Error) -> str:
    text = str(error)
    if "locked" in text or "busy" in text:
        return "in use by another process (is another flowctl server running on it?)"
    if "not a database" in text:
        return "not a flowctl registry (not an SQLite file)"
    return text


# -- rows and records --------------------------------------------------------------------

Row = tuple[Any, ...]


def _state_of(record: ServiceRecord) -> dict[str, Any]:
    """The columns of a record but its ServiceInfo."""
    attachment = record.attachment
    return {
        "service_id": record.service_id,
        "healthy": int(record.healthy),
        "last_heartbeat": record.last_heartbeat.astimezone(UTC).isoformat(),
        "metrics": json.dumps(_metrics_to_json(record.metrics), allow_nan=False),
        "attached_to": attachment.component_id if attachment else None,
        "attached_by": attachment.how if attachment else None,
        "peer": None if record.peer is None else json.dumps(_peer_to_json(record.peer)),
        "unattached_reason": record.unattached_reason,
    }


def _record_of(row: Row) -> ServiceRecord:
    service_id, info, healthy, last_heartbeat, metrics, *attachment_and_peer = row
    attached_to, attached_by, peer, unattached_reason = attachment_and_peer
    return ServiceRecord(
        service_id=service_id,
        info=pb.ServiceInfo().parse(info),
        healthy=bool(healthy),
        last_heartbeat=datetime.fromisoformat(last_heartbeat),
        metrics={key: float(value) for key, value in json.loads(metrics).items()},
        attachment=None if attached_to is None else Attachment(attached_to, attached_by),
        peer=None if peer is None else _peer_from_json(json.loads(peer)),
        unattached_reason=unattached_reason,
    )


def _metrics_to_json(metrics: Mapping[str, float]) -> dict[str, float | str]:
    # Strict JSON has no NaN or infinity; float() reads "nan", "inf" and "-inf" back.
    return {key: value if math.isfinite(value) else str(value) for key, value in metrics.items()}


def _peer_to_json(peer: PeerInfo) -> dict[str, Any]:
    return {
        "host": peer.host,
        "port": peer.port,
        "server": list(peer.server) if peer.server else None,
        "connection": peer.connection,
    }


def _peer_from_json(data: dict[str, Any]) -> PeerInfo:
    server = data.get("server")
    return PeerInfo(
        host=data["host"],
        port=data["port"],
        server=(server[0], server[1]) if server else None,
        connection=data.get("connection"),
    )
