"""An office on a PostgreSQL server under load: many kiosks and counters at once, and
connections killed in the middle of issuing. Nothing is doubled, lost or shown as an error."""

from __future__ import annotations

import multiprocessing
import random
import time
import traceback
from contextlib import suppress

import psycopg
import pytest

from loket.engine import Engine
from loket.errors import Refused, StorageError
from tests.invariants import check_invariants
from tests.test_concurrency import (
    TIMEOUT,
    called_once_at_one_counter,
    counters_hold_one_visitor_at_a_time,
    duplicates,
    fresh_office,
    numbers_have_no_gaps,
    run_all,
)

pytestmark = pytest.mark.slow

KIOSKS, COUNTERS = 8, 12
RACE_SECONDS = 4
KILLED_TICKETS = 200


def as_device(url: str, name: str) -> str:
    """The URL with an application name, so that the test can find the device's connection."""
    return f"{url}&application_name={name}"


# the kiosk and counter processes (module level, so that spawned processes can import them)


def kiosk(url, seed, start, results) -> None:
    """Issue tickets until time is up; some with a request key, sent again as a retry would."""
    rng, issued, refused, errors = random.Random(seed), [], 0, []
    try:
        with Engine(url, create=False) as engine:
            start.wait(TIMEOUT)
            deadline = time.monotonic() + RACE_SECONDS
            while time.monotonic() < deadline and len(errors) < 10:
                key = f"kiosk{seed}-{len(issued)}" if rng.random() < 0.3 else None
                try:
                    service, priority = rng.choice("ABC"), rng.random() < 0.15
                    ticket = engine.issue_ticket(service, priority, request_key=key).ticket
                    issued.append((ticket.id, ticket.number))
                    if key and rng.random() < 0.5:
                        again = engine.issue_ticket(service, priority, request_key=key).ticket
                        if (again.id, again.number) != (ticket.id, ticket.number):
                            errors.append(
                                f"retry of {key} gave {again.number}, not {ticket.number}"
                            )
                except Refused:
                    refused += 1
                except Exception:
                    errors.append(traceback.format_exc())
    except Exception:
        errors.append(traceback.format_exc())
    results.put(("kiosk", seed, issued, errors))


def counter_desk(url, counter, start, results) -> None:
    """A clerk's app: open the desk, then call, finish and mark no-shows until time is up."""
    rng, called, errors = random.Random(counter), [], []
    try:
        with Engine(url, create=False) as engine:
            engine.open_desk(counter, session=f"race-{counter}")
            start.wait(TIMEOUT)
            deadline = time.monotonic() + RACE_SECONDS
            while time.monotonic() < deadline and len(errors) < 10:
                action = rng.choice(["call_next", "call_next", "call_next", "finish", "no_show"])
                try:
                    if action == "call_next":
                        call = engine.call_next(counter)
                        if call.called is not None:
                            called.append(call.called.number)
                    else:
                        getattr(engine, action)(counter)
                except Refused:
                    pass  # nobody at the desk to finish: the clerk is told so
                except Exception:
                    errors.append(traceback.format_exc())
    except Exception:
        errors.append(traceback.format_exc())
    results.put(("counter", counter, called, errors))


def retrying_kiosk(url, results) -> None:
    """Issue KILLED_TICKETS tickets, each with its own request key; a lost connection is
    retried, with a new engine, with the same key, until the kiosk has its ticket."""
    issued, lost, errors, engine = {}, 0, [], None
    try:
        for n in range(KILLED_TICKETS):
            key = f"tap-{n}"
            while key not in issued and len(errors) < 10:
                try:
                    engine = engine or Engine(url, create=False)
                    issued[key] = engine.issue_ticket("A", request_key=key).ticket.number
                except StorageError:
                    lost += 1
                    with suppress(Exception):
                        engine.close(checkpoint=False)
                    engine = None
                except Exception:
                    errors.append(traceback.format_exc())
    finally:
        if engine is not None:
            engine.close()
        results.put((issued, lost, errors))


# the tests


def test_eight_kiosks_and_twelve_counters_on_a_server_never_double_or_lose_a_ticket(pg_cluster):
    url = pg_cluster.create_database()
    fresh_office(url, COUNTERS)
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(KIOSKS + COUNTERS), ctx.Queue()
    counters = [str(n) for n in range(1, COUNTERS + 1)]
    processes = [
        ctx.Process(target=kiosk, args=(url, seed, start, results)) for seed in range(KIOSKS)
    ] + [ctx.Process(target=counter_desk, args=(url, c, start, results)) for c in counters]
    messages = run_all(ctx, processes, results)

    errors = [error for *_, errs in messages for error in errs]
    assert not errors, "\n".join(errors)
    issued = {t for kind, _, tickets, _ in messages if kind == "kiosk" for t in tickets}
    called = [n for kind, _, numbers, _ in messages if kind == "counter" for n in numbers]
    assert issued and called  # the race really ran
    assert not duplicates([number for _, number in issued]) and not duplicates(called)

    with Engine(url, create=False) as engine:
        check_invariants(engine)
        tickets = engine.store.all_tickets()
        events = engine.store.events_after(0, limit=10**9)
    assert {(t.id, t.number) for t in tickets} == issued  # each one a kiosk got, none other
    numbers_have_no_gaps(tickets)
    called_once_at_one_counter([t for t in tickets if t.first_called_at], events, counters)
    counters_hold_one_visitor_at_a_time(events)


def test_a_kiosk_whose_connection_is_killed_mid_issue_gets_each_ticket_once(pg_cluster):
    url = pg_cluster.create_database()
    fresh_office(url)
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    process = ctx.Process(target=retrying_kiosk, args=(as_device(url, "kiosk"), results))
    process.start()
    kills = 0
    with psycopg.connect(pg_cluster.url(), autocommit=True) as killer:
        while process.is_alive() and results.empty():
            # Only a connection inside a statement or a transaction: the kiosk is mid-issue.
            rows = killer.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'kiosk' AND state <> 'idle'"
            ).fetchall()
            kills += sum(killed for (killed,) in rows)
            time.sleep(random.uniform(0.005, 0.05))
    issued, lost, errors = results.get(timeout=TIMEOUT)
    process.join(TIMEOUT)

    assert not errors, "\n".join(errors)
    assert kills and lost, (kills, lost)  # the kiosk did lose connections mid-issue
    assert len(issued) == KILLED_TICKETS
    with Engine(url, create=False) as engine:
        check_invariants(engine)
        tickets = engine.store.all_tickets()
        again = {key: engine.issue_ticket("A", request_key=key).ticket.number for key in issued}
    assert sorted(t.number for t in tickets) == sorted(issued.values())  # none lost or doubled
    numbers_have_no_gaps(tickets)
    assert again == issued  # a retry, however late, gets the first ticket back
