"""Loket's performance goals, measured: `make bench` prints a Markdown table and saves it.

1. Issuing tickets from 1 and from 8 processes at once, next to the raw SQLite ceiling
   (one-row BEGIN IMMEDIATE transactions with the same pragmas): the best raw rate of any
   process count in the same round, rounds alternating which goes first.
2. The latency of a counter's call with 1,000 and 100,000 tickets in the database.
3. A busy day: issue, call, desk() and status() with 100,000 tickets waiting and 100,000
   served today, next to 1,000 + 1,000, and where each operation's time goes
   (scale_figures.py).
4. The start-up time of the `loket ticket` command.
5. The kiosk: a tap to the ticket on screen, cold start, and the speech key to first sound
   (kiosk_figures.py).
6. The display: a counter's call to the display's screen, and memory (display_figures.py).
7. A kiosk issuing while a 250,000-row appointments import runs (import_figures.py).
8. `loket simulate`: 100 simulated days of a 150-visitor office (simulate_figures.py).
9. The ticket's promise and the calling rule's fairness on the real engine, four scenarios,
   beside the figures before issue 11 (promise_figures.py, promise_before.json).
10. The same office on PostgreSQL: issuance beside a raw ceiling, calls, round trips per
   operation and the call to the display (pg_figures.py, a throwaway durable server).
11. `loket serve`: /api/v1/services requests per second beside a plain Starlette hello, 300
   phones following their tickets, and a call to the browser's DOM (web_figures.py).

BENCH_QUICK=1 runs every part with smaller sizes and fewer samples (under a minute or two),
to try the benchmark; its figures are not the goals' measurements.
"""

from __future__ import annotations

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
import import_figures
import kiosk_figures
import pg_figures
import promise_figures
import scale_figures
import simulate_figures
import web_figures
from timing import figure_table, process_times, race, span

from loket.config import default_config_text
from loket.engine import Engine
from loket.storage import BUSY_TIMEOUT_MS, WAL_SAFETY_PAGES

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
PROCESSES, TICKETS_EACH, ROUNDS = 8, 300, 5
CALLS = 500
WAITING_TODAY = 700
HISTORY_SIZES = (1_000, 100_000)
STARTUP_RUNS = 20
IMPORT_ROWS = 250_000
if QUICK:
    IMPORT_ROWS = 20_000
    TICKETS_EACH, ROUNDS, CALLS, STARTUP_RUNS = 100, 1, 100, 5
    HISTORY_SIZES = (1_000, 10_000)
    scale_figures.SIZES, scale_figures.SAMPLES = (1_000, 10_000), 60
    kiosk_figures.TAPS, kiosk_figures.COLD_STARTS = 10, 3
    kiosk_figures.SPEECH_KEYS = 10
    display_figures.CALLS, display_figures.MEMORY_CALLS = 20, 2_000


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
    reports = race(worker, path, processes, TICKETS_EACH)
    return processes * TICKETS_EACH / span(reports), sum(r[2] for r in reports)


def duplicate_numbers(path: str) -> int:
    with Engine(path) as engine:
        tickets = engine.store.all_tickets()
    return len(tickets) - len({(t.series, t.service_day, t.seq) for t in tickets})


def issuance_round(folder: str, round_: int) -> tuple[dict[str, float], int, int]:
    """One round on fresh files: {"raw 1": rate, ...}, duplicate numbers, errors.

    Even rounds measure raw SQLite first, odd rounds Loket first, so that neither always
    meets the warmer (or the busier) machine.
    """
    rates, duplicates, errors = {}, 0, 0
    kinds = ("raw", "loket", "rows") if round_ % 2 == 0 else ("loket", "rows", "raw")
    for kind in kinds:
        for processes in (1, PROCESSES):
            if kind == "rows" and processes == 1:
                continue
            name = f"{kind}-{round_}-{processes}.db"
            if kind == "raw":
                rate, failed = throughput(raw_worker, raw_database(folder, name), processes)
            elif kind == "rows":
                rate, failed = throughput(rows_worker, fresh_office(folder, name), processes)
            else:
                path = fresh_office(folder, name)
                rate, failed = throughput(issue_worker, path, processes)
                duplicates += duplicate_numbers(path)
            rates[f"{kind} {processes}"] = rate
            errors += failed
    return rates, duplicates, errors


