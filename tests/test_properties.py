"""Random days at the office: whatever kiosks and counters do, the database stays consistent."""

from __future__ import annotations

import shutil
import string
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from loket import codes
from loket.engine import (
    ACCEPTED,
    ALREADY_CHECKED_IN,
    ALREADY_SERVED,
    APPOINTMENT_CANCELLED,
    MISSED,
    NOT_RECOGNISED,
    OTHER_DAY,
    TOO_EARLY,
    TOO_LATE,
    Engine,
    routing_key,
)
from loket.errors import Refused
from loket.model import APPOINTMENT, CALLED, DONE, NO_SHOW, WAITING
from loket.storage import Store
from tests.conftest import MORNING, Clock
from tests.invariants import check_invariants

CHECK_IN_OUTCOMES = {
    ACCEPTED,
    ALREADY_CHECKED_IN,
    ALREADY_SERVED,
    MISSED,
    TOO_EARLY,
    TOO_LATE,
    OTHER_DAY,
    APPOINTMENT_CANCELLED,
    NOT_RECOGNISED,
}
COUNTERS = st.sampled_from(["1", "2", "3", "4"])
WALK_IN_SERVICES = st.sampled_from(["A", "B", "C"])
ALL_SERVICES = st.sampled_from(["A", "B", "C", "D"])
# None: the counter app sends no number; "right"/"wrong": it sends what it shows, or a stale one.
CURRENT = st.sampled_from([None, None, "right", "right", "wrong"])
SOON_OR_LATER = st.one_of(
    st.integers(min_value=-20, max_value=40), st.integers(min_value=-60, max_value=24 * 60)
)
PICK = st.integers(min_value=0, max_value=10**6)


def attempt(operation, *args, **kwargs):
    """Run one engine operation; a refusal is a normal outcome (None), anything else fails."""
    try:
        return operation(*args, **kwargs)
    except Refused:
        return None


def forge(payload: str, position: int, replacement: str) -> str:
    """The payload with one character replaced."""
    position %= len(payload)
    return payload[:position] + replacement + payload[position + 1 :]


class OfficeDays(RuleBasedStateMachine):
    """Kiosks, counters and the clock acting in any order on one database file."""

    def __init__(self):
        super().__init__()
        self.folder = tempfile.mkdtemp(prefix="loket-properties-")
        self.clock = Clock()
        self.engine = Engine(Path(self.folder) / "loket.db", clock=self.clock)
        self.appointments = []

    def teardown(self):
        self.engine.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # helpers

    def today_tickets(self):
        day = self.engine.today()
        return [t for t in self.engine.store.all_tickets() if t.service_day == day]

    def current_number(self, counter: str, how: str | None) -> str | None:
        if how is None:
            return None
        if how == "wrong":
            return "Z999"
        ticket = self.engine.counter_state(counter).current
        return None if ticket is None else ticket.number

    def expected_next(self, counter: str):
        """The routing rule, computed the slow way: min routing_key over today's waiting tickets."""
        engine, now = self.engine, self.clock()
        services = engine.office.counters[counter].services
        waiting = engine.store.waiting(services, engine.today(now))
        max_wait = timedelta(minutes=engine.office.max_wait_minutes)
        return min(waiting, key=lambda t: routing_key(t, now, max_wait), default=None)

    # the clock

    @rule(minutes=st.one_of(st.integers(1, 15), st.integers(15, 120)))
    def time_passes(self, minutes):
        self.clock.advance(minutes=minutes)

    @rule(minutes=st.integers(min_value=0, max_value=90))
    def night_falls(self, minutes):
        """Jump past the next local midnight: numbers restart and open tickets expire."""
        local = self.engine.local(self.clock())
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        self.clock.now = midnight.astimezone(self.clock().tzinfo) + timedelta(minutes=minutes)

    # appointments and kiosks

    @initialize(bookings=st.lists(st.tuples(ALL_SERVICES, SOON_OR_LATER), max_size=4))
    def book_the_morning(self, bookings):
        for service, minutes in bookings:
            self.book(service, minutes)

    @rule(service=ALL_SERVICES, minutes=SOON_OR_LATER)
    def book(self, service, minutes):
        at = self.clock() + timedelta(minutes=minutes)
        self.appointments.append(self.engine.add_appointment(service, at, name="Visitor"))

    @rule(visitors=st.lists(st.tuples(WALK_IN_SERVICES, st.booleans()), min_size=1, max_size=5))
    def visitors_arrive(self, visitors):
        for service, priority in visitors:
            receipt = attempt(self.engine.issue_ticket, service, priority=priority)
            if receipt is not None:
                assert receipt.ticket.status == WAITING and receipt.ticket.service == service
                assert receipt.ticket.service_day == self.engine.today()
                assert receipt.position >= 1

    @precondition(lambda self: self.appointments)
    @rule(
        pick=PICK,
        how=st.sampled_from(["reference", "typed", "payload", "forged"]),
        position=PICK,
        replacement=st.sampled_from(string.ascii_uppercase + string.digits),
    )
    def check_in(self, pick, how, position, replacement):
        appointment = self.appointments[pick % len(self.appointments)]
        code = {
            "reference": appointment.reference,
            "typed": appointment.display_reference.lower(),
            "payload": appointment.qr_payload,
            "forged": forge(appointment.qr_payload, position, replacement),
        }[how]
        result = attempt(self.engine.check_in, code)
        if result is None:
            return
        assert result.outcome in CHECK_IN_OUTCOMES
        if how == "forged" and code != appointment.qr_payload:
            assert result.outcome == NOT_RECOGNISED, f"forged {code} gave {result.outcome}"
        else:
            assert result.outcome != NOT_RECOGNISED, f"{how} {code} not recognised"
        if result.outcome == ACCEPTED:
            ticket = result.receipt.ticket
            assert ticket.kind == APPOINTMENT and ticket.appointment_at == appointment.starts_at

    @rule(pick=PICK)
    def visitor_gives_up(self, pick):
        tickets = self.today_tickets()
        if tickets:
            attempt(self.engine.cancel, tickets[pick % len(tickets)].number)

    # counters

    @rule(counter=COUNTERS, current=CURRENT)
    def call_next(self, counter, current):
        expected = self.expected_next(counter)
        call = attempt(self.engine.call_next, counter, self.current_number(counter, current))
        if call is None:
            return
        if expected is None:
            assert call.called is None, f"called {call.called.number} from an empty line"
        else:
            assert call.called is not None, f"nobody called while {expected.number} waits"
            assert call.called.id == expected.id, (
                f"counter {counter} called {call.called.number}, routing says {expected.number}"
            )
            assert call.called.status == CALLED and call.called.counter == counter

    @rule(
        counter=COUNTERS, pick=PICK, current=CURRENT, garbage=st.sampled_from([False] * 4 + [True])
    )
    def call_number(self, counter, pick, current, garbage):
        tickets = self.today_tickets()
        number = "Q42" if garbage or not tickets else tickets[pick % len(tickets)].number
        before = {t.number: t for t in tickets}.get(number)
        call = attempt(
            self.engine.call_number, counter, number, self.current_number(counter, current)
        )
        if call is not None:
            assert before is not None and before.status == WAITING
            assert call.called.id == before.id and call.called.counter == counter

    @rule(
        counter=COUNTERS,
        action=st.sampled_from(["recall", "finish", "no_show"]),
        current=CURRENT,
    )
    def counter_handles_its_visitor(self, counter, action, current):
        operation = getattr(self.engine, action)
        ticket = attempt(operation, counter, self.current_number(counter, current))
        if ticket is not None:
            assert ticket.status == {"recall": CALLED, "finish": DONE, "no_show": NO_SHOW}[action]

    @rule(counter=COUNTERS, service=ALL_SERVICES, current=CURRENT)
    def transfer(self, counter, service, current):
        ticket = attempt(
            self.engine.transfer, counter, service, self.current_number(counter, current)
        )
        if ticket is not None:
            assert ticket.status == WAITING and ticket.service == service

    @rule(counter=COUNTERS, pause=st.sampled_from([True, False, False]))
    def pause_or_resume(self, counter, pause):
        attempt(self.engine.pause if pause else self.engine.resume, counter)

    @rule()
    def display_reads_status(self):
        self.engine.status()

    @invariant()
    def database_is_consistent(self):
        check_invariants(self.engine)


