"""The same storage on PostgreSQL: an office whose kiosk, counters and screens share a server.

`PgStore` runs the queries of `loket.storage.Store` (written once, with `?` placeholders);
only what SQLite and PostgreSQL do differently lives here: connecting, the schema, the
transactions, learning of changes, and errors.

Isolation and locking. Every write transaction first locks its office's `office_lock`
table against every other writer (`LOCK TABLE ... IN SHARE ROW EXCLUSIVE MODE`; plain reads
do not wait for it). The engine's operations read, then write: calling next reads the heads
of the lines and then claims one; a receipt counts the line its ticket joins. With the
office's lock held, each runs alone, exactly as under SQLite's BEGIN IMMEDIATE, so the
queue rules stay in the engine, once, with no retry loop (SERIALIZABLE would abort and
retry calls whenever two counters look at one line; `FOR UPDATE SKIP LOCKED` would let a
counter skip the rightful head of its line). The lock also makes event ids rise in commit
order, so a screen that reads "events after N" never misses one that committed late. An
office writes a few times a second (`make bench` measures far more), so one lock is not its
limit. The UNIQUE constraints stay as backstops: a number per series and day, a ticket per
counter, a request key per ticket.

Every transaction is REPEATABLE READ (the connection's default), so that a screen's reads
see one moment, as SQLite's do. For a writer that is safe because LOCK TABLE takes no
snapshot: the snapshot is taken by the first query after the lock was granted, and so sees
every writer before it, and no writer can commit under it (no serialization failures).
The isolation is the connection's default rather than said at BEGIN because in pipeline
mode (below) the server refuses SET TRANSACTION after the previous transaction's
unanswered end.

Times are stored as the engine's fixed-width UTC text, as in SQLite: its order is time
order, and both backends share one set of queries and row readers.

Offices. One database holds any number of offices, each in its own schema `loket_NAME`
with its own tables: numbering, counters, config, screens and statistics stay apart, and
the roles of `loket init --roles` are granted per office. Changes are announced on the
channel of the same name with NOTIFY, in the committing transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit, urlunsplit

import psycopg

from loket.errors import Misconfigured, NotAllowed, StorageError
from loket.storage import SCHEMA_VERSION, Plan, Store, first_value, planned

DEFAULT_OFFICE = "main"
IDLE = psycopg.pq.TransactionStatus.IDLE
CHANGES = ("INSERT", "UPDATE", "DELETE")
OFFICE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
CONNECT_TIMEOUT_S = 5
# A pulled cable answers nothing: without these a screen's idle connection would wait for
# the operating system's two hours before anyone noticed. (Unix sockets ignore them.)
# Every transaction REPEATABLE READ (see the top). A device that goes silent inside a
# transaction (a pulled cable, a frozen PC) would hold its office's lock until the server's
# own TCP keepalive gave up, two hours by default: the server ends such a transaction after
# 10 s, notices a dead peer within about 25 s, and a writer waits at most 10 s for the
# lock before it says so (the app shows "one moment" and tries again).
SESSION_OPTIONS = " ".join(
    f"-c {setting}"
    for setting in (
        "default_transaction_isolation=repeatable\\ read",
        "idle_in_transaction_session_timeout=10s",
        "lock_timeout=10s",
        "tcp_keepalives_idle=10",
        "tcp_keepalives_interval=5",
        "tcp_keepalives_count=3",
    )
)
# A statement run this often is prepared: planned once per connection, not on every run,
# which is most of a call's time on the server. psycopg forgets its prepared statements
# (DEALLOCATE ALL) when it sees a ROLLBACK, DROP or ALTER, and in pipeline mode it sends
# that after the statement it is preparing at that moment, which is then gone ("prepared
# statement _pg3_1 does not exist"). So no such statement goes through the pipeline:
# reads end with COMMIT, a rollback waits outside it (`_roll_back`), and the schema is
# changed unprepared (`_unprepared`).
PREPARE_AFTER = 5
# A device waits between visitors, and the connection that LISTENs only ever receives: a
# server's idle_session_timeout (PostgreSQL 14 and later) must not end them. A pulled cable
# is the keepalives' job.
IDLE_TIMEOUT_SINCE = 140000
NO_IDLE_TIMEOUT = "SET idle_session_timeout = 0"
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}

# The schema of a new office, at SCHEMA_VERSION (storage.MIGRATIONS, for SQLite, reaches the
# same tables step by step). A later schema appends its steps to UPGRADES.
SCHEMA = [
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "CREATE TABLE office_lock ()",  # never holds a row: writers lock it (see the top)
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE tickets (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
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
        finished_at TEXT,
        due_at TEXT NOT NULL,
        reinstated INTEGER NOT NULL DEFAULT 0,
        request_key TEXT,
        postponed INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE UNIQUE INDEX tickets_number ON tickets (series, service_day, seq)",
    "CREATE INDEX tickets_day ON tickets (service_day, service, status)",
    """CREATE INDEX tickets_waiting ON tickets (service_day, service, arrived_at, id)
        WHERE status = 'waiting'""",
    """CREATE INDEX tickets_due ON tickets (service_day, service, due_at, id)
        WHERE status = 'waiting'""",
    """CREATE INDEX tickets_done ON tickets (service_day, service, finished_at)
        WHERE status = 'done'""",
    "CREATE UNIQUE INDEX tickets_request ON tickets (request_key) WHERE request_key IS NOT NULL",
    """CREATE TABLE numbers (
        series TEXT NOT NULL,
        service_day TEXT NOT NULL,
        last INTEGER NOT NULL,
        PRIMARY KEY (series, service_day)
    )""",
    """CREATE TABLE counters (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'paused')),
        ticket_id BIGINT UNIQUE REFERENCES tickets (id),
        session TEXT,
        opened_at TEXT,
        seen_at TEXT,
        left_at TEXT
    )""",
    """CREATE TABLE appointments (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        reference TEXT NOT NULL UNIQUE,
        uid TEXT UNIQUE,
        service TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        day TEXT NOT NULL,
        name TEXT,
        status TEXT NOT NULL CHECK (status IN ('booked', 'cancelled')),
        ticket_id BIGINT REFERENCES tickets (id),
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX appointments_day ON appointments (day, starts_at)",
    """CREATE INDEX appointments_due ON appointments (day, starts_at)
        WHERE status = 'booked' AND ticket_id IS NULL""",
    """CREATE TABLE events (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        at TEXT NOT NULL,
        action TEXT NOT NULL,
        ticket_id BIGINT REFERENCES tickets (id),
        from_state TEXT,
        to_state TEXT,
        counter TEXT,
        service TEXT
    )""",
    "CREATE INDEX events_calls ON events (id) WHERE action IN ('call', 'recall')",
    """CREATE TABLE line_counts (
        service_day TEXT NOT NULL,
        service TEXT NOT NULL,
        waiting INTEGER NOT NULL DEFAULT 0,
        walk_ins INTEGER NOT NULL DEFAULT 0,
        served INTEGER NOT NULL DEFAULT 0,
        service_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
        PRIMARY KEY (service_day, service)
    )""",
    """CREATE TABLE counter_counts (
        service_day TEXT NOT NULL,
        counter TEXT NOT NULL,
        served INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (service_day, counter)
    )""",
    """CREATE TABLE problems (
        device TEXT PRIMARY KEY,
        problem TEXT NOT NULL,
        since TEXT NOT NULL
    )""",
    # The running totals, as SQLite's triggers keep them. SECURITY DEFINER: a device's role
    # may change a ticket without being allowed to write the totals directly.
    """CREATE FUNCTION count_tickets() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path FROM CURRENT AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO line_counts (service_day, service, waiting, walk_ins)
            VALUES (NEW.service_day, NEW.service, (NEW.status = 'waiting')::int,
                    (NEW.kind = 'walk_in')::int)
            ON CONFLICT (service_day, service) DO UPDATE
            SET waiting = line_counts.waiting + excluded.waiting,
                walk_ins = line_counts.walk_ins + excluded.walk_ins;
            RETURN NULL;
        END IF;
        IF OLD.status = 'waiting' THEN
            UPDATE line_counts SET waiting = waiting - 1
            WHERE service_day = OLD.service_day AND service = OLD.service;
        END IF;
        IF NEW.status = 'waiting' THEN
            INSERT INTO line_counts (service_day, service, waiting)
            VALUES (NEW.service_day, NEW.service, 1)
            ON CONFLICT (service_day, service) DO UPDATE SET waiting = line_counts.waiting + 1;
        END IF;
        IF NEW.status = 'done' AND OLD.status <> 'done' AND NEW.counter IS NOT NULL THEN
            INSERT INTO counter_counts (service_day, counter, served)
            VALUES (NEW.service_day, NEW.counter, 1)
            ON CONFLICT (service_day, counter) DO UPDATE SET served = counter_counts.served + 1;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER tickets_count AFTER INSERT OR UPDATE OF status, service ON tickets
        FOR EACH ROW EXECUTE FUNCTION count_tickets()""",
]
DEVICE_TOKENS = """CREATE TABLE device_tokens (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('kiosk', 'counter', 'integration')),
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
)"""
SCHEMA.append(DEVICE_TOKENS)
# version reached -> its statements
UPGRADES: dict[int, list[str]] = {
    6: ["ALTER TABLE tickets ADD COLUMN postponed INTEGER NOT NULL DEFAULT 0", DEVICE_TOKENS],
}


