"""The registry's storages: the contract both keep, and what only the SQLite file adds
(surviving a reopen, refusing files that are not a flowctl registry)."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from cp_helpers import START, SteppedClock, source_info

from flowctl._proto import flowctl as pb
from flowctl.controlplane import (
    Attachment,
    InMemoryStorage,
    PeerInfo,
    ServiceRecord,
    ServiceRegistry,
    SqliteStorage,
    Storage,
)
from flowctl.errors import RegistryUnavailable

# service_type = 7 (no name in the enum), then field 100 (unknown), varint 5.
UNKNOWN_BYTES = bytes([0x10, 0x07, 0xA0, 0x06, 0x05])


def record(service_id: str, **fields: object) -> ServiceRecord:
    values: dict[str, object] = {
        "info": source_info(service_id=service_id),
        "healthy": True,
        "last_heartbeat": START,
    }
    return ServiceRecord(service_id=service_id, **{**values, **fields})  # type: ignore[arg-type]


def ids(storage: Storage) -> list[str]:
    return [r.service_id for r in storage.list()]


def comparable(record: ServiceRecord) -> tuple[object, ...]:
    """Every field, with metrics as text so that NaN equals NaN."""
    return (
        record.service_id,
        bytes(record.info),
        record.healthy,
        record.last_heartbeat,
        {key: repr(value) for key, value in record.metrics.items()},
        record.attachment,
        record.peer,
        record.unattached_reason,
    )


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "memory":
        yield InMemoryStorage()
    else:
        with SqliteStorage(tmp_path / "registry.sqlite3") as sqlite_storage:
            yield sqlite_storage


# -- the contract, for both storages -------------------------------------------------------


def test_put_keeps_the_order_first_stored_and_replaces_in_place(storage: Storage) -> None:
    for service_id in ["b", "a", "c"]:
        storage.put(record(service_id))
    storage.put(record("a", healthy=False))
    assert ids(storage) == ["b", "a", "c"]
    replaced = storage.get("a")
    assert replaced is not None and replaced.healthy is False


def test_update_replaces_a_stored_record_and_refuses_an_unknown_one(storage: Storage) -> None:
    storage.put(record("a"))
    storage.update(record("a", metrics={"total_processed": 3.0}))
    updated = storage.get("a")
    assert updated is not None and dict(updated.metrics) == {"total_processed": 3.0}
    with pytest.raises(KeyError):
        storage.update(record("ghost"))
    assert ids(storage) == ["a"]


def test_get_of_an_unknown_id_is_none(storage: Storage) -> None:
    assert storage.get("ghost") is None


def test_delete_says_whether_there_was_a_record_and_a_new_put_goes_last(
    storage: Storage,
) -> None:
    storage.put(record("a"))
    storage.put(record("b"))
    assert storage.delete("a") is True
    assert storage.delete("a") is False
    storage.put(record("a"))
    assert ids(storage) == ["b", "a"]


def test_every_field_comes_back_as_stored(storage: Storage) -> None:
    full = record(
        "full",
        info=pb.ServiceInfo().parse(UNKNOWN_BYTES),
        healthy=False,
        last_heartbeat=START + timedelta(microseconds=7),
        metrics={"ok": 1.5, "zero": 0.0, "nan": float("nan"), "up": float("inf"), "down": -1e308},
        attachment=Attachment("consumer-app", "by process"),
        peer=PeerInfo("127.0.0.1", 40000, server=("127.0.0.1", 8080), connection=1234),
        unattached_reason=None,
    )
    bare = record("bare", unattached_reason="matches 2 components by declaration: a, b")
    storage.put(full)
    storage.put(bare)
    stored = storage.list()
    assert [comparable(r) for r in stored] == [comparable(full), comparable(bare)]
    assert stored[0].last_heartbeat.tzinfo is not None


def test_a_failed_transaction_keeps_nothing(storage: Storage) -> None:
    storage.put(record("kept"))
    storage.put(record("deleted"))
    with pytest.raises(RuntimeError), storage.transaction():
        storage.put(record("added"))
        storage.update(record("kept", healthy=False))
        storage.delete("deleted")
        raise RuntimeError("boom")
    assert ids(storage) == ["kept", "deleted"]
    kept = storage.get("kept")
    assert kept is not None and kept.healthy


def test_a_nested_transaction_belongs_to_the_outer_one(storage: Storage) -> None:
    with storage.transaction():
        storage.put(record("a"))
        with storage.transaction():
            storage.put(record("b"))
    assert ids(storage) == ["a", "b"]

    with pytest.raises(RuntimeError), storage.transaction():
        storage.put(record("c"))
        with storage.transaction():
            storage.put(record("d"))
        raise RuntimeError("outer fails after the inner block ended")
    assert ids(storage) == ["a", "b"]


def test_a_transaction_is_usable_again_after_a_failure(storage: Storage) -> None:
    with pytest.raises(KeyError), storage.transaction():
        storage.update(record("ghost"))
    with storage.transaction():
        storage.put(record("a"))
    assert ids(storage) == ["a"]


# -- the file --------------------------------------------------------------------------------


def test_records_survive_close_and_reopen_with_unknown_fields_and_nameless_enums(
    tmp_path: Path,
) -> None:
    path = tmp_path / "registry.sqlite3"
    odd = record("odd", info=pb.ServiceInfo().parse(UNKNOWN_BYTES), metrics={"nan": float("nan")})
    with SqliteStorage(path) as first:
        first.put(record("src"))
        first.put(odd)
        first.put(record("src", healthy=False))  # replaced in place, still first

    with SqliteStorage(path) as reopened:
        assert reopened.reloaded == 2
        stored = reopened.list()
        assert [r.service_id for r in stored] == ["src", "odd"]
        assert stored[0].healthy is False
        assert comparable(stored[1]) == comparable(odd)
        assert bytes(stored[1].info) == UNKNOWN_BYTES  # field 100 is echoed back
        assert int(stored[1].to_status().service_type) == 7
        assert stored[1].service_type == "7"


def test_the_file_holds_what_the_storage_listed_after_every_kind_of_change(
    tmp_path: Path,
) -> None:
    path = tmp_path / "registry.sqlite3"
    with SqliteStorage(path) as storage:
        for service_id in ["a", "b", "c", "d"]:
            storage.put(record(service_id))
        storage.put(record("a", info=pb.ServiceInfo().parse(UNKNOWN_BYTES)))  # replaced
        stored_b = storage.get("b")
        assert stored_b is not None
        storage.update(replace(stored_b, healthy=False, metrics={"x": 1.0}))  # same info
        storage.update(record("c", info=source_info(service_id="c", output_event_types=["z"])))
        storage.delete("d")
        with pytest.raises(RuntimeError), storage.transaction():
            storage.put(record("e"))
            storage.delete("a")
            raise RuntimeError("rolled back")
        storage.put(record("d"))  # after a delete: last
        listed = [comparable(r) for r in storage.list()]
    with SqliteStorage(path) as reopened:
        assert [comparable(r) for r in reopened.list()] == listed
        assert [r.service_id for r in reopened.list()] == ["a", "b", "c", "d"]


def test_a_heartbeat_stored_in_another_zone_comes_back_as_the_same_instant_in_utc(
    tmp_path: Path,
) -> None:
    path = tmp_path / "registry.sqlite3"
    elsewhere = START.astimezone(timezone(timedelta(hours=-5)))
    with SqliteStorage(path) as first:
        first.put(record("a", last_heartbeat=elsewhere))
    with SqliteStorage(path) as reopened:
        stored = reopened.get("a")
        assert stored is not None
        assert stored.last_heartbeat == START and stored.last_heartbeat.utcoffset() == timedelta(0)


def test_reloaded_services_turn_unhealthy_when_stale_and_a_heartbeat_revives_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "registry.sqlite3"
    clock = SteppedClock()
    with SqliteStorage(path) as first:
        before = ServiceRegistry(storage=first, clock=clock, heartbeat_ttl=30)
        registered = before.register(source_info())  # an id the server assigned

    clock.advance(3600)  # the server was down for an hour
    with SqliteStorage(path) as reopened:
        after = ServiceRegistry(storage=reopened, clock=clock, heartbeat_ttl=30)
        assert [r.service_id for r in after.list()] == [registered.service_id]
        assert [r.service_id for r in after.mark_silent_unhealthy()] == [registered.service_id]
        revived = after.heartbeat(registered.service_id, {"total_processed": 1.0})
        assert revived.healthy and revived.last_heartbeat == clock.now

    with SqliteStorage(path) as third:  # the heartbeat was written to the file
        stored = third.get(registered.service_id)
        assert stored is not None and stored.healthy
        assert dict(stored.metrics) == {"total_processed": 1.0}


def test_the_missing_folder_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "home" / ".flowctl" / "registry.sqlite3"
    with SqliteStorage(path) as created:
        assert created.reloaded == 0
    assert path.is_file()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_an_empty_file_becomes_a_registry(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite3"
    path.touch()
    with SqliteStorage(path) as storage:
        storage.put(record("a"))
    with SqliteStorage(path) as reopened:
        assert ids(reopened) == ["a"]


def test_a_second_storage_on_the_same_file_is_refused_while_the_first_is_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "registry.sqlite3"
    with SqliteStorage(path), pytest.raises(RegistryUnavailable, match="in use"):
        SqliteStorage(path)
    with SqliteStorage(path):  # closed: free again
        pass


# Each makes something at a path under tmp_path that is not a usable registry, and
# returns that path.


def _corrupt(tmp_path: Path) -> Path:
    path = tmp_path / "registry.sqlite3"
    path.write_bytes(b"this is not a database\n" * 200)
    return path


def _other_schema(tmp_path: Path) -> Path:
    path = tmp_path / "notes.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE notes (text TEXT)")
    connection.commit()
    connection.close()
    return path


def _newer_schema(tmp_path: Path) -> Path:
    path = tmp_path / "registry.sqlite3"
    with SqliteStorage(path):
        pass
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA user_version = 99")
    connection.commit()
    connection.close()
    return path


def _folder(tmp_path: Path) -> Path:
    path = tmp_path / "registry.sqlite3"
    path.mkdir()
    return path


def _under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "file").write_text("")
    return tmp_path / "file" / "registry.sqlite3"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_corrupt, "not a flowctl registry"),
        (_other_schema, "not a flowctl registry"),
        (_newer_schema, "newer flowctl"),
        (_folder, "it is a folder"),
        (_under_a_file, "cannot create its folder"),
    ],
    ids=["corrupt", "other-schema", "newer-schema", "folder", "under-a-file"],
)
def test_a_file_that_is_not_a_usable_registry_is_a_typed_error_naming_it(
    tmp_path: Path, make: Callable[[Path], Path], reason: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(RegistryUnavailable) as raised:
        SqliteStorage(path)
    message = raised.value.message
    assert str(path) in message and reason in message
    assert "\n" not in message
    assert raised.value.exit_status == 1


def test_a_refused_file_is_left_as_it_was(tmp_path: Path) -> None:
    path = _other_schema(tmp_path)
    before = path.read_bytes()
    with pytest.raises(RegistryUnavailable):
        SqliteStorage(path)
    assert path.read_bytes() == before


def test_a_write_that_fails_is_a_registry_error_and_changes_nothing(tmp_path: Path) -> None:
    with SqliteStorage(tmp_path / "registry.sqlite3") as storage:
        storage.put(record("kept"))
        # What a full disk or a file gone read-only would do to the next write.
        storage._connection.execute("PRAGMA query_only = ON")
        with pytest.raises(RegistryUnavailable) as caught, storage.transaction():
            storage.put(record("lost"))
        assert "cannot write" in str(caught.value)
        assert ids(storage) == ["kept"]