OfficeDays.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None, print_blob=True
)
TestAnyDayAtTheOfficeKeepsTheQueueConsistent = OfficeDays.TestCase


# check-in codes


@pytest.fixture(scope="module")
def booked_office(tmp_path_factory):
    """An office with three appointments this morning, and a second connection that watches."""
    path = tmp_path_factory.mktemp("checkin") / "loket.db"
    engine = Engine(path, clock=Clock())
    appointments = [
        engine.add_appointment(service, MORNING + timedelta(minutes=minutes))
        for service, minutes in (("A", 10), ("B", 20), ("D", 30))
    ]
    engine.issue_ticket("A")
    watcher = Store.open(path)
    yield engine, appointments, watcher
    watcher.close()
    engine.close()


def snapshot(engine, watcher):
    """Everything a check-in could have changed."""
    store = engine.store
    return (
        watcher.data_version(),
        store.conn.total_changes,
        store.all_tickets(),
        len(store.events_after(0, limit=10**9)),
        store.appointments_on(None),
    )


PAYLOAD_LOOKALIKES = st.from_regex(r"LK[A-Z2-9]{8}2026120[0-9][A-Z2-7]{16}", fullmatch=True)
REFERENCE_LOOKALIKES = st.from_regex(r"[A-Za-z0-9]{4}-?[A-Za-z0-9]{4}", fullmatch=True)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(code=st.one_of(st.text(max_size=60), PAYLOAD_LOOKALIKES, REFERENCE_LOOKALIKES))
def test_whatever_is_typed_at_the_kiosk_is_not_recognised_and_changes_nothing(booked_office, code):
    """A scribble, a look-alike payload or a wrong reference: not_recognised, database untouched."""
    engine, appointments, watcher = booked_office
    secret = engine.store.setting("qr_secret")
    assume(codes.read_code(secret, code) not in {a.reference for a in appointments})
    before = snapshot(engine, watcher)
    assert engine.check_in(code).outcome == NOT_RECOGNISED
    assert snapshot(engine, watcher) == before


@settings(max_examples=100, deadline=None)
@given(
    pick=st.integers(min_value=0, max_value=2),
    position=st.integers(min_value=0, max_value=200),
    replacement=st.sampled_from(string.ascii_uppercase + string.digits),
)
def test_a_qr_code_with_one_character_changed_is_not_recognised(
    booked_office, pick, position, replacement
):
    """Every single-character change to a genuine payload breaks it, wherever it is."""
    engine, appointments, watcher = booked_office
    genuine = appointments[pick].qr_payload
    forged = forge(genuine, position, replacement)
    assume(forged != genuine)
    assert engine.appointment(genuine).reference == appointments[pick].reference
    before = snapshot(engine, watcher)
    assert engine.check_in(forged).outcome == NOT_RECOGNISED
    assert snapshot(engine, watcher) == before
