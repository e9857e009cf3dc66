"""All SQL lives here: the schema, its migrations, and every query the engine needs.

One `Store` wraps one connection that we open ourselves (autocommit, busy timeout,
WAL, synchronous=FULL). Every state change runs inside `write()`, which is one
`BEGIN IMMEDIATE` transaction: SQLite then takes the write lock before the first read,
so two processes can never both read "the last number is 11" and both write 12.
sqlite-utils' `atomic()` opens a deferred BEGIN and would let exactly that happen.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import NamedTuple

from loket.errors import Misconfigured, Refused, StorageError
from loket.model import Appointment, DeviceToken, Event, Ticket, from_text, to_text

BUSY_TIMEOUT_MS = 10_000
# SQLite's default (1,000 pages) checkpoints inside a commit every ~150 calls, adding ~2 ms
# to that call. Clients checkpoint when idle (`Store.checkpoint`, and on close); this larger
# limit is only the safety net that keeps the WAL bounded when nobody does.
WAL_SAFETY_PAGES = 10_000
WAL_KEPT_BYTES = 4 * 1024 * 1024
# What a damaged file raises: SQLite's errors, and text that is no longer UTF-8 (in a row,
# or in SQLite's own message about a damaged schema).
DATABASE_ERRORS = (sqlite3.Error, UnicodeDecodeError)

# Each migration is a list of statements; its index + 1 is the schema version it brings.
MIGRATIONS: list[list[str]] = [
    [
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE tickets (
            id INTEGER PRIMARY KEY,
            series TEXT NOT NULL,
            service_day TEXT NOT NULL,
            seq INTEGER NOT NULL,
            number TEXT NOT NULL,
            service TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('walk_in', 'appointment')),
            priority INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL CHECK (status IN
                ('waiting', 'called', 'done', 'no_show', 'cancelled', 'expired')),
            arrived_at TEXT NOT NULL,
            appointment_at TEXT,
            counter TEXT,
            first_called_at TEXT,
            called_at TEXT,
            recalls INTEGER NOT NULL DEFAULT 0,
            finished_at TEXT
        )""",
        "CREATE UNIQUE INDEX tickets_number ON tickets (series, service_day, seq)",
        # The routing queries walk these partial indexes in calling order, so a call costs
        # the same with a hundred or a hundred thousand finished tickets in the file.
        """CREATE INDEX tickets_waiting ON tickets (service_day, arrived_at, id)
            WHERE status = 'waiting'""",
        """CREATE INDEX tickets_waiting_priority ON tickets (service_day, arrived_at, id)
            WHERE status = 'waiting' AND priority = 1""",
        """CREATE INDEX tickets_waiting_appointment ON tickets (service_day, appointment_at, id)
            WHERE status = 'waiting' AND kind = 'appointment'""",
        "CREATE INDEX tickets_day ON tickets (service_day, service, status)",
        """CREATE TABLE counters (
            id TEXT PRIMARY KEY,
            state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'paused')),
            ticket_id INTEGER UNIQUE REFERENCES tickets (id)
        )""",
        """CREATE TABLE appointments (
            id INTEGER PRIMARY KEY,
            reference TEXT NOT NULL UNIQUE,
            uid TEXT UNIQUE,
            service TEXT NOT NULL,
            starts_at TEXT NOT NULL,
            day TEXT NOT NULL,
            name TEXT,
            status TEXT NOT NULL CHECK (status IN ('booked', 'cancelled')),
            ticket_id INTEGER REFERENCES tickets (id),
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX appointments_day ON appointments (day, starts_at)",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            action TEXT NOT NULL,
            ticket_id INTEGER REFERENCES tickets (id),
            from_state TEXT,
            to_state TEXT,
            counter TEXT,
            service TEXT
        )""",
    ],
]
MIGRATIONS.append(
    [
        # Running totals, kept by triggers so that every write path keeps them right: the
        # estimates, daily limits and tallies then cost the same at 10 or 100,000 tickets
        # (a COUNT over 100k index entries takes ~9 ms).
        """CREATE TABLE line_counts (
            service_day TEXT NOT NULL,
            service TEXT NOT NULL,
            waiting INTEGER NOT NULL DEFAULT 0,
            walk_ins INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (service_day, service)
        ) WITHOUT ROWID""",
        """CREATE TABLE counter_counts (
            service_day TEXT NOT NULL,
            counter TEXT NOT NULL,
            served INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (service_day, counter)
        ) WITHOUT ROWID""",
        """CREATE TRIGGER tickets_count_new AFTER INSERT ON tickets BEGIN
            INSERT INTO line_counts (service_day, service, waiting, walk_ins)
            VALUES (NEW.service_day, NEW.service, NEW.status = 'waiting', NEW.kind = 'walk_in')
            ON CONFLICT DO UPDATE SET waiting = waiting + excluded.waiting,
                                      walk_ins = walk_ins + excluded.walk_ins;
        END""",
        """CREATE TRIGGER tickets_count_leaving_line AFTER UPDATE OF status, service ON tickets
        WHEN OLD.status = 'waiting' BEGIN
            UPDATE line_counts SET waiting = waiting - 1
            WHERE service_day = OLD.service_day AND service = OLD.service;
        END""",
        """CREATE TRIGGER tickets_count_joining_line AFTER UPDATE OF status, service ON tickets
        WHEN NEW.status = 'waiting' BEGIN
            INSERT INTO line_counts (service_day, service, waiting)
            VALUES (NEW.service_day, NEW.service, 1)
            ON CONFLICT DO UPDATE SET waiting = waiting + 1;
        END""",
        """CREATE TRIGGER tickets_count_served AFTER UPDATE OF status ON tickets
        WHEN NEW.status = 'done' AND OLD.status <> 'done' AND NEW.counter IS NOT NULL BEGIN
            INSERT INTO counter_counts (service_day, counter, served)
            VALUES (NEW.service_day, NEW.counter, 1)
            ON CONFLICT DO UPDATE SET served = served + 1;
        END""",
        """INSERT INTO line_counts (service_day, service, waiting, walk_ins)
            SELECT service_day, service, SUM(status = 'waiting'), SUM(kind = 'walk_in')
            FROM tickets GROUP BY service_day, service""",
        """INSERT INTO counter_counts (service_day, counter, served)
            SELECT service_day, counter, COUNT(*) FROM tickets
            WHERE status = 'done' AND counter IS NOT NULL GROUP BY service_day, counter""",
        # The routing indexes lead with the service: a counter finds the head of each of
        # its lines directly, however many tickets of other services wait ahead.
        "DROP INDEX tickets_waiting",
        "DROP INDEX tickets_waiting_priority",
        "DROP INDEX tickets_waiting_appointment",
        """CREATE INDEX tickets_waiting ON tickets (service_day, service, arrived_at, id)
            WHERE status = 'waiting'""",
        """CREATE INDEX tickets_waiting_priority ON tickets (service_day, service, arrived_at, id)
            WHERE status = 'waiting' AND priority = 1""",
        """CREATE INDEX tickets_waiting_appointment
            ON tickets (service_day, service, appointment_at, id)
            WHERE status = 'waiting' AND kind = 'appointment'""",
        # The latest service times of a line, for its estimate.
        """CREATE INDEX tickets_done ON tickets (service_day, service, finished_at)
            WHERE status = 'done'""",
        # The latest calls, newest first, without walking every other event.
        "CREATE INDEX events_calls ON events (id) WHERE action IN ('call', 'recall')",
    ]
)
MIGRATIONS.append(
    [
        # Who is at a counter: the app holding it (a random token per app run), since
        # when, and when it last said it is still there; when the last clerk left.
        "ALTER TABLE counters ADD COLUMN session TEXT",
        "ALTER TABLE counters ADD COLUMN opened_at TEXT",
        "ALTER TABLE counters ADD COLUMN seen_at TEXT",
        "ALTER TABLE counters ADD COLUMN left_at TEXT",
        # A device's current fault that staff must see (a kiosk's printer out of paper).
        """CREATE TABLE problems (
            device TEXT PRIMARY KEY,
            problem TEXT NOT NULL,
            since TEXT NOT NULL
        )""",
    ]
)
MIGRATIONS.append(
    [
        # The calling order is one due time per ticket, fixed when it joins the line
        # (loket.rules); tickets of older versions are due when they came (or at their slot).
        "ALTER TABLE tickets ADD COLUMN due_at TEXT",
        "UPDATE tickets SET due_at = COALESCE(appointment_at, arrived_at)",
        # A Loket of schema 3 still running during the upgrade inserts tickets without one.
        """CREATE TRIGGER tickets_due_missing AFTER INSERT ON tickets
        WHEN NEW.due_at IS NULL BEGIN
            UPDATE tickets SET due_at = COALESCE(NEW.appointment_at, NEW.arrived_at)
            WHERE id = NEW.id;
        END""",
        # How often a no-show came back into the line.
        "ALTER TABLE tickets ADD COLUMN reinstated INTEGER NOT NULL DEFAULT 0",
        # Calling next, a position and the work ahead of a ticket are each a walk along this
        # index from the head of a line. With the service in it, one line's walk never
        # passes another line's tickets.
        """CREATE INDEX tickets_due ON tickets (service_day, service, due_at, id)
            WHERE status = 'waiting'""",
        "DROP INDEX tickets_waiting_priority",
        "DROP INDEX tickets_waiting_appointment",
        # Running totals of service times, for the estimate's mean per service.
        "ALTER TABLE line_counts ADD COLUMN served INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE line_counts ADD COLUMN service_seconds REAL NOT NULL DEFAULT 0",
        """UPDATE line_counts SET (served, service_seconds) = (
            SELECT COUNT(*), COALESCE(SUM(MAX(0, ROUND(
                (julianday(finished_at) - julianday(called_at)) * 86400))), 0)
            FROM tickets t WHERE t.status = 'done' AND t.service_day = line_counts.service_day
            AND t.service = line_counts.service)""",
        # Booked appointments falling due, for the estimate.
        """CREATE INDEX appointments_due ON appointments (day, starts_at)
            WHERE status = 'booked' AND ticket_id IS NULL""",
    ]
)
MIGRATIONS.append(
    [
        # The last number of each series each day, taken by one upsert (`take_number`):
        # never MAX()+1, which needs a lock over the whole series to be safe.
        """CREATE TABLE numbers (
            series TEXT NOT NULL,
            service_day TEXT NOT NULL,
            last INTEGER NOT NULL,
            PRIMARY KEY (series, service_day)
        ) WITHOUT ROWID""",
        """INSERT INTO numbers (series, service_day, last)
            SELECT series, service_day, MAX(seq) FROM tickets GROUP BY series, service_day""",
        # The key a kiosk sends with a tap: its retry after a lost answer finds this ticket.
        "ALTER TABLE tickets ADD COLUMN request_key TEXT",
        "CREATE UNIQUE INDEX tickets_request ON tickets (request_key) WHERE request_key IS NOT NULL",
    ]
)
MIGRATIONS.append(
    [
        # "I need more time" on the visitor's phone moves a ticket back once.
        "ALTER TABLE tickets ADD COLUMN postponed INTEGER NOT NULL DEFAULT 0",
        # The web API's device tokens: only a hash is kept, so a copy of the database
        # (a backup, `loket copy`) lets nobody act as a kiosk.
        """CREATE TABLE device_tokens (
            id INTEGER PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('kiosk', 'counter', 'integration')),
            name TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        )""",
    ]
)
SCHEMA_VERSION = len(MIGRATIONS)