def measure_issuance(folder: str) -> dict:
    """Each rate's median over ROUNDS, and Loket's ratios to the raw ceiling.

    The ceiling of a round is the best raw rate of any process count in that round: raw
    writers from 8 processes lose time to SQLite's busy waits, so the 8-process raw rate
    is no ceiling. A ratio is the median of the per-round ratios; a round in which Loket
    beats its ceiling can only be the machine's noise, and is named.
    """
    rounds, duplicates, errors = [], 0, 0
    for round_ in range(ROUNDS):
        rates, doubled, failed = issuance_round(folder, round_)
        rounds.append(rates)
        duplicates, errors = duplicates + doubled, errors + failed
    ceilings = [max(rates["raw 1"], rates[f"raw {PROCESSES}"]) for rates in rounds]
    result = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    for key in ("loket 1", f"loket {PROCESSES}", f"rows {PROCESSES}"):
        ratios = [rates[key] / ceiling for rates, ceiling in zip(rounds, ceilings, strict=True)]
        result[f"ratio {key}"] = statistics.median(ratios)
    result["ceiling"] = statistics.median(ceilings)
    result["noise"] = [
        n + 1
        for n, (rates, ceiling) in enumerate(zip(rounds, ceilings, strict=True))
        if max(rates["loket 1"], rates[f"loket {PROCESSES}"]) > ceiling
    ]
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
        # Both sizes start from an empty log: a grown log makes commits cheaper (its pages
        # are overwritten, the file does not grow), which once made 100,000 look faster.
        engine.store.empty_log()
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


def issuance_rows(issuance: dict) -> list[tuple[str, str, str, str]]:
    """Tickets per second and their ratios to the round's raw ceiling."""

    def rate(key: str) -> str:
        return f"{issuance[key]:.0f} ({issuance[f'ratio {key}']:.2f})"

    clean = issuance["duplicates"] == 0 and issuance["errors"] == 0
    ratio = issuance[f"ratio loket {PROCESSES}"]
    noise = ", ".join(map(str, issuance["noise"])) or "none"
    return [
        (
            "Raw SQLite ceiling: best of 1 and 8 processes (raw 1; raw 8), tickets/s",
            f"{issuance['ceiling']:.0f} ({issuance['raw 1']:.0f}; "
            f"{issuance[f'raw {PROCESSES}']:.0f})",
            "",
            "",
        ),
        ("Tickets/s, 1 process (ratio to ceiling)", rate("loket 1"), "", ""),
        (
            f"Tickets/s, {PROCESSES} processes (ratio to ceiling)",
            rate(f"loket {PROCESSES}"),
            "ratio ≥ 0.50",
            verdict(ratio >= 0.5),
        ),
        (
            f"Same rows as plain SQL, {PROCESSES} processes (ratio to ceiling)",
            rate(f"rows {PROCESSES}"),
            "",
            "",
        ),
        ("Rounds in which Loket beat its ceiling (noise)", noise, "", ""),
        (
            "Duplicate numbers / errors",
            f"{issuance['duplicates']} / {issuance['errors']}",
            "0 / 0",
            verdict(clean),
        ),
    ]


def call_rows(small: list[float], large: list[float], checkpoint: float) -> list[tuple]:
    """A counter's call with a day's line and a long history, at two history sizes."""
    few, many = (f"{size:,}" for size in HISTORY_SIZES)
    growth = statistics.median(large) / statistics.median(small)
    return [
        (f"Call, {few} tickets: p50 / p99", spread(small, 50, 99), "", ""),
        (
            f"Call, {many} tickets: p50 / p99",
            spread(large, 50, 99),
            "p99 < 1 ms",
            verdict(percentile(large, 99) < 1),
        ),
        (f"Call, {many} tickets: slowest of the run", f"{max(large):.2f} ms", "", ""),
        (f"Call p50, {many} / {few} tickets", f"{growth:.2f}x", "≤ 1.5x", verdict(growth <= 1.5)),
        ("Idle checkpoint after the calls (off the call path)", f"{checkpoint:.1f} ms", "", ""),
    ]


def scale_rows(scale: dict) -> list[tuple[str, str, str, str]]:
    """A busy day: p99 of each operation at both sizes; then where its time goes."""
    small, large = scale["sizes"]
    rows, shares = [], []
    for name, by_size in scale["latencies"].items():
        low, high = percentile(by_size[small], 99), percentile(by_size[large], 99)
        typical = f"p50 {percentile(by_size[small], 50):.2f} / {percentile(by_size[large], 50):.2f}"
        rows.append(
            (
                f"Busy day, {name}: {small:,} / {large:,} waiting and served today, p99",
                f"{low:.2f} / {high:.2f} ms ({high / low:.2f}x; {typical})",
                "p99 < 2 ms, ≤ 1.5x",
                verdict(high < 2 and high / low <= 1.5),
            )
        )
        part = scale["shares"][name]
        shares.append(
            (
                f"Where {name}'s time goes at {large:,}: mean; p99 run",
                f"COMMIT {part['commit']:.0%} · other SQL {part['sql']:.0%} · "
                f"Python {part['python']:.0%} of {part['mean_ms']:.2f} ms; "
                f"{part['p99_ms']:.2f} ms, COMMIT {part['p99_commit_ms']:.2f} ms of it",
                "",
                "",
            )
        )
    return rows + shares


