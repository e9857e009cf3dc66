"""Loket's performance goals, measured: `make bench` prints a Markdown table and saves it.

1. Issuing tickets from 1 and from 8 processes at once, next to the raw SQLite ceiling
   (one-row BEGIN IMMEDIATE transactions with the same pragmas) measured in the same run.
2. The latency of a counter's call with 1,000 and 100,000 tickets in the database.
3. The start-up time of the `loket ticket` command.
4. The kiosk: a tap to the ticket on screen, and cold start (kiosk_figures.py).
5. The display: a counter's call to the display's screen, and memory (display_figures.py).
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import display_figures  # benchmarks/ is this script's folder
import kiosk_figures
from timing import process_times

from loket.config import default_config_text
from loket.engine import Engine
from loket.storage import BUSY_TIMEOUT_MS, WAL_SAFETY_PAGES

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PROCESSES, TICKETS_EACH, ROUNDS = 8, 300, 3
CALLS = 500
WAITING_TODAY = 700
STARTUP_RUNS = 20


def office_text() -> str:
    # Without C's daily limit of 40: the benchmark issues hundreds of C tickets.
    return default_config_text().replace("daily_limit = 40", "")


def fresh_office(folder: str, name: str) -> str:
    path = os.path.join(folder, name)
    with Engine(path) as engine:
        engine.init(office_text())
    return path


# 1. issuance throughput


def issue_worker(path, count, seed, start, results) -> None:
    """Issue `count` tickets over A, B, C; report (started, ended, errors)."""
    rng, errors = random.Random(seed), 0
    with Engine(path) as engine:
        start.wait()
        began = time.perf_counter()
        for _ in range(count):
            try:
                engine.issue_ticket(rng.choice("ABC"), priority=rng.random() < 0.1)
            except Exception:
                errors += 1
        results.put((began, time.perf_counter(), errors))


def raw_worker(path, count, seed, start, results) -> None:
    """The ceiling: one-row BEGIN IMMEDIATE; INSERT; COMMIT transactions, same pragmas as Loket."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_SAFETY_PAGES}")
    errors = 0
    start.wait()
    began = time.perf_counter()
    for n in range(count):
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (worker, n) VALUES (?, ?)", (seed, n))
            conn.execute("COMMIT")
        except sqlite3.Error:
            errors += 1
    results.put((began, time.perf_counter(), errors))
    conn.close()


def rows_worker(path, count, seed, start, results) -> None:
    """Loket's rows without Loket: the same number, ticket and event SQL in one transaction.

    Not a goal: it shows how much of the gap to the raw ceiling is the data itself
    (a ticket row with its indexes, and an event row) and how much is the engine.
    """
    rng = random.Random(seed)
    with Engine(path) as engine:
        conn, day = engine.store.conn, engine.today()
        start.wait()
        began = time.perf_counter()
        for _ in range(count):
            service = rng.choice("ABC")
            now = datetime.now(UTC).isoformat(timespec="microseconds")
            conn.execute("BEGIN IMMEDIATE")
            seq = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM tickets WHERE series = ? AND service_day = ?",
                (service, day),
            ).fetchone()[0]
            ticket_id = conn.execute(
                "INSERT INTO tickets (series, service_day, seq, number, service, kind, status, "
                "arrived_at) VALUES (?, ?, ?, ?, ?, 'walk_in', 'waiting', ?)",
                (service, day, seq, f"{service}{seq:03d}", service, now),
            ).lastrowid
            conn.execute(
                "INSERT INTO events (at, action, ticket_id, to_state, service) "
                "VALUES (?, 'issue', ?, 'waiting', ?)",
                (now, ticket_id, service),
            )
            conn.execute("COMMIT")
        results.put((began, time.perf_counter(), 0))


def raw_database(folder: str, name: str) -> str:
    path = os.path.join(folder, name)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, worker INTEGER, n INTEGER)")
    conn.close()
    return path


def throughput(worker, path: str, processes: int) -> tuple[float, int]:
    """Writes per second of `processes` workers started together; and their error count."""
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(processes), ctx.Queue()
    workers = [
        ctx.Process(target=worker, args=(path, TICKETS_EACH, seed, start, results))
        for seed in range(processes)
    ]
    for process in workers:
        process.start()
    reports = [results.get(timeout=300) for _ in workers]
    for process in workers:
        process.join()
    began = min(r[0] for r in reports)
    ended = max(r[1] for r in reports)
    return processes * TICKETS_EACH / (ended - began), sum(r[2] for r in reports)


def duplicate_numbers(path: str) -> int:
    with Engine(path) as engine:
        tickets = engine.store.all_tickets()
    return len(tickets) - len({(t.series, t.service_day, t.seq) for t in tickets})


