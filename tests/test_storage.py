"""A database that cannot be used gives one clear message and changes nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from loket import storage
from loket.engine import Engine
from loket.errors import StorageError

LOKET = [sys.executable, "-m", "loket"]


def test_a_new_database_is_wal_with_full_sync_and_a_unique_number_index(office, db_path):
    conn = office.store.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA user_version").fetchone()[0] == storage.SCHEMA_VERSION
    index = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'tickets_number'").fetchone()[
        0
    ]
    assert "UNIQUE INDEX tickets_number ON tickets (series, service_day, seq)" in index


def test_the_unique_index_refuses_a_duplicate_number_even_from_outside(office):
    office.issue_ticket("A")
    with pytest.raises(sqlite3.IntegrityError):
        office.store.conn.execute(
            "INSERT INTO tickets (series, service_day, seq, number, service, kind, status, arrived_at) "
            "VALUES ('A', '2026-12-01', 1, 'A001', 'A', 'walk_in', 'waiting', 'x')"
        )


def test_a_file_that_is_not_a_database_is_refused_clearly(tmp_path):
    path = tmp_path / "loket.db"
    path.write_bytes(b"this is a spreadsheet, not a database" * 100)
    with pytest.raises(StorageError, match="is not a usable Loket database"):
        Engine(path)
    assert path.read_bytes().startswith(b"this is a spreadsheet")


def test_a_truncated_database_is_refused_clearly(office, db_path, tmp_path):
    for _ in range(50):
        office.issue_ticket("A")
    office.close()
    broken = tmp_path / "broken.db"
    broken.write_bytes(db_path.read_bytes()[:1500])
    with pytest.raises(StorageError):
        Engine(broken).issue_ticket("A")


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(StorageError, match="does not exist"):
        Engine(tmp_path / "nowhere" / "loket.db")


def test_a_database_from_a_newer_loket_is_refused(db_path):
    sqlite3.connect(db_path).execute(f"PRAGMA user_version = {storage.SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match="newer Loket"):
        Engine(db_path)


def test_a_database_locked_by_another_program_gives_a_clear_refusal(office, db_path, monkeypatch):
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    office.store.conn.execute("PRAGMA busy_timeout = 50")
    try:
        with pytest.raises(StorageError, match="busy"):
            office.issue_ticket("A")
    finally:
        blocker.execute("ROLLBACK")
    assert office.issue_ticket("A").ticket.number == "A001"


def test_a_failed_operation_leaves_no_half_written_ticket(office, monkeypatch):
    def broken_event(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(office.store, "add_event", broken_event)
    with pytest.raises(StorageError, match="disk I/O error"):
        office.issue_ticket("A")
    assert office.store.all_tickets() == []


def test_two_processes_creating_the_same_database_at_once_both_succeed(tmp_path):
    # The per-user database is created by whichever command comes first.
    env = {k: v for k, v in os.environ.items() if k != "LOKET_DB"}
    env["XDG_DATA_HOME"] = str(tmp_path)
    runs = [
        subprocess.Popen([*LOKET, "ticket", "A"], stdout=subprocess.PIPE, env=env) for _ in range(4)
    ]
    numbers = sorted(run.communicate()[0].decode().split()[1] for run in runs)
    assert [run.returncode for run in runs] == [0, 0, 0, 0]
    assert numbers == ["A001", "A002", "A003", "A004"]


def test_a_read_only_database_is_refused_in_one_line(tmp_path):
    folder = tmp_path / "readonly"
    folder.mkdir()
    path = folder / "loket.db"
    Engine(path).close()
    path.chmod(0o444)
    folder.chmod(0o555)
    # root writes through file modes unless it gives up the capability to (CI runs as root)
    as_user = (
        ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
        if os.geteuid() == 0
        else []
    )
    try:
        result = subprocess.run(
            [*as_user, *LOKET, "--db", str(path), "ticket", "A"], capture_output=True, text=True
        )
    finally:
        folder.chmod(0o755)
    assert result.returncode == 1, result.stdout
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "read-only" in result.stderr or "cannot open" in result.stderr