TICKET_COLUMNS = (
    "id, number, series, seq, service_day, service, kind, priority, status, arrived_at, "
    "appointment_at, counter, first_called_at, called_at, recalls, finished_at, due_at, reinstated, "
    "postponed"
)
APPOINTMENT_COLUMNS = "id, reference, uid, service, starts_at, day, name, status, ticket_id"


class Presence(NamedTuple):
    """Who holds a counter: the holding app's session (None: nobody) and its times (UTC)."""

    session: str | None
    opened_at: datetime | None
    seen_at: datetime | None
    left_at: datetime | None


class Line(NamedTuple):
    """One service's running totals on one day."""

    waiting: int = 0
    walk_ins: int = 0
    """Walk-in tickets issued, for the daily limit."""
    served: int = 0
    service_seconds: float = 0.0
    """Time at the counter of those served, from the (first) call to done."""


class Plan(NamedTuple):
    """One read: its SQL (None: nothing to ask), parameters, and what makes the answer of
    its cursor (None when nothing was asked)."""

    sql: str | None
    params: Sequence
    parse: Callable


class planned:
    """A read written as a `Plan`: `store.read_x(...)` runs it, while `store.read_x.plan(...)`
    hands it to `Store.fetch`, which sends several reads at once: on PostgreSQL they then
    cost one round trip over the network together."""

    def __init__(self, build: Callable[..., Plan]):
        self.build = build
        self.__doc__ = build.__doc__

    def __get__(self, store, owner=None):
        return self if store is None else _Planned(store, self.build)