def shown(url: str) -> str:
    """The URL without its password, for messages and screens."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", "@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def schema_of(office: str) -> str:
    if not OFFICE_NAME.fullmatch(office):
        raise StorageError(
            f"{office!r} is not an office name: use lower-case letters, digits and _ "
            "(up to 40, starting with a letter)"
        )
    return f"loket_{office}"


def offices(conn) -> list[str]:
    """The names of the offices this database holds."""
    rows = conn.execute(
        "SELECT substr(nspname, 7) FROM pg_namespace WHERE nspname LIKE 'loket\\_%' "
        "AND to_regclass(quote_ident(nspname) || '.schema_version') IS NOT NULL ORDER BY 1"
    )
    return [row[0] for row in rows]


def connect(url: str, **options) -> psycopg.Connection:
    """A connection in autocommit mode (we say BEGIN and COMMIT), or a StorageError."""
    try:
        return psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_S,
            options=SESSION_OPTIONS,
            prepare_threshold=PREPARE_AFTER,
            **KEEPALIVES,
            **options,
        )
    except psycopg.Error as error:
        raise storage_error(error, url) from None


def office_names(url: str) -> list[str]:
    """The offices held by the database at `url`."""
    with connect(url) as conn:
        try:
            return offices(conn)
        except psycopg.Error as error:
            raise storage_error(error, url) from None


class PgStore(Store):
    """One connection to an office on a PostgreSQL server."""

    def __init__(self, conn: psycopg.Connection, url: str, office: str):
        self.conn = conn
        self.url = url
        self.path = shown(url)
        self.office = office
        self.schema = schema_of(office)
        self._listener: psycopg.Connection | None = None
        self._changes = 0
        self._queries: dict[str, str] = {}
        self._pipeline = None
        self._pipeline_block = None
        self._unanswered = False
        self._changed = False
        self.round_trips = 0
        """How often we waited for the server: each is one round trip over the network."""

    @classmethod
    def open(
        cls,
        url: str,
        create: bool = True,
        setup: Callable[[Store], None] | None = None,
        office: str | None = None,
    ) -> PgStore:
        conn = connect(url)
        store = None
        try:
            office = office or _only_office(conn, url, create)
            store = cls(conn, url, office)
            store._prepare(create, setup)
        except BaseException as error:
            if store is not None:
                store.close()  # leaves its pipeline first, quietly
            conn.close()
            if isinstance(error, psycopg.Error):
                raise storage_error(error, url) from None
            raise
        return store

    def _prepare(self, create: bool, setup: Callable[[Store], None] | None) -> None:
        self._q(f"SET search_path TO {self.schema}")
        if self.conn.info.server_version >= IDLE_TIMEOUT_SINCE:
            self._q(NO_IDLE_TIMEOUT)
        version = self._version()
        if version == 0 and not create:
            raise Misconfigured(
                f"{self.path} holds no Loket office {self.office!r}: "
                f"set it up with `loket --db URL --office {self.office} init`"
            )
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"the office {self.office} at {self.path} was made by a newer Loket (schema "
                f"{version}, this one knows {SCHEMA_VERSION}); upgrade Loket"
            )
        if version < SCHEMA_VERSION:
            self._migrate(setup)

    def _version(self) -> int:
        if self._q("SELECT to_regclass('schema_version')").fetchone()[0] is None:
            return 0
        row = self._q("SELECT max(version) FROM schema_version").fetchone()
        return row[0] or 0

    def _migrate(self, setup: Callable[[Store], None] | None) -> None:
        """Make or upgrade the office's schema, in one transaction; a second process doing
        the same waits, then finds it done. Its lock table may not exist yet: an advisory
        lock keeps them apart, at READ COMMITTED so that the second sees what the first made."""
        self._wait()  # an isolation level is taken only at the start of a fresh block
        with self._unprepared():
            self._migrate_unprepared(setup)

    def _migrate_unprepared(self, setup: Callable[[Store], None] | None) -> None:
        self._q("BEGIN ISOLATION LEVEL READ COMMITTED")
        self._q("SELECT pg_advisory_xact_lock(hashtext(?))", (self.schema,))
        try:
            self._q(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            version = self._version()
            if version == 0:
                for statement in SCHEMA:
                    self._q(statement)
                self._q("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
                if setup is not None:
                    setup(self)
            else:
                for reached in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in UPGRADES[reached]:
                        self._q(statement)
                self._q("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
                self._grant_again()
        except BaseException:
            self._roll_back()
            raise
        self._q("COMMIT")
        self._wait()

    def _grant_again(self) -> None:
        """After an upgrade, the office's device roles (if made) get the new tables too."""
        roles = device_roles(self.schema)
        found = self._q("SELECT count(*) FROM pg_roles WHERE rolname = ANY(?)", [roles])
        if found.fetchone()[0] == len(roles):
            for statement in grant_statements(self.schema):
                self._q(statement)

    def close(self) -> None:
        if self._pipeline is not None and not self.conn.broken:
            self._leave_pipeline()
        for conn in (self.conn, self._listener):
            if conn is not None:
                with suppress(psycopg.Error):
                    conn.close()

    # Round trips. The connection stays in pipeline mode: a statement is sent at once, but
    # we wait for the server only when an answer is needed (`_wait`), and then for every
    # statement sent so far. Writes whose answer nobody reads cost no wait of their own,
    # and `Store.fetch` asks several reads in one wait.

    def _enter_pipeline(self) -> None:
        self._pipeline_block = self.conn.pipeline()
        self._pipeline = self._pipeline_block.__enter__()

    def _leave_pipeline(self, error: BaseException | None = None) -> None:
        block, self._pipeline = self._pipeline_block, None
        with suppress(psycopg.Error):
            block.__exit__(type(error) if error else None, error, None)

    def _sql(self, query: str) -> str:
        """Store's `?` placeholders as psycopg's `%s` (a literal % doubled), once per query."""
        sql = self._queries.get(query)
        if sql is None:
            sql = self._queries[query] = query.replace("%", "%%").replace("?", "%s")
        return sql

    def _q(self, query: str, params: Sequence = ()):
        sql = self._sql(query) if params else query  # without parameters nothing is formatted
        try:
            if self._pipeline is None:
                self._enter_pipeline()
            cursor = self.conn.execute(sql, params or None)
        except psycopg.Error as error:
            raise self._failed(error) from None
        self._unanswered = True
        self._changed = self._changed or query.startswith(CHANGES)
        return _Answer(cursor, self)

    def _wait(self) -> None:
        """Wait for the answers to every statement sent: one round trip."""
        if not self._unanswered:
            return
        self.round_trips += 1
        self._unanswered = False
        try:
            self._pipeline.sync()  # sends a Sync, then takes in every answer
        except psycopg.Error as error:
            raise self._failed(error) from None

    def _failed(self, error: psycopg.Error) -> StorageError:
        """Leave the failed pipeline, roll back what is left, and start afresh."""
        self._leave_pipeline(error)
        self._unanswered = False
        self._roll_back_now()
        return storage_error(error, self.path)

    def _roll_back_now(self) -> None:
        """ROLLBACK outside the pipeline, where psycopg forgets its prepared statements at
        once (see PREPARE_AFTER); a broken connection's transaction the server ends itself."""
        if not self.conn.broken and self.conn.info.transaction_status != IDLE:
            with suppress(psycopg.Error):
                self.round_trips += 1
                self.conn.execute("ROLLBACK")

    def _many(self, query: str, rows: Sequence[Sequence]) -> None:
        self._changed = self._changed or query.startswith(CHANGES)
        self._wait()
        self.round_trips += 1
        try:
            with self.conn.cursor() as cursor:
                cursor.executemany(self._sql(query), rows)
        except psycopg.Error as error:
            raise self._failed(error) from None

    @contextmanager
    def write(self) -> Iterator[Store]:
        """One transaction holding the office's write lock: all of it commits, or none.

        The lock is asked for with the transaction's first reads, and the commit is the
        only wait of its own.
        """
        self._q("BEGIN")
        self._q("LOCK TABLE office_lock IN SHARE ROW EXCLUSIVE MODE")
        self._changed = False
        try:
            yield self
        except BaseException:
            self._roll_back()
            raise
        # As SQLite's data_version: a transaction that wrote nothing is news to nobody.
        if self._changed:
            self._q(f"NOTIFY {self.schema}")
        self._q("COMMIT")
        self._wait()

    @contextmanager
    def read(self) -> Iterator[Store]:
        """A read-only snapshot, so that several queries see one consistent moment.

        Its end is sent without waiting: its answer comes with the next one.
        """
        self._q("BEGIN")  # REPEATABLE READ: the connection's default
        try:
            yield self
        finally:
            if self._pipeline is not None and not self.conn.broken:
                self._q("COMMIT")  # not ROLLBACK, which would drop the prepared statements
                with suppress(psycopg.Error):
                    self.conn.pgconn.flush()  # so that the server ends it now

    def _roll_back(self) -> None:
        if self._pipeline is None or self.conn.broken:
            return  # a failure already rolled back, or the connection is gone
        with suppress(StorageError), self._outside_pipeline():  # a failure there rolls back
            self._roll_back_now()

    @contextmanager
    def _unprepared(self) -> Iterator[None]:
        """For changes to the schema: nothing prepared, and psycopg does not watch them."""
        self.conn.prepare_threshold = None
        try:
            yield
        finally:
            self.conn.prepare_threshold = PREPARE_AFTER

    @contextmanager
    def _outside_pipeline(self) -> Iterator[None]:
        """For the statements a pipeline cannot carry (COPY, VACUUM)."""
        self._wait()
        if self._pipeline is not None:
            self._leave_pipeline()
        yield

    def same_file(self) -> bool:
        return True

    def checkpoint(self) -> None:
        """The server checkpoints by itself."""

    def empty_log(self) -> bool:
        """Vacuum the appointments, so that erased names leave the table's live pages."""
        with self._outside_pipeline():
            try:
                self.conn.execute("VACUUM appointments")
            except psycopg.Error as error:
                raise storage_error(error, self.path) from None
        return True

    def backup(self, target: str) -> None:
        raise StorageError(
            "on PostgreSQL, back up with the server's tools: "
            f"pg_dump --schema={self.schema} ... (see the README)"
        )

    def data_version(self) -> int:
        """Moves whenever another connection committed a change to this office.

        Learned from NOTIFY on a connection of its own that LISTENs: reading what already
        arrived costs no round trip, so the apps may look as often as they like. That
        connection only ever receives, so a server or a DBA may end it as idle: it is
        opened again at once, and only a server that cannot be reached is an outage.
        """
        try:
            return self._notices()
        except psycopg.Error:
            self._stop_listening()
        try:
            return self._notices()
        except psycopg.Error as error:
            self._stop_listening()
            raise storage_error(error, self.path) from None

    def _notices(self) -> int:
        if self._listener is None:
            self._listener = connect(self.url)
            if self._listener.info.server_version >= IDLE_TIMEOUT_SINCE:
                self._listener.execute(NO_IDLE_TIMEOUT)
            self._listener.execute(f"LISTEN {self.schema}")
            self._changes += 1  # whatever happened while nobody listened
        own = self.conn.info.backend_pid
        for notice in self._listener.notifies(timeout=0):
            if notice.pid != own:
                self._changes += 1
        if self._listener.broken:
            raise psycopg.OperationalError("the connection that listens for changes was lost")
        return self._changes

    def _stop_listening(self) -> None:
        if self._listener is not None:
            with suppress(psycopg.Error):
                self._listener.close()
        self._listener = None

    @planned
    def new_ticket_id(self) -> Plan:
        """The id the next ticket gets, from its sequence (which `loket copy` moves on)."""
        return Plan("SELECT nextval(pg_get_serial_sequence('tickets', 'id'))", (), first_value)

    def present(self, column: str, values) -> set[str]:
        assert column in ("uid", "reference")
        rows = self._q(f"SELECT {column} FROM appointments WHERE {column} = ANY(?)", [list(values)])
        return {row[0] for row in rows}