def measure_issuance(folder: str) -> dict:
    """Median over ROUNDS of each figure, every round on fresh files."""
    runs = {"loket 1": [], "loket 8": [], "raw 1": [], "raw 8": [], "rows 8": []}
    duplicates = errors = 0
    for round_ in range(ROUNDS):
        for processes in (1, PROCESSES):
            path = fresh_office(folder, f"issue-{round_}-{processes}.db")
            rate, failed = throughput(issue_worker, path, processes)
            runs[f"loket {processes}"].append(rate)
            duplicates += duplicate_numbers(path)
            errors += failed
            raw = raw_database(folder, f"raw-{round_}-{processes}.db")
            rate, failed = throughput(raw_worker, raw, processes)
            runs[f"raw {processes}"].append(rate)
            errors += failed
        rate, _ = throughput(rows_worker, fresh_office(folder, f"rows-{round_}.db"), PROCESSES)
        runs[f"rows {PROCESSES}"].append(rate)
    result = {key: statistics.median(rates) for key, rates in runs.items()}
    return {**result, "duplicates": duplicates, "errors": errors}


# 2. call latency


TICKET_ROW = (
    "INSERT INTO tickets (id, series, service_day, seq, number, service, kind, priority, status, "
    "arrived_at, counter, first_called_at, called_at, finished_at) "
    "VALUES (?, ?, ?, ?, ?, ?, 'walk_in', 0, 'done', ?, ?, ?, ?, ?)"
)
EVENT_ROW = (
    "INSERT INTO events (at, action, ticket_id, from_state, to_state, counter, service) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
PER_DAY = 400


def old_ticket(engine: Engine, n: int, today: date) -> tuple[tuple, list[tuple]]:
    """The n-th finished ticket before today (PER_DAY a day), and its three events."""
    day = today - timedelta(days=1 + n // PER_DAY)
    service, seq, counter = "ABC"[n % 3], n % PER_DAY // 3 + 1, str(1 + n % 3)
    start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(
        hours=8, minutes=n % PER_DAY
    )
    arrived, called, finished = (
        (start + timedelta(minutes=m)).isoformat(timespec="microseconds") for m in (0, 7, 16)
    )
    ticket = (n + 1, service, day.isoformat(), seq, engine.office.format_number(service, seq))
    ticket += (service, arrived, counter, called, called, finished)
    events = [
        (arrived, "issue", n + 1, None, "waiting", None, service),
        (called, "call", n + 1, "waiting", "called", counter, service),
        (finished, "done", n + 1, "called", "done", counter, service),
    ]
    return ticket, events


def fill_history(engine: Engine, old_tickets: int) -> None:
    """Bulk-insert finished tickets of earlier days with their events, in one transaction."""
    today = date.fromisoformat(engine.today())
    rows = [old_ticket(engine, n, today) for n in range(old_tickets)]
    with engine.store.write() as store:
        store.conn.executemany(TICKET_ROW, [ticket for ticket, _ in rows])
        store.conn.executemany(EVENT_ROW, [event for _, events in rows for event in events])


def call_latencies(folder: str, total_tickets: int) -> tuple[list[float], float]:
    """Milliseconds of each of CALLS call_next at counter 1 (A, B), which also finishes the last.

    Also the milliseconds of the WAL checkpoint that a client runs when idle afterwards:
    Loket keeps checkpoints off the call path (see storage.WAL_SAFETY_PAGES).
    """
    path = fresh_office(folder, f"calls-{total_tickets}.db")
    with Engine(path) as engine:
        fill_history(engine, total_tickets - WAITING_TODAY)
        rng = random.Random(total_tickets)
        for _ in range(WAITING_TODAY):
            engine.issue_ticket(rng.choice("AAB"), priority=rng.random() < 0.1)
        latencies = []
        for _ in range(CALLS):
            began = time.perf_counter()
            call = engine.call_next("1")
            latencies.append((time.perf_counter() - began) * 1000)
            assert call.called is not None, "the line ran empty: WAITING_TODAY is too small"
        began = time.perf_counter()
        engine.checkpoint()
        checkpoint = (time.perf_counter() - began) * 1000
    return latencies, checkpoint


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


# 3. start-up time


# the report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def spread(values: list[float], low: int, high: int, digits: int = 2) -> str:
    """'p50 / p99' style: two percentiles in milliseconds."""
    return f"{percentile(values, low):.{digits}f} / {percentile(values, high):.{digits}f} ms"


def rates(issuance: dict, processes: int) -> tuple[str, float]:
    """'loket (raw; ratio)' tickets per second, and the ratio."""
    loket, raw = issuance[f"loket {processes}"], issuance[f"raw {processes}"]
    return f"{loket:.0f} ({raw:.0f}; {loket / raw:.2f})", loket / raw


def report(
    issuance: dict,
    small: list[float],
    large: list[float],
    checkpoint: float,
    startup: dict[str, list[float]],
    kiosk: dict[str, list[float]],
    display: dict,
) -> str:
    machine = (
        f"{len(os.sched_getaffinity(0))} CPUs ({platform.machine()}), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    one, _ = rates(issuance, 1)
    many, ratio = rates(issuance, PROCESSES)
    clean = issuance["duplicates"] == 0 and issuance["errors"] == 0
    rss = display["rss_mib"]
    growth = statistics.median(large) / statistics.median(small)
    ticket = statistics.median(startup["ticket"])
    rows = [
        ("Tickets/s, 1 process (raw SQLite; ratio)", one, "", ""),
        (
            f"Tickets/s, {PROCESSES} processes (raw SQLite; ratio)",
            many,
            "ratio ≥ 0.50",
            verdict(ratio >= 0.5),
        ),
        (
            f"Same rows as plain SQL, {PROCESSES} processes (ratio to raw)",
            f"{issuance[f'rows {PROCESSES}']:.0f} "
            f"({issuance[f'rows {PROCESSES}'] / issuance[f'raw {PROCESSES}']:.2f})",
            "",
            "",
        ),
        (
            "Duplicate numbers / errors",
            f"{issuance['duplicates']} / {issuance['errors']}",
            "0 / 0",
            verdict(clean),
        ),
        ("Call, 1,000 tickets: p50 / p99", spread(small, 50, 99), "", ""),
        (
            "Call, 100,000 tickets: p50 / p99",
            spread(large, 50, 99),
            "p99 < 1 ms",
            verdict(percentile(large, 99) < 1),
        ),
        ("Call, 100,000 tickets: slowest of the run", f"{max(large):.2f} ms", "", ""),
        ("Call p50, 100,000 / 1,000 tickets", f"{growth:.2f}x", "≤ 1.5x", verdict(growth <= 1.5)),
        ("Idle checkpoint after the calls (off the call path)", f"{checkpoint:.1f} ms", "", ""),
        (
            "`loket ticket A` start-up: median / p90",
            spread(startup["ticket"], 50, 90, 0),
            "median < 150 ms",
            verdict(ticket < 150),
        ),
        ("same, without bytecode cache", spread(startup["uncached"], 50, 90, 0), "", ""),
        ("`python -c pass` start-up: median / p90", spread(startup["bare"], 50, 90, 0), "", ""),
        *(
            (
                f"Kiosk tap to ticket painted, {size}: p50 / p95",
                spread(kiosk[f"tap {size}"], 50, 95, 1),
                "p95 < 50 ms",
                verdict(percentile(kiosk[f"tap {size}"], 95) < 50),
            )
            for size in ("80x24", "160x48")
        ),
        (
            "Kiosk cold start to first screen: median / p90",
            spread(kiosk["cold"], 50, 90, 0),
            "median < 1 s",
            verdict(statistics.median(kiosk["cold"]) < 1000),
        ),
        (
            "Call committed by a counter process to painted on the display: p50 / p95",
            spread(display["latencies"], 50, 95, 1),
            "p95 < 150 ms",
            verdict(percentile(display["latencies"], 95) < 150),
        ),
        (
            f"Display memory growth over {display_figures.MEMORY_CALLS:,} calls (RSS at start)",
            f"+{rss[2] - rss[0]:.1f} MiB ({rss[0]:.0f} MiB)",
            "< 5 MB",
            verdict((rss[2] - rss[0]) * 1.048576 < 5),
        ),
        (
            f"same, over the second {display_figures.MEMORY_CALLS // 2:,} calls only",
            f"+{rss[2] - rss[1]:.1f} MiB",
            "",
            "",
        ),
    ]
    lines = [
        f"# Loket benchmark, {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        "",
        f"Machine: {machine}.",
        f"Issuance: {PROCESSES} x {TICKETS_EACH} tickets (A, B, C), median of {ROUNDS} rounds on "
        f"fresh files. Calls: {CALLS} at counter 1, {WAITING_TODAY} tickets issued today, the "
        f"rest finished on earlier days. Start-up: {STARTUP_RUNS} runs each. Kiosk: "
        f"{kiosk_figures.TAPS} taps in a headless terminal, {kiosk_figures.COLD_STARTS} cold starts. "
        f"Display: {display_figures.CALLS} calls from a counter process, one every "
        f"{display_figures.CALL_GAP_SECONDS[0]}-{display_figures.CALL_GAP_SECONDS[1]} s, to a "
        "headless display polling every 50 ms; memory as resident set size.",
        "",
        "| Figure | Measured | Goal | Result |",
        "|---|---|---|---|",
        *(
            f"| {name} | {value} | {goal or '(reference)'} | {result} |"
            for name, value, goal, result in rows
        ),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="loket-bench-") as folder:
        issuance = measure_issuance(folder)
        small, _ = call_latencies(folder, 1_000)
        large, checkpoint = call_latencies(folder, 100_000)
        db = fresh_office(folder, "startup.db")
        pycache = os.path.join(folder, "pycache")
        loket_ticket = [str(BIN / "loket"), "ticket", "A", "--db", db]
        startup = {
            "ticket": process_times(loket_ticket, STARTUP_RUNS, pycache),
            "uncached": process_times(loket_ticket, STARTUP_RUNS, None),
            "bare": process_times([sys.executable, "-c", "pass"], STARTUP_RUNS, pycache),
        }
    kiosk = kiosk_figures.measure()
    display = display_figures.measure()
    text = report(issuance, small, large, checkpoint, startup, kiosk, display)
    print(text)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "latest.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
