"""What must hold in a Loket database after any sequence of operations, from any process."""

from __future__ import annotations

from collections import Counter, defaultdict

from loket.model import CALLED, DONE, NO_SHOW, STATES, WAITING

EVERY_EVENT = 10**9


def check_invariants(engine) -> None:
    """Assert every invariant of the database behind `engine`; the message names the culprit."""
    store = engine.store
    with store.read():
        tickets = store.all_tickets()
        counters = store.counters()
        events = store.events_after(0, limit=EVERY_EVENT)
        days = {t.service_day for t in tickets}
        lines = {day: store.line_counts(day) for day in days}
        served = {(day, c): store.served_count(c, day) for day in days for c in counters}
    by_id = {t.id: t for t in tickets}
    _numbers_are_unique(tickets)
    _counters_hold_called_tickets(counters, by_id)
    _every_called_ticket_is_held(tickets, counters)
    _fields_match_the_state(tickets, engine.office)
    _events_replay_to_the_tickets(tickets, events)
    _running_totals_match_the_tickets(tickets, lines, served)


def _numbers_are_unique(tickets) -> None:
    seen = Counter((t.series, t.service_day, t.seq) for t in tickets)
    doubles = [key for key, count in seen.items() if count > 1]
    assert not doubles, f"ticket numbers issued twice: {doubles}"
    printed = Counter((t.service_day, t.number) for t in tickets)
    doubles = [key for key, count in printed.items() if count > 1]
    assert not doubles, f"printed numbers issued twice: {doubles}"


def _counters_hold_called_tickets(counters, by_id) -> None:
    held = Counter(ticket_id for _, ticket_id in counters.values() if ticket_id is not None)
    doubles = [ticket_id for ticket_id, count in held.items() if count > 1]
    assert not doubles, f"tickets held by two counters: {doubles}"
    for counter_id, (state, ticket_id) in counters.items():
        assert state in ("open", "paused"), f"counter {counter_id} in state {state!r}"
        if ticket_id is None:
            continue
        ticket = by_id.get(ticket_id)
        assert ticket is not None, f"counter {counter_id} holds missing ticket {ticket_id}"
        assert ticket.status == CALLED, (
            f"counter {counter_id} holds {ticket.number} ({ticket.service_day}), "
            f"which is {ticket.status}"
        )
        assert ticket.counter == counter_id, (
            f"counter {counter_id} holds {ticket.number}, which says counter {ticket.counter}"
        )
        assert state == "open", f"paused counter {counter_id} holds {ticket.number}"


def _every_called_ticket_is_held(tickets, counters) -> None:
    holders = defaultdict(list)
    for counter_id, (_, ticket_id) in counters.items():
        holders[ticket_id].append(counter_id)
    for ticket in tickets:
        if ticket.status == CALLED:
            assert len(holders[ticket.id]) == 1, (
                f"{ticket.number} ({ticket.service_day}) is called but held by {holders[ticket.id]}"
            )


def _fields_match_the_state(tickets, office) -> None:
    for t in tickets:
        name = f"{t.number} ({t.service_day}, id {t.id})"
        assert t.status in STATES, f"{name} has unknown status {t.status!r}"
        assert t.number == office.format_number(t.series, t.seq), f"{name} has seq {t.seq}"
        if t.status == WAITING:
            assert t.counter is None and t.finished_at is None, f"{name} waiting but {t}"
        if t.status == CALLED:
            assert t.counter is not None and t.called_at is not None, f"{name} called but {t}"
            assert t.finished_at is None, f"{name} called but finished at {t.finished_at}"
        if t.status in (DONE, NO_SHOW):
            assert t.first_called_at is not None, f"{name} {t.status} but never called"
            assert t.finished_at is not None, f"{name} {t.status} without finished_at"


def _events_replay_to_the_tickets(tickets, events) -> None:
    history = defaultdict(list)
    for event in events:
        if event.ticket_id is not None:
            history[event.ticket_id].append(event)
    for ticket in tickets:
        name = f"{ticket.number} ({ticket.service_day}, id {ticket.id})"
        mine = history.get(ticket.id)
        assert mine, f"{name} has no events"
        assert mine[0].action == "issue", f"{name} starts with {mine[0].action!r}, not 'issue'"
        assert [e.action for e in mine].count("issue") == 1, f"{name} issued twice"
        for before, after in zip(mine, mine[1:], strict=False):
            # Each event must start where the previous one left the ticket.
            assert after.from_state == before.to_state, (
                f"{name}: {after.action} from {after.from_state} follows {before.to_state}"
            )
        last = mine[-1]
        assert (last.to_state, last.service) == (ticket.status, ticket.service), (
            f"{name}: events replay to {last.to_state}/{last.service}, "
            f"the ticket says {ticket.status}/{ticket.service}"
        )
    unknown = set(history) - {t.id for t in tickets}
    assert not unknown, f"events about tickets that do not exist: {sorted(unknown)}"


def _running_totals_match_the_tickets(tickets, lines, served) -> None:
    waiting, walk_ins, done = Counter(), Counter(), Counter()
    for t in tickets:
        waiting[t.service_day, t.service] += t.status == WAITING
        walk_ins[t.service_day, t.series] += t.kind == "walk_in"
        if t.status == DONE:
            done[t.service_day, t.counter] += 1
    for day, counts in lines.items():
        for service, (line, issued, *_) in counts.items():
            assert line == waiting[day, service], (
                f"line {service} on {day}: running total {line}, tickets waiting {waiting[day, service]}"
            )
            assert issued == walk_ins[day, service], (
                f"walk-ins {service} on {day}: running total {issued}, tickets {walk_ins[day, service]}"
            )
    for (day, counter), count in served.items():
        assert count == done[day, counter], (
            f"counter {counter} on {day}: served total {count}, tickets done {done[day, counter]}"
        )
