"""Several kiosks and counters in separate processes on one database, all at once."""

from __future__ import annotations

import multiprocessing
import random
import time
import traceback
from collections import Counter, defaultdict

import pytest

from loket.config import default_config_text
from loket.engine import Engine
from loket.errors import Refused
from loket.model import CALLED, DONE, NO_SHOW
from tests.invariants import check_invariants

pytestmark = pytest.mark.backends

ISSUERS, TICKETS_EACH, SERVING_COUNTERS = 4, 150, ("1", "2", "3")
RACERS = 8
TIMEOUT = 60


def office_text(counters: int = RACERS) -> str:
    """The demo office without C's daily limit (the kiosks issue more than 40 C tickets), with
    more counters (serving A, B and C) so that each process races from a counter of its own."""
    extra = "".join(
        f'\n[[counters]]\nid = "{n}"\nname = "Loket {n}"\nservices = ["A", "B", "C"]\n'
        for n in range(5, counters + 1)
    )
    return default_config_text().replace("daily_limit = 40", "") + extra


def fresh_office(path, counters: int = RACERS) -> None:
    with Engine(path) as engine:
        engine.init(office_text(counters))


def run_all(ctx, processes, results) -> list:
    """Start the processes, wait for one message from each, and make sure they all ended."""
    for process in processes:
        process.start()
    messages = [results.get(timeout=TIMEOUT) for _ in processes]
    for process in processes:
        process.join(timeout=TIMEOUT)
        if process.is_alive():
            process.terminate()
    assert all(p.exitcode == 0 for p in processes), [p.exitcode for p in processes]
    return messages


# the kiosk and counter processes (module level, so that spawned processes can import them)


def kiosk(path, seed, start, issuers_done, results) -> None:
    """Issue TICKETS_EACH tickets as fast as possible over A, B and C, some with priority."""
    rng, numbers, errors = random.Random(seed), [], []
    try:
        with Engine(path) as engine:
            start.wait(TIMEOUT)
            for _ in range(TICKETS_EACH):
                try:
                    service, priority = rng.choice("ABC"), rng.random() < 0.15
                    numbers.append(engine.issue_ticket(service, priority=priority).ticket.number)
                except Exception:
                    errors.append(traceback.format_exc())
    except Exception:
        errors.append(traceback.format_exc())
    finally:
        with issuers_done.get_lock():
            issuers_done.value += 1
        results.put(("kiosk", seed, numbers, errors))


def counter_desk(path, counter, start, issuers_done, results) -> None:
    """Call, then finish (done) or mark no-show, until the kiosks stopped and the line is empty."""
    rng, called, errors = random.Random(counter), [], []
    try:
        with Engine(path) as engine:
            start.wait(TIMEOUT)
            while len(errors) < 10:
                # Read before calling: an empty line after the kiosks stopped stays empty.
                kiosks_stopped = issuers_done.value == ISSUERS
                try:
                    call = engine.call_next(counter)
                    if call.called is not None:
                        called.append(call.called.number)
                        if rng.random() < 0.2:
                            engine.no_show(counter, call.called.number)
                    elif kiosks_stopped:
                        break
                    else:
                        time.sleep(0.002)
                except Exception:
                    errors.append(traceback.format_exc())
    except Exception:
        errors.append(traceback.format_exc())
    results.put(("counter", counter, called, errors))


def racer(path, counter, start, results) -> None:
    """Call ticket A001 at this counter, at the same moment as every other racer."""
    try:
        with Engine(path) as engine:
            start.wait(TIMEOUT)
            try:
                engine.call_number(counter, "A001")
                results.put((counter, "called", None))
            except Refused as refusal:
                results.put((counter, "refused", str(refusal)))
    except Exception:
        results.put((counter, "error", traceback.format_exc()))


# the tests


