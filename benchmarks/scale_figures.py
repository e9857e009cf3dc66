"""A busy day: issue, call, desk() and status() with many tickets waiting and served today.

Two offices are built with SQL (one transaction each): 1,000 tickets waiting and 1,000
served today, and 100,000 of each. Half of the waiting tickets are for C, which counter 1
does not serve, and arrived first; the rest alternate A and B. Each operation is timed on
both in alternating chunks, the write-ahead log emptied (checkpoint TRUNCATE) before each
chunk, so both start from the same log state. A second pass on the large office wraps the connection to
tell where an operation's time goes: the COMMIT (log write and fsync), the other SQL
statements (with fetching their rows), and the rest (Python).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from loket.config import default_config_text
from loket.engine import Engine

SIZES = (1_000, 100_000)
SAMPLES = 300
CHUNKS = 6
START = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # a Tuesday, noon in Brussels
OPERATIONS: dict[str, Callable[[Engine, int], object]] = {
    "issue": lambda engine, n: engine.issue_ticket("AB"[n % 2]),
    "call": lambda engine, n: engine.call_next("1"),  # also finishes counter 1's last ticket
    "desk()": lambda engine, n: engine.desk("1"),
    "status()": lambda engine, n: engine.status(),
}

TICKET = (
    "INSERT INTO tickets (series, service_day, seq, number, service, kind, priority, status, "
    "arrived_at, counter, first_called_at, called_at, finished_at) "
    "VALUES (?, ?, ?, ?, ?, 'walk_in', 0, ?, ?, ?, ?, ?, ?)"
)
EVENT = (
    "INSERT INTO events (at, action, ticket_id, from_state, to_state, counter, service) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


class Ticking:
    """A clock that moves a millisecond each time it is read: the day never changes."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def busy_office(path: str, size: int) -> Engine:
    """An office with `size` tickets served this morning and `size` waiting now."""
    engine = Engine(path, clock=Ticking())
    engine.init(default_config_text().replace("daily_limit = 40", ""))
    day, seqs = engine.today(), {"A": 0, "B": 0, "C": 0}

    def number(service: str) -> tuple:
        seqs[service] += 1
        seq = seqs[service]
        return (service, day, seq, engine.office.format_number(service, seq), service)

    served_from, waiting_from = START - timedelta(hours=4), START - timedelta(hours=2)
    with engine.store.write() as store:
        conn = store.conn
        for n in range(size):
            service = "ABC"[n % 3]
            arrived = served_from + timedelta(seconds=7200 * n / size)
            called, done = arrived + timedelta(minutes=3), arrived + timedelta(minutes=11)
            counter = {"A": "1", "B": "3", "C": "2"}[service]
            row = (*number(service), "called", stamp(arrived), counter, stamp(called))
            ticket = conn.execute(TICKET, (*row, stamp(called), stamp(done))).lastrowid
            conn.executemany(
                EVENT,
                [
                    (stamp(arrived), "issue", ticket, None, "waiting", None, service),
                    (stamp(called), "call", ticket, "waiting", "called", counter, service),
                    (stamp(done), "done", ticket, "called", "done", counter, service),
                ],
            )
        # Served as an update, so the triggers count them as a counter's served tickets.
        conn.execute("UPDATE tickets SET status = 'done' WHERE status = 'called'")
        for n in range(size):
            service = "C" if n < size // 2 else "AB"[n % 2]
            arrived = stamp(waiting_from + timedelta(seconds=7200 * n / size))
            row = (*number(service), "waiting", arrived, None, None, None, None)
            ticket = conn.execute(TICKET, row).lastrowid
            conn.execute(EVENT, (arrived, "issue", ticket, None, "waiting", None, service))
        # Each series' last number, as issuing keeps it (the next ticket's number comes from it).
        conn.execute(
            "INSERT INTO numbers (series, service_day, last) "
            "SELECT series, service_day, MAX(seq) FROM tickets GROUP BY series, service_day"
        )
    return engine


def empty_log(engine: Engine) -> None:
    engine.store.empty_log()