def import_rows(imported: dict) -> list[tuple[str, str, str, str]]:
    """A kiosk's tickets during a large import, and where the import's time goes."""
    waits = imported["waits"]
    return [
        (
            f"Kiosk tickets during a {imported['rows']:,}-row import: refused; wait p50 / p95 / max",
            f"{imported['refused']}; {percentile(waits, 50):.0f} / {percentile(waits, 95):.0f} / "
            f"{max(waits):.0f} ms ({len(waits)} tickets)",
            "0 refused, max < 1 s",
            verdict(imported["refused"] == 0 and max(waits) < 1000),
        ),
        (
            "Where the import's time goes (a re-import in one process)",
            f"parse and check {imported['parse']:.1f} s, write {imported['write']:.1f} s; "
            f"{imported['seconds']:.1f} s in all beside the kiosk",
            "",
            "",
        ),
    ]


def report(
    issuance: dict,
    small: list[float],
    large: list[float],
    checkpoint: float,
    scale: dict,
    startup: dict[str, list[float]],
    kiosk: dict[str, list[float]],
    display: dict,
    imported: dict,
    simulated: dict,
) -> str:
    machine = (
        f"{len(os.sched_getaffinity(0))} CPUs ({platform.machine()}), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    rss = display["rss_mib"]
    ticket = statistics.median(startup["ticket"])
    rows = [
        *issuance_rows(issuance),
        *call_rows(small, large, checkpoint),
        *scale_rows(scale),
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
            "Kiosk speech key to first sound (espeak-ng): p50 / p95",
            spread(kiosk["speech"], 50, 95, 1),
            "p95 < 300 ms",
            verdict(percentile(kiosk["speech"], 95) < 300),
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
        *import_rows(imported),
        *simulate_figures.rows(simulated),
    ]
    quick = "QUICK RUN (BENCH_QUICK): smaller sizes, fewer samples; not the goals' figures. "
    lines = [
        f"# Loket benchmark, {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        "",
        f"Machine: {machine}.",
        f"{quick if QUICK else ''}"
        f"Issuance: {PROCESSES} x {TICKETS_EACH} tickets (A, B, C), {ROUNDS} rounds on fresh "
        "files, alternating which goes first; ratios are medians of each round's ratio to that "
        f"round's best raw rate. Calls: {CALLS} at counter 1, {WAITING_TODAY} tickets issued "
        "today, the rest finished on earlier days, the log emptied before the calls. Busy day: "
        f"{scale['samples']} runs of each operation per size, in alternating chunks from an "
        "emptied log; COMMIT is the log write with its fsync, other SQL includes fetching rows, "
        f"Python is the rest. Start-up: {STARTUP_RUNS} runs each. Kiosk: "
        f"{kiosk_figures.TAPS} taps in a headless terminal, {kiosk_figures.COLD_STARTS} cold starts, "
        f"{kiosk_figures.SPEECH_KEYS} presses of the speech key. "
        f"Display: {display_figures.CALLS} calls from a counter process, one every "
        f"{display_figures.CALL_GAP_SECONDS[0]}-{display_figures.CALL_GAP_SECONDS[1]} s, to a "
        "headless display polling every 50 ms; memory as resident set size.",
        "",
        *figure_table(rows),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="loket-bench-") as folder:
        issuance = measure_issuance(folder)
        small, _ = call_latencies(folder, HISTORY_SIZES[0])
        large, checkpoint = call_latencies(folder, HISTORY_SIZES[1])
        scale = scale_figures.measure(folder, scale_figures.SIZES, scale_figures.SAMPLES)
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
    imported = import_figures.measure(IMPORT_ROWS)
    simulated = simulate_figures.measure()
    promise = promise_figures.measure(promise_figures.QUICK_DAYS if QUICK else promise_figures.DAYS)
    postgres = pg_figures.measure()
    web = web_figures.measure()
    text = report(
        issuance, small, large, checkpoint, scale, startup, kiosk, display, imported, simulated
    )
    text += "\n" + pg_figures.section(postgres)
    text += "\n" + web_figures.section(web)
    text += "\n" + promise_figures.section(promise, promise_figures.load_before())
    print(text)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / ("quick.md" if QUICK else "latest.md")).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