def test_four_kiosks_and_three_counters_at_once_never_duplicate_or_double_call(db_path):
    """4 kiosk processes issue while 3 counter processes serve; nothing is lost or doubled."""
    path = str(db_path)
    fresh_office(path)
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(ISSUERS + len(SERVING_COUNTERS)), ctx.Queue()
    issuers_done = ctx.Value("i", 0)
    processes = [
        ctx.Process(target=kiosk, args=(path, seed, start, issuers_done, results))
        for seed in range(ISSUERS)
    ] + [
        ctx.Process(target=counter_desk, args=(path, counter, start, issuers_done, results))
        for counter in SERVING_COUNTERS
    ]
    messages = run_all(ctx, processes, results)

    errors = [error for *_, errs in messages for error in errs]
    assert not errors, "\n".join(errors)
    issued = [n for kind, _, numbers, _ in messages if kind == "kiosk" for n in numbers]
    called = [n for kind, _, numbers, _ in messages if kind == "counter" for n in numbers]
    assert len(issued) == ISSUERS * TICKETS_EACH
    assert not duplicates(issued) and not duplicates(called)
    assert sorted(called) == sorted(issued)

    with Engine(path) as engine:
        check_invariants(engine)
        tickets = engine.store.all_tickets()
        events = engine.store.events_after(0, limit=10**9)
    assert len(tickets) == ISSUERS * TICKETS_EACH
    numbers_have_no_gaps(tickets)
    assert {t.status for t in tickets} <= {DONE, NO_SHOW}
    called_once_at_one_counter(tickets, events)
    counters_hold_one_visitor_at_a_time(events)


def duplicates(numbers) -> list:
    return [n for n, count in Counter(numbers).items() if count > 1]


def numbers_have_no_gaps(tickets) -> None:
    """Each series today is exactly 1..k."""
    seqs = defaultdict(list)
    for ticket in tickets:
        seqs[ticket.series].append(ticket.seq)
    for series, numbers in seqs.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"series {series}: {numbers}"


def called_once_at_one_counter(tickets, events, counters=SERVING_COUNTERS) -> None:
    """From the events table: every ticket has exactly one call, at one of the `counters`."""
    calls = defaultdict(list)
    for event in events:
        if event.action == "call":
            calls[event.ticket_id].append(event.counter)
    for ticket in tickets:
        assert len(calls[ticket.id]) == 1, f"{ticket.number} called at {calls[ticket.id]}"
        assert calls[ticket.id][0] in counters and calls[ticket.id] == [ticket.counter]


def counters_hold_one_visitor_at_a_time(events) -> None:
    """From the events table: a counter calls nobody while the visitor it called is still there."""
    holding = {}
    for event in events:
        if event.counter is None or event.ticket_id is None:
            continue
        if event.action == "call":
            held = holding.get(event.counter)
            assert held is None, f"counter {event.counter} called {event.number} holding {held}"
            holding[event.counter] = event.number
        elif event.from_state == CALLED and event.to_state != CALLED:
            assert holding.get(event.counter) == event.number, f"{event} at an idle counter"
            holding[event.counter] = None


def test_eight_counters_calling_the_same_number_at_once_only_one_gets_it(db_path):
    """Eight processes call A001 at the same moment: one wins, seven are refused."""
    path = str(db_path)
    fresh_office(path)
    with Engine(path) as engine:
        assert engine.issue_ticket("A").ticket.number == "A001"
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(RACERS), ctx.Queue()
    counters = [str(n) for n in range(1, RACERS + 1)]
    processes = [
        ctx.Process(target=racer, args=(path, counter, start, results)) for counter in counters
    ]
    outcomes = run_all(ctx, processes, results)

    errors = [detail for _, outcome, detail in outcomes if outcome == "error"]
    assert not errors, "\n".join(errors)
    winners = [counter for counter, outcome, _ in outcomes if outcome == "called"]
    assert len(winners) == 1, outcomes
    with Engine(path) as engine:
        check_invariants(engine)
        ticket = engine.ticket("A001")
        calls = engine.store.events_after(0, actions=["call"], limit=10**9)
        holders = [c for c, (_, held) in engine.store.counters().items() if held == ticket.id]
    assert (ticket.status, ticket.counter, holders) == ("called", winners[0], winners)
    assert [(e.ticket_id, e.counter) for e in calls] == [(ticket.id, winners[0])]