class _Planned:
    __slots__ = ("store", "build")

    def __init__(self, store: Store, build: Callable[..., Plan]):
        self.store = store
        self.build = build

    def __call__(self, *args, **kwargs):
        return self.store.fetch(self.build(self.store, *args, **kwargs))[0]

    def plan(self, *args, **kwargs) -> Plan:
        return self.build(self.store, *args, **kwargs)


class Store:
    """One connection to the Loket database and every query Loket runs on it."""

    def __init__(self, conn: sqlite3.Connection, path: str):
        self.conn = conn
        self.path = path
        self._identity = _identity(path)

    def _q(self, query: str, params: Sequence = ()):
        """Run one statement; returns its cursor. The SQL is written once, with `?`
        placeholders, for SQLite and PostgreSQL (`loket.storage_pg` translates it)."""
        return self.conn.execute(query, params)

    def _many(self, query: str, rows: Sequence[Sequence]) -> None:
        self.conn.executemany(query, rows)

    def fetch(self, *plans: Plan) -> list:
        """The answers of several reads, asked together."""
        cursors = [None if plan.sql is None else self._q(plan.sql, plan.params) for plan in plans]
        return [plan.parse(cursor) for plan, cursor in zip(plans, cursors, strict=True)]

    @classmethod
    def open(
        cls,
        path: str | os.PathLike,
        create: bool = True,
        setup: Callable[[Store], None] | None = None,
    ) -> Store:
        """Open the Loket database at `path`, migrating an older schema.

        With `create`, a missing file, or one that holds nothing yet (a creation that was
        interrupted, or that another process is making right now), becomes a new database:
        the schema and `setup(store)` commit in one transaction, so no half-made office is
        ever seen. Without `create` such a file is refused, as is any other program's file.
        A new file is readable by its owner only (0600).
        """
        path = str(path)
        if path != ":memory:":
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise StorageError(
                    f"cannot open the database {path}: folder {folder} does not exist"
                )
            if not create and not os.path.exists(path):
                raise StorageError(f"the database {path} does not exist")
            if create:
                _create_private(path)
        conn = None
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            store = cls(conn, path)
            store._prepare(create, setup)
        except BaseException as error:
            if conn is not None:
                conn.close()
            if isinstance(error, DATABASE_ERRORS):
                raise _storage_error(error, path) from None
            raise
        return store

    def close(self) -> None:
        self.conn.close()

    def _prepare(self, create: bool, setup: Callable[[Store], None] | None) -> None:
        conn = self.conn
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_SAFETY_PAGES}")
        # A checkpointed log is cut back to this size, so it never stays at its peak.
        conn.execute(f"PRAGMA journal_size_limit = {WAL_KEPT_BYTES}")
        # Erased names are overwritten, not merely unlinked (see `forget_names_before`).
        conn.execute("PRAGMA secure_delete = ON")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"the database {self.path} was made by a newer Loket (schema {version}, "
                f"this one knows {SCHEMA_VERSION}); upgrade Loket"
            )
        if version == 0:
            if conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
                raise StorageError(f"{self.path} is not a Loket database: it holds other tables")
            if create:
                self._use_wal()
                return self._migrate(setup)
            version = self._version_once_made()
            if version == 0:
                raise StorageError(
                    f"{self.path} holds no Loket office (it is empty): "
                    f"set it up with `loket --db {self.path} init`"
                )
        if version < SCHEMA_VERSION:
            self._migrate(None)

    def _version_once_made(self) -> int:
        """The schema version after waiting for a process that may be creating the file now."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")  # waits until the creator's transaction is done
            return self.conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            if self.conn.in_transaction:
                self.conn.rollback()  # a commit would write a header into an empty file

    def _use_wal(self) -> None:
        """Switch a new file to WAL (persistent), waiting out another process creating it too.

        Changing the journal mode answers SQLITE_BUSY at once, without the busy timeout,
        while another connection is creating the same file.
        """
        if self.path == ":memory:":
            return
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                if self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal":
                    return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                raise StorageError(f"the database {self.path} cannot switch to WAL mode")
            time.sleep(0.01)

    def _migrate(self, setup: Callable[[Store], None] | None) -> None:
        # sqlite-utils is imported only here: it costs ~170 ms that `loket ticket` cannot spend.
        import sqlite_utils

        db = sqlite_utils.Database(self.conn)
        migrations = sqlite_utils.Migrations("loket")
        for index, statements in enumerate(MIGRATIONS):

            def apply(db, statements=statements):
                for statement in statements:
                    db.execute(statement)

            migrations(name=f"{index + 1:04d}")(apply)
        with self.write():
            # Another process may have migrated while we waited for the lock.
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                migrations.apply(db)  # inside our transaction: sqlite-utils uses savepoints
                self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                if version == 0 and setup is not None:
                    setup(self)

    @contextmanager
    def write(self) -> Iterator[Store]:
        """One BEGIN IMMEDIATE transaction: all of it commits, or none of it."""
        self._refuse_if_moved()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except DATABASE_ERRORS as error:
            raise _storage_error(error, self.path) from None
        try:
            yield self
        except BaseException as error:
            if self.conn.in_transaction:
                self.conn.rollback()
            if isinstance(error, DATABASE_ERRORS):
                raise _storage_error(error, self.path) from None
            raise
        try:
            self.conn.execute("COMMIT")
        except DATABASE_ERRORS as error:
            self.conn.rollback()
            raise _storage_error(error, self.path) from None

    @contextmanager
    def read(self) -> Iterator[Store]:
        """A short read transaction, so that several queries see one consistent moment."""
        try:
            self.conn.execute("BEGIN")
            yield self
        except DATABASE_ERRORS as error:
            raise _storage_error(error, self.path) from None
        finally:
            if self.conn.in_transaction:
                # A read changes nothing: ending it cannot lose work, and must not raise
                # over the error that is already on its way.
                with suppress(sqlite3.Error):
                    self.conn.rollback()

    def same_file(self) -> bool:
        """False once the file was deleted, moved, replaced or emptied under the connection.

        SQLite keeps using an unlinked file without an error: a kiosk would go on issuing
        tickets nobody else sees. Only the file's identity tells, and its size: a database
        in use is never empty, but `: > loket.db` empties it in place, keeping its inode.
        """
        if self._identity is None:
            return True
        try:
            info = os.stat(self.path)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == self._identity and info.st_size > 0

    def _refuse_if_moved(self) -> None:
        """Refuse to write into a file that was deleted or replaced under this connection."""
        if not self.same_file():
            raise StorageError(
                f"the database {self.path} was deleted, emptied, moved or replaced while it was open"
            )

    def checkpoint(self) -> None:
        """Copy the WAL into the database file without blocking anyone: call it when idle."""
        try:
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except DATABASE_ERRORS as error:
            raise _storage_error(error, self.path) from None

    def empty_log(self) -> bool:
        """Fold the write-ahead log into the database and cut it to nothing, if no reader
        needs it (True when done); used after erasing personal data."""
        try:
            busy = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except DATABASE_ERRORS as error:
            raise _storage_error(error, self.path) from None
        return not busy

    def backup(self, target: str) -> None:
        """Copy the database to a new file `target` (0600) with SQLite's online backup."""
        if os.path.exists(target):
            raise StorageError(f"{target} already exists: choose a new file for the backup")
        folder = os.path.dirname(os.path.abspath(target))
        if not os.path.isdir(folder):
            raise StorageError(f"cannot write the backup {target}: folder {folder} does not exist")
        try:
            _create_private(target)
            copy = sqlite3.connect(target)
            try:
                self.conn.backup(copy)
            finally:
                copy.close()
        except (sqlite3.Error, OSError) as error:
            with suppress(OSError):
                os.remove(target)
            raise StorageError(f"cannot write the backup {target}: {error}") from None

    def data_version(self) -> int:
        """Changes whenever another connection commits: how the apps learn of changes."""
        try:
            return self.conn.execute("PRAGMA data_version").fetchone()[0]
        except DATABASE_ERRORS as error:
            raise _storage_error(error, self.path) from None

    # settings

    def setting(self, key: str) -> str | None:
        row = self._q("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_setting(self, key: str, value: str) -> None:
        self._q(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @planned
    def latest_service_day(self) -> Plan:
        """The latest service day that has tickets (through the tickets_day index)."""
        return Plan("SELECT MAX(service_day) FROM tickets", (), first_value)

    # counters

    def sync_counters(self, ids: Sequence[str]) -> list[str]:
        """Add counters the config names; drop idle ones it no longer names. Returns busy leftovers."""
        self._many(
            "INSERT INTO counters (id) VALUES (?) ON CONFLICT DO NOTHING", [(i,) for i in ids]
        )
        marks = ",".join("?" * len(ids))
        self._q(f"DELETE FROM counters WHERE ticket_id IS NULL AND id NOT IN ({marks})", list(ids))
        rows = self._q(f"SELECT id FROM counters WHERE id NOT IN ({marks})", list(ids))
        return [row[0] for row in rows]

    @planned
    def counter(self, counter_id: str) -> Plan:
        """(state, current ticket) of one counter, in one query."""
        columns = ", ".join(f"t.{column}" for column in TICKET_COLUMNS.split(", "))

        def parse(cursor) -> tuple[str, Ticket | None]:
            row = cursor.fetchone()
            if row is None:  # a newer config dropped it while a client still had the old one
                raise Refused(f"counter {counter_id} is no longer in the office config")
            return row[0], None if row[1] is None else _ticket(row[1:])

        return Plan(
            f"SELECT c.state, {columns} FROM counters c LEFT JOIN tickets t ON t.id = c.ticket_id "
            "WHERE c.id = ?",
            (counter_id,),
            parse,
        )

    @planned
    def counters(self) -> Plan:
        """Each counter's (state, current ticket id)."""
        return Plan(
            "SELECT id, state, ticket_id FROM counters",
            (),
            lambda rows: {row[0]: (row[1], row[2]) for row in rows},
        )

    @planned
    def presence(self) -> Plan:
        """Who holds each counter: its app's session, since when, last seen, when left."""
        return Plan(
            "SELECT id, session, opened_at, seen_at, left_at FROM counters",
            (),
            lambda rows: {
                row[0]: Presence(row[1], *(None if t is None else from_text(t) for t in row[2:]))
                for row in rows
            },
        )

    def hold_counter(self, counter_id: str, session: str, at: datetime) -> None:
        """`session` holds the counter from `at`: it is open and seen now."""
        self._q(
            "UPDATE counters SET session = ?, opened_at = ?, seen_at = ?, left_at = NULL, "
            "state = 'open' WHERE id = ?",
            (session, to_text(at), to_text(at), counter_id),
        )

    def see_counter(self, counter_id: str, session: str, at: datetime) -> bool:
        """Note that `session` is still at the counter; False if it no longer holds it."""
        cursor = self._q(
            "UPDATE counters SET seen_at = ? WHERE id = ? AND session = ?",
            (to_text(at), counter_id, session),
        )
        return cursor.rowcount == 1

    def release_counter(self, counter_id: str, session: str, at: datetime) -> bool:
        """`session` leaves the counter, which pauses; False if it no longer held it."""
        cursor = self._q(
            "UPDATE counters SET session = NULL, seen_at = NULL, left_at = ?, state = 'paused' "
            "WHERE id = ? AND session = ?",
            (to_text(at), counter_id, session),
        )
        return cursor.rowcount == 1

    # device problems

    @planned
    def problems(self) -> Plan:
        """Every device's current problem: (device, problem, since), oldest first."""
        return Plan(
            "SELECT device, problem, since FROM problems ORDER BY since",
            (),
            lambda rows: [(row[0], row[1], from_text(row[2])) for row in rows],
        )

    def set_problem(self, device: str, problem: str | None, at: datetime) -> bool:
        """Record (or, with None, clear) a device's problem; True if that changed anything."""
        if problem is None:
            cursor = self._q("DELETE FROM problems WHERE device = ?", (device,))
        else:
            cursor = self._q(
                "INSERT INTO problems (device, problem, since) VALUES (?, ?, ?) "
                "ON CONFLICT (device) DO UPDATE SET problem = excluded.problem "
                "WHERE problems.problem <> excluded.problem",
                (device, problem, to_text(at)),
            )
        return cursor.rowcount == 1

    def set_counter_state(self, counter_id: str, state: str) -> None:
        self._q("UPDATE counters SET state = ? WHERE id = ?", (state, counter_id))

    def set_counter_ticket(self, counter_id: str, ticket_id: int | None) -> None:
        self._q("UPDATE counters SET ticket_id = ? WHERE id = ?", (ticket_id, counter_id))

    def release_tickets(self, ticket_ids: Sequence[int]) -> None:
        """Free every counter that holds one of these tickets."""
        self._many(
            "UPDATE counters SET ticket_id = NULL WHERE ticket_id = ?", [(i,) for i in ticket_ids]
        )

    # tickets

    @planned
    def take_number(self, series: str, day: str) -> Plan:
        """The next number of a series that day, taken: one upsert of the series' row.

        The row stays locked until the transaction ends, so two writers cannot both take
        it; the UNIQUE index on (series, service_day, seq) is the backstop.
        """
        return Plan(
            "INSERT INTO numbers (series, service_day, last) VALUES (?, ?, 1) "
            "ON CONFLICT (series, service_day) DO UPDATE SET last = numbers.last + 1 "
            "RETURNING last",
            (series, day),
            first_value,
        )

    @planned
    def new_ticket_id(self) -> Plan:
        """The id the next ticket gets (`insert_ticket` with it), known before it is stored,
        so that what a receipt reads can be asked together with its number. Safe only inside
        write(), as the office's write lock is held."""
        return Plan("SELECT COALESCE(MAX(id), 0) + 1 FROM tickets", (), first_value)

    def insert_ticket(self, fields: dict) -> None:
        """Store a new ticket with these columns (its id among them)."""
        columns = ", ".join(fields)
        marks = ", ".join("?" * len(fields))
        values = [_stored(value) for value in fields.values()]
        self._q(f"INSERT INTO tickets ({columns}) VALUES ({marks})", values)

    @planned
    def ticket_by_request(self, key: str | None) -> Plan:
        """The ticket issued for the request with this key, if any."""
        return Plan(
            None if key is None else f"SELECT {TICKET_COLUMNS} FROM tickets WHERE request_key = ?",
            (key,),
            _one_ticket,
        )

    def update_ticket(self, ticket_id: int, **fields) -> None:
        assignments = ", ".join(f"{column} = ?" for column in fields)
        values = [_stored(value) for value in fields.values()]
        self._q(f"UPDATE tickets SET {assignments} WHERE id = ?", [*values, ticket_id])

    def ticket(self, ticket_id: int) -> Ticket | None:
        row = self._q(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        return None if row is None else _ticket(row)

    def ticket_by_number(self, series: str, seq: int, day: str) -> Ticket | None:
        row = self._q(
            f"SELECT {TICKET_COLUMNS} FROM tickets WHERE series = ? AND service_day = ? AND seq = ?",
            (series, day, seq),
        ).fetchone()
        return None if row is None else _ticket(row)

    def line(self, service: str, day: str) -> Line:
        """One service's running totals that day."""
        row = self._q(
            "SELECT waiting, walk_ins, served, service_seconds FROM line_counts "
            "WHERE service_day = ? AND service = ?",
            (day, service),
        ).fetchone()
        return Line() if row is None else Line(*row)

    @planned
    def line_counts(self, day: str) -> Plan:
        """Every service's running totals that day."""
        return Plan(
            "SELECT service, waiting, walk_ins, served, service_seconds FROM line_counts "
            "WHERE service_day = ?",
            (day,),
            lambda rows: {row[0]: Line(*row[1:]) for row in rows},
        )

    @planned
    def around(
        self, services: Sequence[str], day: str, due: datetime, ticket_id: int, upto: int
    ) -> Plan:
        """Per service, the waiting tickets called before and after (`due`, `ticket_id`),
        each counted only up to `upto`, in one query.

        Each count walks `tickets_due` from one end of its line toward that key, and stops
        after `upto`: with the line's running total, the nearer end gives the exact count
        (`count_ahead` is for a ticket far from both ends of a very long line).
        """
        # One correlated count per direction over the list of services, not one per service:
        # PostgreSQL plans a statement on its first runs, and planning 2N subqueries cost more
        # than running them.
        near = (
            "(SELECT COUNT(*) FROM (SELECT 1 FROM tickets t WHERE t.status = 'waiting' "
            "AND t.service_day = ? AND t.service = s.code AND (t.due_at, t.id) {} (?, ?) "
            f"LIMIT {int(upto)}) AS n)"  # written in: see heads_of_lines
        )
        codes = " UNION ALL ".join("SELECT CAST(? AS TEXT) AS code" for _ in services)
        key = (day, to_text(due), ticket_id)
        return Plan(
            f"SELECT s.code, {near.format('<')}, {near.format('>')} FROM ({codes}) AS s"
            if services
            else None,
            [*key, *key, *services],
            lambda rows: {row[0]: (row[1], row[2]) for row in rows or ()},
        )

    def count_ahead(self, service: str, day: str, due: datetime, ticket_id: int) -> int:
        """The waiting tickets of `service` called before (`due`, `ticket_id`)."""
        return self._q(
            "SELECT COUNT(*) FROM tickets WHERE status = 'waiting' AND service_day = ? "
            "AND service = ? AND (due_at, id) < (?, ?)",
            (day, service, to_text(due), ticket_id),
        ).fetchone()[0]

    @planned
    def heads_of_lines(self, services: Sequence[str], day: str, limit: int = 1) -> Plan:
        """The first `limit` waiting tickets of each service in calling order, in one query.

        The limit is written into the query, not a parameter: PostgreSQL plans a prepared
        statement once only if that plan looks as cheap as planning each run, and an
        unknown LIMIT looks like a tenth of a long line."""
        query = " UNION ALL ".join(
            f"SELECT * FROM (SELECT {TICKET_COLUMNS} FROM tickets WHERE status = 'waiting' "
            f"AND service_day = ? AND service = ? ORDER BY due_at, id LIMIT {int(limit)}) AS h"
            for _ in services
        )
        params = [value for code in services for value in (day, code)]
        return Plan(query or None, params, lambda rows: [_ticket(row) for row in rows or ()])

    def key_in_line(
        self, service: str, day: str, place: int, last: bool = False, after: tuple | None = None
    ):
        """(due time, id) of the waiting ticket at `place` (1: the head), or of the last one;
        `after`: counted from the ticket after this (due, id) key instead of from the head."""
        order = "DESC" if last else ""
        behind = "" if after is None else "AND (due_at, id) > (?, ?) "
        keys = () if after is None else (to_text(after[0]), after[1])
        row = self._q(
            "SELECT due_at, id FROM tickets WHERE status = 'waiting' AND service_day = ? "
            f"AND service = ? {behind}ORDER BY due_at {order}, id {order} LIMIT 1 OFFSET ?",
            (day, service, *keys, 0 if last else place - 1),
        ).fetchone()
        return None if row is None else (from_text(row[0]), row[1])

    @planned
    def longest_waiting_since(self, services: Sequence[str], day: str) -> Plan:
        """The arrival of the ticket that has waited longest in these lines."""
        query = " UNION ALL ".join(
            "SELECT * FROM (SELECT arrived_at FROM tickets WHERE status = 'waiting' "
            "AND service_day = ? AND service = ? ORDER BY arrived_at LIMIT 1) AS w"
            for _ in services
        )
        return Plan(
            query or None,
            [v for code in services for v in (day, code)],
            lambda rows: min((from_text(row[0]) for row in rows or ()), default=None),
        )

    @planned
    def booked_between(
        self, day: str, first: datetime, last: datetime, besides: int | None = None
    ) -> Plan:
        """Appointments not yet checked in that start from `first` to before `last`, per
        service; `besides`: one not to count (the one checking in now)."""
        return Plan(
            "SELECT service, COUNT(*) FROM appointments WHERE status = 'booked' "
            "AND ticket_id IS NULL AND day = ? AND starts_at >= ? AND starts_at < ? "
            "AND id <> ? GROUP BY service",
            (day, to_text(first), to_text(last), -1 if besides is None else besides),
            lambda rows: dict(rows.fetchall()),
        )

    @planned
    def visits_at_counters(self) -> Plan:
        """The ticket each busy counter is serving."""
        columns = ", ".join(f"t.{column}" for column in TICKET_COLUMNS.split(", "))
        return Plan(
            f"SELECT c.id, {columns} FROM counters c JOIN tickets t ON t.id = c.ticket_id",
            (),
            lambda rows: {row[0]: _ticket(row[1:]) for row in rows},
        )

    def add_service_time(self, service: str, day: str, seconds: float) -> None:
        """Count one more visitor served at `service` that day, who took `seconds`."""
        self._q(
            "UPDATE line_counts SET served = served + 1, service_seconds = service_seconds + ? "
            "WHERE service_day = ? AND service = ?",
            (seconds, day, service),
        )

    def open_tickets_before(self, day: str) -> list[Ticket]:
        """Tickets of earlier service days that never ended."""
        # Waiting ones through their index, called ones through the counters holding them:
        # no index of its own to keep up on every write.
        rows = self._q(
            f"SELECT {TICKET_COLUMNS} FROM tickets WHERE status = 'waiting' AND service_day < ? "
            f"UNION ALL SELECT {TICKET_COLUMNS} FROM tickets "
            "WHERE id IN (SELECT ticket_id FROM counters) AND service_day < ?",
            (day, day),
        )
        return [_ticket(row) for row in rows]

    @planned
    def served_count(self, counter_id: str, day: str) -> Plan:
        """Visitors this counter served that day."""
        return Plan(
            "SELECT served FROM counter_counts WHERE service_day = ? AND counter = ?",
            (day, counter_id),
            lambda cursor: (cursor.fetchone() or (0,))[0],
        )

    def tickets_between(self, first_day: str, last_day: str) -> list[Ticket]:
        """Every ticket of these service days (inclusive), for statistics."""
        rows = self._q(
            f"SELECT {TICKET_COLUMNS} FROM tickets WHERE service_day BETWEEN ? AND ? ORDER BY id",
            (first_day, last_day),
        )
        return [_ticket(row) for row in rows]

    def all_tickets(self) -> list[Ticket]:
        rows = self._q(f"SELECT {TICKET_COLUMNS} FROM tickets ORDER BY id")
        return [_ticket(row) for row in rows]

    # events

    def add_event(
        self, at, action, ticket_id=None, from_state=None, to_state=None, counter=None, service=None
    ):
        self._q(
            "INSERT INTO events (at, action, ticket_id, from_state, to_state, counter, service) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (to_text(at), action, ticket_id, from_state, to_state, counter, service),
        )

    def events_after(
        self, event_id: int, actions: Sequence[str] | None = None, limit: int = 1000
    ) -> list[Event]:
        """Events newer than `event_id`, oldest first, with the ticket's number."""
        condition, params = "", []
        if actions:
            condition = f"AND e.action IN ({','.join('?' * len(actions))})"
            params = list(actions)
        rows = self._q(
            "SELECT e.id, e.at, e.action, e.ticket_id, e.from_state, e.to_state, e.counter, "
            "e.service, t.number FROM events e LEFT JOIN tickets t ON t.id = e.ticket_id "
            f"WHERE e.id > ? {condition} ORDER BY e.id LIMIT {int(limit)}",
            (event_id, *params),
        )
        return [_event(row) for row in rows]

    def last_event_id(self) -> int:
        return self._q("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]

    @planned
    def last_calls(self, limit: int, day: str | None = None) -> Plan:
        """The newest calls and recalls, newest first; with `day`, of that day's tickets."""
        # The action condition is written exactly as the partial index events_calls says it,
        # so that SQLite walks that index instead of every event.
        condition, params = ("AND t.service_day = ?", [day]) if day else ("", [])
        return Plan(
            "SELECT e.id, e.at, e.action, e.ticket_id, e.from_state, e.to_state, e.counter, "
            "e.service, t.number FROM events e LEFT JOIN tickets t ON t.id = e.ticket_id "
            f"WHERE e.action IN ('call', 'recall') {condition} "
            f"ORDER BY e.id DESC LIMIT {int(limit)}",
            params,
            lambda rows: [_event(row) for row in rows],
        )

    # appointments

    def add_device_token(self, role: str, name: str, digest: str, at: datetime) -> None:
        self._q(
            "INSERT INTO device_tokens (role, name, hash, created_at) VALUES (?, ?, ?, ?)",
            (role, name, digest, to_text(at)),
        )

    def device_tokens(self) -> list[DeviceToken]:
        rows = self._q(f"SELECT {TOKEN_COLUMNS} FROM device_tokens ORDER BY id")
        return [_device_token(row) for row in rows]

    def device_token(self, column: str, value) -> DeviceToken | None:
        """The token with this id or hash (`column`: "id" or "hash")."""
        assert column in ("id", "hash")
        row = self._q(
            f"SELECT {TOKEN_COLUMNS} FROM device_tokens WHERE {column} = ?", (value,)
        ).fetchone()
        return None if row is None else _device_token(row)

    def revoke_device_token(self, token_id: int, at: datetime) -> None:
        self._q(
            "UPDATE device_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            (to_text(at), token_id),
        )

    def update_appointment(self, appointment_id: int, **fields) -> None:
        assignments = ", ".join(f"{column} = ?" for column in fields)
        values = [_stored(value) for value in fields.values()]
        self._q(f"UPDATE appointments SET {assignments} WHERE id = ?", [*values, appointment_id])

    @planned
    def appointment_by(self, column: str, value: str | None) -> Plan:
        """One appointment by its `reference` or its booking system's `uid` (None: none)."""
        assert column in ("reference", "uid", "id")

        def parse(cursor) -> Appointment | None:
            row = None if cursor is None else cursor.fetchone()
            return None if row is None else _appointment(row)

        sql = f"SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE {column} = ?"
        return Plan(None if value is None else sql, (value,), parse)

    def appointments_on(self, day: str | None) -> list[Appointment]:
        if day is None:
            rows = self._q(f"SELECT {APPOINTMENT_COLUMNS} FROM appointments ORDER BY starts_at, id")
        else:
            rows = self._q(
                f"SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE day = ? ORDER BY starts_at, id",
                (day,),
            )
        return [_appointment(row) for row in rows]

    def present(self, column: str, values) -> set[str]:
        """Which of these appointment `uid`s or `reference`s exist, in one query."""
        assert column in ("uid", "reference")
        rows = self._q(
            f"SELECT {column} FROM appointments WHERE {column} IN (SELECT value FROM json_each(?))",
            [json.dumps(sorted(values))],
        )
        return {row[0] for row in rows}

    def upsert_appointments(self, records: list[tuple]) -> None:
        """Insert imported appointments, or update the one with the same uid (its reference
        and QR code stay). Each record: uid, service, starts_at, day, name, status,
        created_at, reference."""
        self._many(
            "INSERT INTO appointments "
            "(uid, service, starts_at, day, name, status, created_at, reference) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uid) DO UPDATE SET "
            "service = excluded.service, starts_at = excluded.starts_at, day = excluded.day, "
            "name = excluded.name, status = excluded.status",
            records,
        )

    def table_rows(self, table: str) -> tuple[list[str], Iterator[tuple]]:
        """A whole table, for `loket copy`: its column names and its rows."""
        cursor = self._q(f"SELECT * FROM {table}")
        return [column[0] for column in cursor.description], iter(cursor)

    def count_rows(self, table: str) -> int:
        return self._q(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def forget_names_before(self, day: str) -> int:
        """Erase the personal data of appointments before `day`; the rest stays for statistics."""
        cursor = self._q(
            "UPDATE appointments SET name = NULL WHERE day < ? AND name IS NOT NULL", (day,)
        )
        return cursor.rowcount


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`; None for :memory: or a file that is gone."""
    if path == ":memory:":
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _create_private(path: str) -> None:
    """Create an empty file readable by its owner only, unless it exists already.

    SQLite gives its -wal and -shm files the same permissions as the database.
    """
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def is_url(target: str | os.PathLike) -> bool:
    """Whether a database names a PostgreSQL server (a URL) rather than a SQLite file; the
    URL of anything else (a typo such as postgresql:/host, or mysql://) is refused."""
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        return True
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]+:/", text):
        raise Misconfigured(f"{text} is neither a file nor a postgresql://USER@HOST/DATABASE URL")
    return False


def open_store(
    target: str | os.PathLike,
    create: bool = True,
    setup: Callable[[Store], None] | None = None,
    office: str | None = None,
) -> Store:
    """The office at `target`: a SQLite file, or on a PostgreSQL server (a URL), where
    `office` names one of the offices it holds (a SQLite file is one office)."""
    if is_url(target):
        from loket.storage_pg import PgStore  # psycopg only for those who use it

        return PgStore.open(str(target), create, setup, office)
    return Store.open(target, create, setup)


def _stored(value):
    if isinstance(value, bool):
        return int(value)
    if hasattr(value, "astimezone"):
        return to_text(value)
    return value


def first_value(cursor):
    """The first column of a query's one row."""
    return cursor.fetchone()[0]


def _one_ticket(cursor) -> Ticket | None:
    row = None if cursor is None else cursor.fetchone()
    return None if row is None else _ticket(row)


def _ticket(row) -> Ticket:
    return Ticket(
        id=row[0],
        number=row[1],
        series=row[2],
        seq=row[3],
        service_day=row[4],
        service=row[5],
        kind=row[6],
        priority=bool(row[7]),
        status=row[8],
        arrived_at=from_text(row[9]),
        appointment_at=from_text(row[10]),
        counter=row[11],
        first_called_at=from_text(row[12]),
        called_at=from_text(row[13]),
        recalls=row[14],
        finished_at=from_text(row[15]),
        due_at=from_text(row[16]),
        reinstated=row[17],
        postponed=row[18],
    )


TOKEN_COLUMNS = "id, role, name, created_at, revoked_at"


def _device_token(row) -> DeviceToken:
    return DeviceToken(row[0], row[1], row[2], from_text(row[3]), from_text(row[4]))


def _appointment(row) -> Appointment:
    return Appointment(
        id=row[0],
        reference=row[1],
        uid=row[2],
        service=row[3],
        starts_at=from_text(row[4]),
        day=row[5],
        name=row[6],
        status=row[7],
        ticket_id=row[8],
    )


def _event(row) -> Event:
    return Event(
        id=row[0],
        at=from_text(row[1]),
        action=row[2],
        ticket_id=row[3],
        from_state=row[4],
        to_state=row[5],
        counter=row[6],
        service=row[7],
        number=row[8],
    )


def damaged(path: str) -> StorageError:
    """The error for a database holding bytes that are no longer text."""
    return StorageError(f"{path} is damaged (it holds bytes that are not text); restore a backup")


def _storage_error(error: Exception, path: str) -> StorageError:
    if isinstance(error, UnicodeDecodeError) or "Could not decode" in str(error):
        return damaged(path)
    text = str(error)
    if "readonly" in text or "read-only" in text:
        return StorageError(f"the database {path} is read-only: Loket cannot write to it")
    if "locked" in text or "busy" in text:
        return StorageError(f"the database {path} is busy (locked by another program); try again")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StorageError(f"{path} is not a usable Loket database ({text})")
    if "unable to open" in text:
        return StorageError(f"cannot open the database {path} ({text})")
    return StorageError(f"database error on {path}: {text}")