def timed(engines: dict[int, Engine], operation: Callable, samples: int) -> dict[int, list]:
    """Milliseconds of each of `samples` runs of `operation` on each office.

    The offices take turns in chunks (small first, then large first), each chunk starting
    from an emptied log, so neither gains from the machine's moods or a grown log.
    """
    times: dict[int, list[float]] = {size: [] for size in engines}
    order = sorted(engines)
    for engine in engines.values():
        for n in range(5):  # warm: caches, prepared statements
            operation(engine, n)
    for chunk in range(CHUNKS):
        for size in order if chunk % 2 == 0 else reversed(order):
            engine = engines[size]
            empty_log(engine)
            for n in range(samples // CHUNKS):
                began = time.perf_counter()
                operation(engine, n)
                times[size].append((time.perf_counter() - began) * 1000)
    return times


class TimedCursor:
    """A cursor whose row fetching counts as SQL time."""

    def __init__(self, cursor, seconds: dict[str, float]) -> None:
        self._cursor, self._seconds = cursor, seconds

    def _timed(self, method, *args):
        began = time.perf_counter()
        try:
            return method(*args)
        finally:
            self._seconds["sql"] += time.perf_counter() - began

    def fetchone(self):
        return self._timed(self._cursor.fetchone)

    def fetchall(self):
        return self._timed(self._cursor.fetchall)

    def fetchmany(self, *args):
        return self._timed(self._cursor.fetchmany, *args)

    def __iter__(self):
        return iter(self.fetchall())

    def __getattr__(self, name):
        return getattr(self._cursor, name)


class TimedConnection:
    """Stands in for the store's connection and adds up the time its statements take."""

    def __init__(self, conn) -> None:
        self._conn = conn
        self.seconds = {"commit": 0.0, "sql": 0.0}

    def execute(self, sql: str, *args):
        kind = "commit" if sql.lstrip().upper().startswith("COMMIT") else "sql"
        began = time.perf_counter()
        try:
            return TimedCursor(self._conn.execute(sql, *args), self.seconds)
        finally:
            self.seconds[kind] += time.perf_counter() - began

    def executemany(self, sql: str, *args):
        began = time.perf_counter()
        try:
            return self._conn.executemany(sql, *args)
        finally:
            self.seconds["sql"] += time.perf_counter() - began

    def __getattr__(self, name):
        return getattr(self._conn, name)


def where_time_goes(engine: Engine, operation: Callable, samples: int) -> dict[str, float]:
    """Shares of an operation's time (COMMIT, other SQL, Python), its mean in ms, and its
    slowest runs: the p99 run's time and how much of it was the COMMIT."""
    empty_log(engine)
    plain = engine.store.conn
    timed_conn = TimedConnection(plain)
    engine.store.conn = timed_conn
    runs = []  # (seconds, of which COMMIT)
    try:
        for n in range(samples):
            began, committing = time.perf_counter(), timed_conn.seconds["commit"]
            operation(engine, n)
            runs.append((time.perf_counter() - began, timed_conn.seconds["commit"] - committing))
    finally:
        engine.store.conn = plain
    total = sum(seconds for seconds, _ in runs)
    commit, sql = timed_conn.seconds["commit"], timed_conn.seconds["sql"]
    slow, slow_commit = sorted(runs)[max(0, round(len(runs) * 0.99) - 1)]
    return {
        "commit": commit / total,
        "sql": sql / total,
        "python": max(0.0, total - commit - sql) / total,
        "mean_ms": total / samples * 1000,
        "p99_ms": slow * 1000,
        "p99_commit_ms": slow_commit * 1000,
    }


def measure(folder: str, sizes=SIZES, samples: int = SAMPLES) -> dict:
    """{operation: {size: milliseconds}} and {operation: shares} for the largest size."""
    engines = {size: busy_office(f"{folder}/busy-{size}.db", size) for size in sizes}
    try:
        latencies = {
            name: timed(engines, operation, samples) for name, operation in OPERATIONS.items()
        }
        largest = engines[max(sizes)]
        shares = {
            name: where_time_goes(largest, operation, samples // 3)
            for name, operation in OPERATIONS.items()
        }
    finally:
        for engine in engines.values():
            engine.close()
    return {"latencies": latencies, "shares": shares, "sizes": sizes, "samples": samples}


if __name__ == "__main__":
    import sys
    import tempfile

    sizes = (1_000, int(sys.argv[1])) if len(sys.argv) > 1 else SIZES
    with tempfile.TemporaryDirectory(prefix="loket-scale-") as folder:
        figures = measure(folder, sizes)
    for name, by_size in figures["latencies"].items():
        p99 = {
            size: sorted(values)[int(len(values) * 0.99) - 1] for size, values in by_size.items()
        }
        print(name, {size: f"{ms:.2f} ms" for size, ms in p99.items()}, figures["shares"][name])