class _Answer:
    """A statement's cursor in pipeline mode: reading it first waits for the server."""

    __slots__ = ("cursor", "store")

    def __init__(self, cursor, store: PgStore):
        self.cursor = cursor
        self.store = store

    def _ready(self):
        self.store._wait()
        return self.cursor

    def fetchone(self):
        return self._ready().fetchone()

    def fetchall(self):
        return self._ready().fetchall()

    def __iter__(self):
        return iter(self._ready().fetchall())

    @property
    def rowcount(self) -> int:
        return self._ready().rowcount

    @property
    def description(self):
        return self._ready().description


def _only_office(conn, url: str, create: bool) -> str:
    """The office to open when none is named: the only one, or a new `main`."""
    names = offices(conn)
    if len(names) == 1:
        return names[0]
    if not names:
        if create:
            return DEFAULT_OFFICE
        raise Misconfigured(
            f"{shown(url)} holds no Loket office: set it up with `loket --db URL init`"
        )
    raise Misconfigured(
        f"{shown(url)} holds several offices ({', '.join(names)}): "
        "name one with --office NAME or LOKET_OFFICE"
    )


def storage_error(error: psycopg.Error, where: str) -> StorageError:
    """A sentence for a database error; never the driver's traceback."""
    where = shown(where)
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, psycopg.errors.InsufficientPrivilege):
        return NotAllowed(f"this device's database role may not do that at {where} ({text})")
    if isinstance(error, psycopg.OperationalError):  # down, unreachable, or refusing us
        return StorageError(f"no connection to the database server at {where} ({text})")
    return StorageError(f"database error at {where}: {text}")


