"""Broken, emptied, replaced and restored files; clocks that jump; a busy office's edges."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from loket import stats
from loket.config import default_config_text
from loket.engine import Engine
from loket.errors import LoketError, Refused, StorageError
from tests.conftest import Clock, clerks_at
from tests.invariants import check_invariants

LOKET = [sys.executable, "-m", "loket"]


def loket(db, *args, env=None):
    """Run the real `loket` command on `db`; returns (exit code, stdout, stderr)."""
    run = subprocess.run([*LOKET, "--db", str(db), *args], capture_output=True, text=True, env=env)
    return run.returncode, run.stdout, run.stderr


# An emptied file is not a new office


def test_an_emptied_database_file_is_refused_and_stays_empty(tmp_path):
    db = tmp_path / "x.db"
    assert loket(db, "init")[0] == 0
    assert loket(db, "ticket", "A")[0] == 0
    db.write_bytes(b"")
    for extra in ("x.db-wal", "x.db-shm"):
        (tmp_path / extra).unlink(missing_ok=True)
    code, out, err = loket(db, "ticket", "A")
    assert (code, out) == (1, "")
    assert err.strip() == (
        f"loket: {db} holds no Loket office (it is empty): set it up with `loket --db {db} init`"
    )
    assert db.stat().st_size == 0
    with pytest.raises(StorageError, match="holds no Loket office"):
        Engine(db, create=False)


def test_init_sets_up_an_emptied_file_again(tmp_path):
    db = tmp_path / "x.db"
    db.write_bytes(b"")
    assert loket(db, "init")[0] == 0
    assert loket(db, "ticket", "A", "--json")[0] == 0


def test_another_programs_database_is_refused_even_by_init(tmp_path):
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    code, _, err = loket(db, "init")
    assert (code, err.strip()) == (1, f"loket: {db} is not a Loket database: it holds other tables")


def test_a_kill_during_init_never_leaves_a_file_that_opens_as_the_demo_office(tmp_path):
    config = tmp_path / "office.toml"
    config.write_text(default_config_text().replace('"Stadhuis Demo"', '"Stadhuis Gent"'))
    assert 'office = "Stadhuis Gent"' in config.read_text()
    randomly = random.Random(8)
    outcomes = set()
    for attempt in range(25):
        db = tmp_path / f"try{attempt}.db"
        run = subprocess.Popen([*LOKET, "--db", str(db), "init", "--config", str(config)])
        time.sleep(randomly.uniform(0.05, 0.6))
        run.send_signal(signal.SIGKILL)
        run.wait()
        if not db.exists():
            outcomes.add("no file")
            continue
        code, out, err = loket(db, "status", "--json")
        if code == 0:
            outcomes.add("the office")
            assert loket(db, "services", "--json")[0] == 0
            with Engine(db, create=False) as engine:
                assert engine.office.name == "Stadhuis Gent"
        else:
            outcomes.add("refused")
            assert "holds no Loket office" in err, err
    assert outcomes - {"no file"}, "no kill landed after the file was made"


# Broken files give "one moment", never a raw sqlite3 error


def _small_office(path) -> None:
    clock = Clock()
    with Engine(path, clock=clock) as engine:
        booking = engine.add_appointment("B", clock.now + timedelta(minutes=5), name="An")
        engine.check_in(booking.qr_payload)
        for _ in range(30):
            engine.issue_ticket("A")
        engine.call_next("1")
        engine.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _everything(engine) -> None:
    engine.issue_ticket("A")
    engine.status()
    engine.desk("1")
    engine.call_next("1")
    engine.check_in("ABCD-EFGH")
    engine.services()


@pytest.mark.parametrize("damage", ["garbage", "zeros", "truncate"])
def test_every_damaged_page_gives_a_storage_error_never_a_raw_one(tmp_path, damage):
    pristine = tmp_path / "pristine.db"
    _small_office(pristine)
    data = pristine.read_bytes()
    page = 4096
    randomly = random.Random(damage)
    seen = set()
    for number in range(len(data) // page):
        broken = tmp_path / f"{damage}{number}.db"
        if damage == "truncate":
            damaged = data[: number * page + randomly.randrange(1, page)]
        else:
            fill = randomly.randbytes(page) if damage == "garbage" else bytes(page)
            damaged = data[: number * page] + fill + data[(number + 1) * page :]
        broken.write_bytes(damaged)
        try:
            with Engine(broken, clock=Clock(), create=False) as engine:
                _everything(engine)
            seen.add("worked")
        except LoketError as error:  # StorageError, or a rule refusing on a damaged page
            seen.add(type(error).__name__)
    assert "StorageError" in seen


def test_a_failure_while_building_the_receipt_issues_no_ticket(office, monkeypatch):
    def broken(*args):
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(office.store, "fetch", broken)  # the receipt's reads
    with pytest.raises(StorageError, match="not a usable Loket database"):
        office.issue_ticket("A")
    monkeypatch.undo()
    assert office.store.all_tickets() == []
    assert office.issue_ticket("A").ticket.number == "A001"


def test_a_read_that_fails_gives_a_storage_error_and_ends_its_transaction(office, monkeypatch):
    def broken(*args):
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(office.store, "fetch", broken)
    with pytest.raises(StorageError):
        office.waiting_counts()
    assert not office.store.conn.in_transaction


# A long-lived engine notices its file going away


def test_an_open_engine_refuses_to_write_into_a_deleted_file(office, db_path):
    office.issue_ticket("A")
    for extra in ("", "-wal", "-shm"):
        os.remove(f"{db_path}{extra}") if os.path.exists(f"{db_path}{extra}") else None
    with pytest.raises(
        StorageError, match="was deleted, emptied, moved or replaced while it was open"
    ):
        office.issue_ticket("A")


def test_an_open_engine_refuses_to_write_into_a_file_emptied_in_place(office, db_path):
    office.issue_ticket("A")
    inode = db_path.stat().st_ino
    with open(db_path, "r+b") as file:  # `: > loket.db`: the same file, now empty
        file.truncate(0)
    assert db_path.stat().st_ino == inode
    with pytest.raises(StorageError, match="emptied"):
        office.issue_ticket("A")
    assert db_path.stat().st_size == 0


def test_an_open_engine_refuses_to_write_into_a_replaced_file(office, db_path, tmp_path):
    other = tmp_path / "other.db"
    with Engine(other) as engine:
        engine.issue_ticket("B")
    os.replace(other, db_path)
    with pytest.raises(StorageError, match="replaced"):
        office.issue_ticket("A")


# Backup and restore


def test_a_backup_taken_while_the_office_runs_restores_and_the_office_carries_on(
    office, db_path, tmp_path
):
    for _ in range(3):
        office.issue_ticket("A")
    backup = tmp_path / "backup.db"
    assert loket(db_path, "backup", str(backup)) == (0, f"backup written to {backup}\n", "")
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    office.issue_ticket("A")  # after the backup: lost by the restore
    office.close()
    for extra in ("-wal", "-shm"):
        (tmp_path / f"loket.db{extra}").unlink(missing_ok=True)
    os.replace(backup, db_path)
    with Engine(db_path, clock=Clock(), create=False) as restored:
        assert [t.number for t in restored.store.all_tickets()] == ["A001", "A002", "A003"]
        assert restored.issue_ticket("A").ticket.number == "A004"
        check_invariants(restored)


def test_a_backup_never_overwrites_a_file(office, db_path, tmp_path):
    target = tmp_path / "there.db"
    target.write_text("keep me")
    code, _, err = loket(db_path, "backup", str(target))
    assert (code, err.strip()) == (
        1,
        f"loket: {target} already exists: choose a new file for the backup",
    )
    assert target.read_text() == "keep me"


def test_the_write_ahead_log_is_cut_back_after_a_checkpoint(office, db_path):
    with office.store.write():
        office.store.set_setting("ballast", "x" * 8_000_000)
    wal = f"{db_path}-wal"
    assert os.path.getsize(wal) > 8_000_000
    office.checkpoint()
    office.issue_ticket("A")  # the first write after a checkpoint restarts the log
    assert os.path.getsize(wal) <= 4 * 1024 * 1024


# Clocks that jump


def test_a_clock_stepped_back_never_gives_negative_service_times(office, clock):
    for _ in range(4):
        office.issue_ticket("A")
    for _ in range(3):
        office.call_next("1")
        clock.advance(minutes=-30)  # NTP corrects a clock that ran fast
        office.finish("1")
    clerks_at(office, "1")
    estimate = next(s for s in office.services() if s.code == "A").estimated_wait_minutes
    assert estimate == 0
    day = clock.now.date()
    overall = stats.compute(office.tickets_between(day, day), office.office).overall
    assert (overall.served, overall.mean_service_minutes) == (3, 0)


def test_a_clock_stepped_back_across_midnight_never_reissues_yesterdays_numbers(tmp_path):
    late = datetime(2026, 12, 1, 22, 59, 30, tzinfo=UTC)  # 23:59:30 in Brussels
    clock = Clock(late)
    with Engine(tmp_path / "loket.db", clock=clock) as engine:
        yesterday = engine.issue_ticket("A").ticket
        clock.advance(seconds=40)  # 00:00:10, 2 December
        today = engine.issue_ticket("A").ticket
        clock.advance(seconds=-20)  # back to 23:59:50, 1 December
        again = engine.issue_ticket("A").ticket
        assert [(t.number, t.service_day) for t in (yesterday, today, again)] == [
            ("A001", "2026-12-01"),
            ("A001", "2026-12-02"),
            ("A002", "2026-12-02"),
        ]
        assert engine.store.ticket(yesterday.id).status == "expired"
        check_invariants(engine)


# Limits and counters


def test_a_late_check_in_does_not_pass_the_daily_limit(tmp_path):
    clock = Clock()
    with Engine(tmp_path / "loket.db", clock=clock) as engine:
        engine.init(default_config_text().replace("daily_limit = 40", "daily_limit = 2"))
        booking = engine.add_appointment("C", clock.now)
        engine.issue_ticket("C")
        engine.issue_ticket("C")
        clock.advance(minutes=engine.office.checkin.late_minutes + 1)
        result = engine.check_in(booking.qr_payload)
        assert (result.outcome, result.receipt) == ("too_late", None)
        assert result.reason == "service C has no tickets left today"
        assert len(engine.store.all_tickets()) == 2


def test_the_morning_after_a_counter_is_free_before_anyone_sees_it(db_path):
    clock = Clock()
    with Engine(db_path, clock=clock) as engine:
        engine.issue_ticket("A")
        engine.issue_ticket("A")
        engine.call_next("1")
    clock.advance(days=1)
    with Engine(db_path, clock=clock, create=False) as morning:
        desk = morning.desk("1")
        assert (desk.counter.current, desk.waiting["A"], desk.upcoming) == (None, 0, [])
        assert all(c.current is None for c in morning.status().counters)
        assert morning.counter_state("1").current is None
        morning.issue_ticket("A")
        assert morning.call_next("1").called.number == "A001"


def test_a_config_that_drops_a_busy_counter_is_refused_naming_it(office):
    office.issue_ticket("A")
    office.call_next("4")
    without_4 = default_config_text().split('[[counters]]\nid = "4"')[0]
    before = office.store.setting("config")
    with pytest.raises(Refused, match="drops counter 4, which is serving A001"):
        office.init(without_4)
    assert office.store.setting("config") == before
    assert office.counter_state("4").current.number == "A001"
    office.finish("4")
    assert list(office.init(without_4).counters) == ["1", "2", "3"]


# Privacy


def test_a_new_database_and_the_per_user_folder_are_private(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("LOKET_DB", None)
    run = subprocess.run([*LOKET, "ticket", "A"], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    folder = tmp_path / "data" / "loket"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("loket.db", "loket.db-wal", "loket.db-shm"):
        if (folder / name).exists():
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name


def test_purged_names_are_gone_from_the_file_and_its_log_while_apps_keep_it_open(tmp_path):
    db = tmp_path / "loket.db"
    clock = Clock()
    with Engine(db, clock=clock) as engine, Engine(db, clock=clock, create=False) as app:
        for index in range(40):
            engine.add_appointment("B", clock.now + timedelta(hours=1), name=f"Visitor{index:03d}X")
        app.status()  # an app reads, and stays open
        clock.advance(days=engine.office.retention_days + 2)
        assert engine.purge() == 40
        app.status()
        for path in tmp_path.iterdir():
            assert b"Visitor0" not in path.read_bytes(), path.name


# Upgrading an office made by the previous Loket


def test_an_office_of_schema_1_is_upgraded_with_its_running_totals(tmp_path, monkeypatch):
    from loket import storage

    path = tmp_path / "old.db"
    clock = Clock()
    monkeypatch.setattr(storage, "MIGRATIONS", storage.MIGRATIONS[:1])
    monkeypatch.setattr(storage, "SCHEMA_VERSION", 1)
    Engine(path, clock=clock).close()  # as the previous Loket made it
    monkeypatch.undo()
    rows = [("A", "done", "1"), ("A", "waiting", None), ("B", "waiting", None)]
    with sqlite3.connect(path, isolation_level=None) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        for seq, (service, status, counter) in enumerate(rows, start=1):
            conn.execute(
                "INSERT INTO tickets (series, service_day, seq, number, service, kind, status, "
                "arrived_at, counter) VALUES (?, '2026-12-01', ?, ?, ?, 'walk_in', ?, ?, ?)",
                (
                    service,
                    seq,
                    f"{service}{seq:03d}",
                    service,
                    status,
                    clock.now.isoformat(),
                    counter,
                ),
            )
    with Engine(path, clock=clock, create=False) as upgraded:
        version = upgraded.store.conn.execute("PRAGMA user_version").fetchone()[0]
        assert version == storage.SCHEMA_VERSION
        assert upgraded.waiting_counts() == {"A": 1, "B": 1, "C": 0, "D": 0}
        assert upgraded.desk("1").served_today == 1
        assert upgraded.call_next("1").called.number == "A002"


@pytest.mark.parametrize("stored", ["{not json", '{"office": 5}', "[]", '"text"'])
def test_a_damaged_stored_config_is_a_storage_error(db_path, stored):
    Engine(db_path).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE settings SET value = ? WHERE key = 'config'", (stored,))
    with pytest.raises(StorageError, match="office config stored in .* is damaged"):
        Engine(db_path, create=False)


def test_a_row_that_is_no_longer_text_is_a_storage_error(office, db_path):
    office.issue_ticket("A")
    office.call_next("1")
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE tickets SET number = CAST(x'ff41fe' AS TEXT)")
    with pytest.raises(StorageError, match="is damaged .*restore a backup"):
        office.status()


def test_a_counter_screen_needs_no_write_lock_when_nothing_is_left_from_yesterday(db_path):
    clock = Clock()
    with Engine(db_path, clock=clock) as engine:
        engine.issue_ticket("A")
        engine.call_next("1")
        engine.finish("1")
    clock.advance(days=1)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program writes for a long time
    try:
        with Engine(db_path, clock=clock, create=False) as app:
            app.store.conn.execute("PRAGMA busy_timeout = 0")
            assert app.desk("1").counter.current is None
            assert app.status().counters[0].current is None
    finally:
        other.rollback()
        other.close()


def test_ten_minute_visits_count_as_exactly_ten_minutes(office, clock):
    for _ in range(5):
        office.issue_ticket("A")
    for _ in range(3):
        office.call_next("1")
        clock.advance(minutes=10)
        office.finish("1")
    line = office.store.line("A", office.today())
    # Whole seconds: julianday's floating point once made 10 minutes 10.0000001.
    assert (line.served, line.service_seconds) == (3, 1800)


def test_an_office_of_schema_5_gains_more_time_and_device_tokens(tmp_path):
    path = tmp_path / "old.db"
    clock = Clock()
    with Engine(path, clock=clock) as office:
        office.issue_ticket("A")
        clock.advance(seconds=30)
        office.issue_ticket("A")
    with sqlite3.connect(path, isolation_level=None) as conn:  # as the previous Loket left it
        conn.execute("ALTER TABLE tickets DROP COLUMN postponed")
        conn.execute("DROP TABLE device_tokens")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0006'")
        conn.execute("PRAGMA user_version = 5")
    with Engine(path, clock=clock, create=False) as upgraded:
        first = upgraded.ticket("A001")
        assert upgraded.postpone(upgraded.visitor_token(first)).ahead == 1
        secret = upgraded.create_device_token("integration")
        assert upgraded.device_role(secret) == "integration"