# Least privilege: one role per kind of device and office (`loket init --roles`), so that
# a device of one office can do nothing in another. Group roles without a password; the
# city gives each device a login in one of them (README).
DEVICE_KINDS = ("display", "kiosk", "counter")
QUEUE_TABLES = "tickets, events, numbers, line_counts, counter_counts, counters"
# The display reads numbers, counters and events; of appointments only what the
# waiting-time estimate needs, never a name, reference or booking UID.
PUBLIC_APPOINTMENT_COLUMNS = "id, service, starts_at, day, status, ticket_id"
DISPLAY_TABLES = (
    "schema_version, settings, tickets, events, numbers, line_counts, counter_counts, "
    "counters, problems"
)
# Settings a display may not read: the key that signs QR codes (with it, anyone at the
# TV's PC could forge a ticket's code and bring a no-show back into the line).
SECRET_SETTINGS = "('qr_secret')"


def device_roles(schema: str) -> list[str]:
    """The roles of `loket init --roles` for one office: loket_NAME_display and so on."""
    return [f"{schema}_{kind}" for kind in DEVICE_KINDS]


def grant_statements(schema: str) -> list[str]:
    """The grants of each device role on one office's schema.

    Kiosks and counters get the same: both change tickets, which is all that calling and
    issuing are to the tables (the apps, not the database, keep them to their own work).
    """
    display, kiosk, counter = device_roles(schema)
    devices = f"{kiosk}, {counter}"
    return [
        f"GRANT USAGE ON SCHEMA {schema} TO {display}, {devices}",
        f"GRANT SELECT ON {DISPLAY_TABLES} TO {display}",
        f"GRANT SELECT ({PUBLIC_APPOINTMENT_COLUMNS}) ON appointments TO {display}",
        "ALTER TABLE settings ENABLE ROW LEVEL SECURITY",
        "DROP POLICY IF EXISTS public_settings ON settings",
        f"CREATE POLICY public_settings ON settings FOR SELECT TO {display} "
        f"USING (key NOT IN {SECRET_SETTINGS})",
        "DROP POLICY IF EXISTS device_settings ON settings",
        f"CREATE POLICY device_settings ON settings FOR SELECT TO {devices} USING (true)",
        # Kiosks and counters change the queue; loading a config, importing appointments
        # and erasing names stay with the owner who runs `loket init`.
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {devices}",
        f"GRANT INSERT, UPDATE ON {QUEUE_TABLES} TO {devices}",
        f"GRANT UPDATE (ticket_id) ON appointments TO {devices}",  # a check-in
        f"GRANT INSERT, UPDATE, DELETE ON problems TO {devices}",
        f"GRANT UPDATE ON office_lock TO {devices}",  # what LOCK TABLE for writing asks
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {devices}",
    ]


def create_roles(store: PgStore) -> list[str]:
    """Create this office's device roles (if new) and grant them the office; their names."""
    roles = device_roles(store.schema)
    with store._unprepared(), store.write():
        existing = {
            row[0]
            for row in store._q("SELECT rolname FROM pg_roles WHERE rolname = ANY(?)", [roles])
        }
        for role in roles:
            if role not in existing:
                store._q(f"CREATE ROLE {role} NOLOGIN")
        for statement in grant_statements(store.schema):
            store._q(statement)
    return roles


# `loket copy`: a SQLite office's whole history into a new office on PostgreSQL. In the
# order of their references; the running totals last, replacing what the trigger counted.
COPIED_TABLES = (
    "settings", "tickets", "numbers", "counters", "appointments", "events", "problems",
    "device_tokens", "line_counts", "counter_counts",
)  # fmt: skip


def copy_office(source: Store, target: PgStore) -> dict[str, int]:
    """Copy every row of `source` into the empty office `target`, in one transaction;
    returns the rows per table, checked by counting them on both sides."""
    counts = {}
    with source.read(), target.write():
        if target._q("SELECT count(*) FROM tickets").fetchone()[0]:
            raise StorageError(
                f"the office {target.office} at {target.path} already holds tickets: "
                "copy into a new office (--to-office NAME)"
            )
        for table in COPIED_TABLES:
            columns, rows = source.table_rows(table)
            target._q(f"DELETE FROM {table}")
            names = ", ".join(columns)
            try:
                with (
                    target._outside_pipeline(),
                    target.conn.cursor() as cursor,
                    cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
            except psycopg.Error as error:
                raise storage_error(error, target.path) from None
            counts[table] = target._q(f"SELECT count(*) FROM {table}").fetchone()[0]
            if counts[table] != source.count_rows(table):
                raise StorageError(f"copying {table} went wrong: the counts differ; nothing copied")
        for table in ("tickets", "appointments", "events", "device_tokens"):
            target._q(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(max(id), 0) + 1 FROM {table}), false)"
            )
    return counts
