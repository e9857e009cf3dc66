"""Random days at the office: whatever kiosks and counters do, the engine does what a model says.

The state machine keeps its own model of the demo office (today's tickets, which counter
holds which, which counters are paused) and checks every operation against it: refused
exactly when the model says it must be, with the reason it gives, and otherwise with the
result the model expects. After every step the screens (status and each desk) must show
the model's lines in the model's calling order, and the database must keep its invariants.
"""

from __future__ import annotations

import string
from collections import Counter as Tally
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from loket import codes
from loket.config import default_config_text
from loket.engine import (
    ACCEPTED,
    ALREADY_CHECKED_IN,
    ALREADY_SERVED,
    MISSED,
    NOT_RECOGNISED,
    OTHER_DAY,
    TOO_EARLY,
    TOO_LATE,
    Engine,
)
from loket.errors import Refused
from loket.model import APPOINTMENT, CALLED, CANCELLED, DONE, NO_SHOW, WAITING, WALK_IN
from loket.storage import open_store
from tests.conftest import MORNING, Clock
from tests.invariants import check_invariants

pytestmark = pytest.mark.backends

# The demo office (loket/office.toml) as the model knows it (the machine checks it still is),
# with a daily limit for C that a random day reaches.
BRUSSELS = ZoneInfo("Europe/Brussels")
SERVES = {"1": ("A", "B"), "2": ("A", "C"), "3": ("B", "C", "D"), "4": ("D", "A")}
PREFER = {"4": ("D",)}
WALK_IN_SERVICES = ("A", "B", "C")
APPOINTMENT_SERIES = "R"
DAILY_LIMIT = {"C": 4}
TARGET = {"A": timedelta(minutes=15), "B": timedelta(minutes=15), "C": timedelta(minutes=15)}
TARGET["D"] = timedelta(minutes=15)  # the office's target_wait_minutes: D sets none
CREDIT, LEAD = timedelta(minutes=20), timedelta(minutes=5)
EARLY, LATE = timedelta(minutes=30), timedelta(minutes=15)
SHOWN_BY_STATUS, SHOWN_BY_DESK = 10, 5

COUNTERS = st.sampled_from(sorted(SERVES))
SERVICES = st.sampled_from(["A", "B", "C", "D"])
# What a counter app sends as current=: nothing, the number it shows (as shown, or as a
# clerk types it: "a7"), or a stale one that the counter no longer holds.
SCREENS = st.sampled_from([None, "shown", "shown", "typed", "stale", "stale"])
# Minutes from now to an appointment; -15 and 30 put it exactly at the check-in window's ends.
SOON_OR_LATER = st.one_of(
    st.sampled_from([-16, -15, 30, 31]),
    st.integers(min_value=-20, max_value=40),
    st.integers(min_value=-60, max_value=24 * 60),
)
PICK = st.integers(min_value=0, max_value=10**6)
# Whether a counter action goes to a counter with a visitor (if any has one).
MOSTLY_BUSY = st.sampled_from([True, True, True, False])
# Which number a clerk or visitor names: a waiting one, any of today's, or one never issued.
NUMBERS = st.sampled_from(["waiting", "waiting", "any", "any", "garbage"])


def forge(payload: str, position: int, replacement: str) -> str:
    """The payload with one character replaced."""
    position %= len(payload)
    return payload[:position] + replacement + payload[position + 1 :]


@dataclass
class Visit:
    """One of today's tickets as the model expects the engine to hold it."""

    id: int | None
    number: str
    series: str
    service: str
    kind: str
    priority: bool
    arrived_at: datetime
    appointment_at: datetime | None = None
    status: str = WAITING
    recalls: int = 0
    due_at: datetime | None = None

    def __post_init__(self):
        if self.due_at is None:
            self.due_at = due(
                self.service, self.kind, self.priority, self.arrived_at, self.appointment_at
            )


def seen(ticket) -> Visit:
    """An engine ticket in the model's terms."""
    return Visit(
        ticket.id, ticket.number, ticket.series, ticket.service, ticket.kind, ticket.priority,
        ticket.arrived_at, ticket.appointment_at, ticket.status, ticket.recalls, ticket.due_at,
    )  # fmt: skip


def due(service: str, kind: str, priority: bool, joined: datetime, appointment_at=None):
    """The README's queue rule, written out again for the model: when a ticket is due."""
    if kind == APPOINTMENT:
        return max(appointment_at, joined) - LEAD
    return joined + TARGET[service] - (CREDIT if priority else timedelta(0))


def calling_order(visit: Visit, now: datetime, prefer: tuple[str, ...] = ()) -> tuple:
    """Smallest first: a due ticket of a preferred service, then by due time and id."""
    preferred_and_due = visit.service in prefer and visit.due_at <= now
    return (not preferred_and_due, visit.due_at, visit.id)


def typed(number: str) -> str:
    """A number as a clerk types it: A007 -> a7."""
    return number[0].lower() + str(int(number[1:]))


@dataclass
class Model:
    """What the engine should hold today."""

    day: str = ""
    tickets: dict[str, Visit] = field(default_factory=dict)
    held: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(SERVES))
    paused: set[str] = field(default_factory=set)
    served: Tally = field(default_factory=Tally)
    checked_in: dict[str, str] = field(default_factory=dict)
    """Appointment reference -> the number it got."""

    def start_day(self, day: str) -> None:
        """Tickets of earlier days expire and free their counters; paused counters stay paused."""
        if day != self.day:
            self.day, self.tickets, self.checked_in = day, {}, {}
            self.held, self.served = dict.fromkeys(SERVES), Tally()

    def new_visit(self, service: str, kind: str, now: datetime, priority=False, **fields) -> Visit:
        series = APPOINTMENT_SERIES if kind == APPOINTMENT else service
        seq = 1 + sum(v.series == series for v in self.tickets.values())
        number = f"{series}{seq:03d}"
        return Visit(None, number, series, service, kind, priority, now, **fields)

    def add(self, visit: Visit, ticket) -> Visit:
        """The model's new visit, with the id the engine gave it."""
        visit = replace(visit, id=ticket.id)
        self.tickets[visit.number] = visit
        return visit

    def walk_ins(self, series: str) -> int:
        return sum(v.series == series and v.kind == WALK_IN for v in self.tickets.values())

    def line(self, services, now: datetime, prefer: tuple[str, ...] = ()) -> list[Visit]:
        """Waiting tickets of these services in the order a counter calls them."""
        waiting = [
            v for v in self.tickets.values() if v.status == WAITING and v.service in services
        ]
        return sorted(waiting, key=lambda v: calling_order(v, now, prefer))

    def position(self, visit: Visit, now: datetime) -> int:
        return 1 + self.line((visit.service,), now).index(visit)

    def call(self, counter: str, visit: Visit) -> Visit:
        visit.status = CALLED
        self.held[counter] = visit.number
        return visit

    def end(self, counter: str, status: str) -> Visit | None:
        """The counter's visit ends (done, no-show, or back to a line); None if it had none."""
        number, self.held[counter] = self.held[counter], None
        if number is None:
            return None
        visit = self.tickets[number]
        visit.status = status
        self.served[counter] += status == DONE
        return visit


class OfficeDays(RuleBasedStateMachine):
    """Kiosks, counters and the clock acting in any order on one database."""

    def __init__(self, database):
        super().__init__()
        self.clock = Clock()
        self.engine = Engine(database, clock=self.clock)
        office = self.engine.init(
            default_config_text().replace("daily_limit = 40", f"daily_limit = {DAILY_LIMIT['C']}")
        )
        assert {c.id: c.services for c in office.counters.values()} == SERVES
        assert {c.id: c.prefer for c in office.counters.values() if c.prefer} == PREFER
        assert office.appointment_prefix == APPOINTMENT_SERIES
        assert {s.code: timedelta(minutes=s.target_minutes) for s in office.services.values()} == (
            TARGET
        )
        routing = office.routing
        assert (routing.priority_credit_minutes, routing.appointment_lead_minutes) == (20, 5)
        assert routing.transfer == "keep"
        assert [s.code for s in office.services.values() if s.walk_in] == list(WALK_IN_SERVICES)
        assert {s.code: s.daily_limit for s in office.services.values() if s.daily_limit} == (
            DAILY_LIMIT
        )
        self.model = Model()
        self.appointments = []

    def teardown(self):
        self.engine.close()

    # helpers

    def now(self) -> datetime:
        """The clock's time, with the model moved into its service day."""
        now = self.clock()
        self.model.start_day(now.astimezone(BRUSSELS).date().isoformat())
        return now

    def expect(self, refusal: str | None, operation, *args, **kwargs):
        """Run `operation`: refused with a message matching `refusal` if set, else it must go ahead."""
        if refusal is None:
            return operation(*args, **kwargs)
        with pytest.raises(Refused, match=refusal):
            operation(*args, **kwargs)
        return None

    def screen(self, counter: str, how: str | None, pick: int) -> str | None:
        """What the counter's app sends as current=."""
        held = self.model.held[counter]
        if how == "stale":
            others = sorted(set(self.model.tickets) - {held})
            return others[pick % len(others)] if others else "Z999"
        if how is None or held is None:
            return None
        return held if how == "shown" else typed(held)

    def paused_refusal(self, counter: str) -> str | None:
        return f"Loket {counter} is paused" if counter in self.model.paused else None

    def current_refusal(self, counter: str, screen: str | None) -> str | None:
        """Why a counter action that names `screen` as current must be refused, if it must."""
        held = self.model.held[counter]
        if held is None:
            return None if screen is None else f"{screen} is no longer at Loket {counter}"
        if screen is not None and screen.upper() not in (held, typed(held).upper()):
            return f"Loket {counter} is now serving {held}, not {screen.upper()}"
        return None

    def limit_reached(self, service: str) -> bool:
        return self.model.walk_ins(service) >= DAILY_LIMIT.get(service, 10**9)

    def pick_number(self, pick: int, which: str) -> str:
        numbers = sorted(self.model.tickets)
        if which == "waiting":
            numbers = [n for n in numbers if self.model.tickets[n].status == WAITING]
        return "Q042" if which == "garbage" or not numbers else numbers[pick % len(numbers)]

    def busy(self, counter: str, at_a_busy_one: bool) -> str:
        """`counter`, or with `at_a_busy_one` a counter with a visitor if any has one."""
        busy = sorted(c for c, number in self.model.held.items() if number)
        return busy[int(counter) % len(busy)] if at_a_busy_one and busy else counter

    # the clock

    # 5, 15 and 20 minutes: an appointment checked in, a walk-in or a priority ticket of the
    # step before is due exactly now (counter 4 takes a D ticket first from then on).
    @rule(minutes=st.one_of(st.sampled_from([5, 15, 20]), st.integers(1, 15), st.integers(15, 120)))
    def time_passes(self, minutes):
        self.clock.advance(minutes=minutes)

    @rule(minutes=st.integers(min_value=0, max_value=90))
    def night_falls(self, minutes):
        """Jump past the next local midnight: numbers restart and open tickets expire."""
        local = self.clock().astimezone(BRUSSELS)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        self.clock.now = midnight.astimezone(self.clock().tzinfo) + timedelta(minutes=minutes)

    # appointments and kiosks

    @initialize(bookings=st.lists(st.tuples(SERVICES, SOON_OR_LATER), max_size=4))
    def book_the_morning(self, bookings):
        for service, minutes in bookings:
            self.book(service, minutes)

    @initialize(
        visitors=st.lists(st.tuples(SERVICES, st.booleans()), min_size=4, max_size=12),
        calls=st.lists(COUNTERS, max_size=4),
    )
    def open_the_doors(self, visitors, calls):
        """A line at the door and the first calls: later steps then find counters busy."""
        if visitors:
            self.visitors_take_tickets(visitors)
        for counter in calls:
            self.call_next(counter, how=None, pick=0, busy=False)

    @rule(service=SERVICES, minutes=SOON_OR_LATER)
    def book(self, service, minutes):
        at = self.now() + timedelta(minutes=minutes)
        appointment = self.engine.add_appointment(service, at, name="Visitor")
        assert (appointment.service, appointment.starts_at, appointment.ticket_id) == (
            service,
            at,
            None,
        )
        assert appointment.day == at.astimezone(BRUSSELS).date().isoformat()
        self.appointments.append(appointment)

    @rule(visitors=st.lists(st.tuples(SERVICES, st.booleans()), min_size=1, max_size=5))
    def visitors_take_tickets(self, visitors):
        for service, priority in visitors:
            now = self.now()
            refusal = None
            if service not in WALK_IN_SERVICES:
                refusal = "takes appointments only"
            elif self.limit_reached(service):
                refusal = f"daily limit of {DAILY_LIMIT[service]} tickets"
            receipt = self.expect(refusal, self.engine.issue_ticket, service, priority=priority)
            if receipt is not None:
                visit = self.model.new_visit(service, WALK_IN, now, priority=priority)
                visit = self.model.add(visit, receipt.ticket)
                assert seen(receipt.ticket) == visit
                assert receipt.position == self.model.position(visit, now)

    def expected_check_in(self, appointment, now) -> tuple[str, Visit | None]:
        """The outcome the model expects, and the ticket the visitor leaves with (new: id None)."""
        model = self.model
        if appointment.day != model.day:
            return OTHER_DAY, None
        number = model.checked_in.get(appointment.reference)
        if number is not None:
            visit = model.tickets[number]
            if visit.status == WAITING:
                return ALREADY_CHECKED_IN, visit
            return (ALREADY_SERVED if visit.status == DONE else MISSED), None
        if now < appointment.starts_at - EARLY:
            return TOO_EARLY, None
        if now <= appointment.starts_at + LATE:
            new = model.new_visit(
                appointment.service, APPOINTMENT, now, appointment_at=appointment.starts_at
            )
            return ACCEPTED, new
        if appointment.service not in WALK_IN_SERVICES or self.limit_reached(appointment.service):
            return TOO_LATE, None
        return TOO_LATE, model.new_visit(appointment.service, WALK_IN, now)

    @precondition(lambda self: self.appointments)
    @rule(
        pick=PICK,
        how=st.sampled_from(["reference", "typed", "payload", "forged"]),
        position=PICK,
        replacement=st.sampled_from(string.ascii_uppercase + string.digits),
    )
    def check_in(self, pick, how, position, replacement):
        now = self.now()
        appointment = self.appointments[pick % len(self.appointments)]
        code = {
            "reference": appointment.reference,
            "typed": appointment.display_reference.lower(),
            "payload": appointment.qr_payload,
            "forged": forge(appointment.qr_payload, position, replacement),
        }[how]
        if code != appointment.qr_payload and how == "forged":
            result = self.engine.check_in(code)
            assert (result.outcome, result.receipt) == (NOT_RECOGNISED, None), f"forged {code}"
            return
        outcome, visit = self.expected_check_in(appointment, now)
        result = self.engine.check_in(code)
        assert result.outcome == outcome, f"{how} {code}: {result.outcome}, model: {outcome}"
        if outcome == TOO_EARLY:
            assert result.allowed_from == appointment.starts_at - EARLY
        if outcome in (ALREADY_SERVED, MISSED):
            assert result.number == self.model.checked_in[appointment.reference]
        if visit is None:
            assert result.receipt is None, f"{outcome} handed out {result.receipt.ticket.number}"
            return
        if visit.id is None:
            visit = self.model.add(visit, result.receipt.ticket)
            self.model.checked_in[appointment.reference] = visit.number
        assert seen(result.receipt.ticket) == visit
        assert result.receipt.position == self.model.position(visit, now)

    @rule(pick=PICK, which=NUMBERS)
    def visitor_gives_up(self, pick, which):
        self.now()
        number = self.pick_number(pick, which)
        visit = self.model.tickets.get(number)
        refusal = (
            f"no ticket {number} today"
            if visit is None
            else None
            if visit.status == WAITING
            else f"{number} is not waiting"
        )
        ticket = self.expect(refusal, self.engine.cancel, number)
        if ticket is not None:
            visit.status = CANCELLED
            assert seen(ticket) == visit

    # counters

    @rule(counter=COUNTERS, how=SCREENS, pick=PICK, busy=MOSTLY_BUSY)
    def call_next(self, counter, how, pick, busy):
        now = self.now()
        counter = self.busy(counter, busy)
        screen = self.screen(counter, how, pick)
        refusal = self.paused_refusal(counter) or self.current_refusal(counter, screen)
        call = self.expect(refusal, self.engine.call_next, counter, screen)
        if call is None:
            return
        finished = self.model.end(counter, DONE)
        line = self.model.line(SERVES[counter], now, PREFER.get(counter, ()))
        called = self.model.call(counter, line[0]) if line else None
        assert (call.finished and seen(call.finished)) == finished
        assert (call.called and seen(call.called)) == called

    @rule(
        counter=COUNTERS,
        pick=PICK,
        how=SCREENS,
        stale=PICK,
        which=NUMBERS,
    )
    def call_number(self, counter, pick, how, stale, which):
        self.now()
        number = self.pick_number(pick, which)
        screen = self.screen(counter, how, stale)
        visit = self.model.tickets.get(number)
        refusal = (
            self.paused_refusal(counter)
            or (f"no ticket {number} today" if visit is None else None)
            or (None if visit.status == WAITING else f"{number} cannot be called")
            or self.current_refusal(counter, screen)
        )
        call = self.expect(refusal, self.engine.call_number, counter, number, screen)
        if call is None:
            return
        finished = self.model.end(counter, DONE)
        assert (call.finished and seen(call.finished)) == finished
        assert seen(call.called) == self.model.call(counter, visit)

    @rule(
        counter=COUNTERS,
        action=st.sampled_from(["recall", "finish", "no_show"]),
        how=SCREENS,
        pick=PICK,
        busy=MOSTLY_BUSY,
    )
    def counter_handles_its_visitor(self, counter, action, how, pick, busy):
        self.now()
        counter = self.busy(counter, busy)
        screen = self.screen(counter, how, pick)
        held = self.model.held[counter]
        refusal = self.current_refusal(counter, screen) or (
            None if held else f"Loket {counter} has no current ticket"
        )
        ticket = self.expect(refusal, getattr(self.engine, action), counter, screen)
        if ticket is None:
            return
        if action == "recall":
            visit = self.model.tickets[held]
            visit.recalls += 1
        else:
            visit = self.model.end(counter, DONE if action == "finish" else NO_SHOW)
        assert seen(ticket) == visit

    @rule(counter=COUNTERS, service=SERVICES, how=SCREENS, pick=PICK, busy=MOSTLY_BUSY)
    def transfer(self, counter, service, how, pick, busy):
        self.now()
        counter = self.busy(counter, busy)
        screen = self.screen(counter, how, pick)
        held = self.model.held[counter]
        refusal = self.current_refusal(counter, screen) or (
            None if held else f"Loket {counter} has no current ticket"
        )
        ticket = self.expect(refusal, self.engine.transfer, counter, service, screen)
        if ticket is not None:
            visit = self.model.end(counter, WAITING)
            # It keeps its number, series and arrival; due as if it had come for `service`.
            visit.service = service
            visit.due_at = due(
                service, visit.kind, visit.priority, visit.arrived_at, visit.appointment_at
            )
            assert seen(ticket) == visit

    @rule(counter=COUNTERS, pause=st.sampled_from([True, False, False]), busy=MOSTLY_BUSY)
    def pause_or_resume(self, counter, pause, busy):
        self.now()
        counter = self.busy(counter, busy)
        held = self.model.held[counter]
        if pause:
            refusal = f"Loket {counter} is serving {held}: finish it first" if held else None
            state = self.expect(refusal, self.engine.pause, counter)
            if state is not None:
                self.model.paused.add(counter)
        else:
            state = self.engine.resume(counter)
            self.model.paused.discard(counter)
        if state is not None:
            assert state.state == ("paused" if counter in self.model.paused else "open")

    # what every screen shows

    def at_the_counter(self, counter_state) -> tuple:
        """The ticket a counter shows, and the one the model says it holds (never yesterday's)."""
        current, held = counter_state.current, self.model.held[counter_state.id]
        return (current and seen(current)), (held and self.model.tickets[held])

    @invariant()
    def status_shows_the_models_lines_in_calling_order(self):
        now = self.now()
        status = self.engine.status()
        for service in status.services:
            line = self.model.line((service.code,), now)
            shown = [seen(t) for t in status.waiting.get(service.code, [])]
            assert shown == line[:SHOWN_BY_STATUS], f"line {service.code}"
            assert service.waiting == len(line), f"{service.code}: {service.waiting} waiting"
            assert service.issued_today == self.model.walk_ins(service.code)
        for counter in status.counters:
            assert (counter.state == "paused") == (counter.id in self.model.paused)
            shows, holds = self.at_the_counter(counter)
            assert shows == holds, f"counter {counter.id}"

    @invariant()
    def each_desk_shows_its_own_line_in_calling_order(self):
        now = self.now()
        for counter, services in SERVES.items():
            desk = self.engine.desk(counter)
            line = self.model.line(services, now, PREFER.get(counter, ()))
            assert [seen(t) for t in desk.upcoming] == line[:SHOWN_BY_DESK]
            assert desk.waiting == {s: sum(v.service == s for v in line) for s in services}
            assert desk.longest_waiting_since == min((v.arrived_at for v in line), default=None)
            assert desk.served_today == self.model.served[counter]
            shows, holds = self.at_the_counter(desk.counter)
            assert shows == holds, f"desk {counter}"

    @invariant()
    def database_is_consistent(self):
        check_invariants(self.engine)


# Days at the office per backend: each is a new database, which costs more on a server.
DAYS = {"sqlite": 100, "postgresql": 40}


def test_any_day_at_the_office_keeps_the_queue_consistent(new_database, backend):
    run_state_machine_as_test(
        lambda: OfficeDays(new_database()),
        settings=settings(
            max_examples=DAYS[backend], stateful_step_count=30, deadline=None, print_blob=True
        ),
    )


# check-in codes


@pytest.fixture
def booked_office(new_database):
    """An office with three appointments this morning, and a second connection that watches."""
    database = new_database()
    engine = Engine(database, clock=Clock())
    appointments = [
        engine.add_appointment(service, MORNING + timedelta(minutes=minutes))
        for service, minutes in (("A", 10), ("B", 20), ("D", 30))
    ]
    engine.issue_ticket("A")
    watcher = open_store(database)
    yield engine, appointments, watcher
    watcher.close()
    engine.close()


def snapshot(engine, watcher):
    """Everything a check-in could have changed."""
    store = engine.store
    return (
        watcher.data_version(),  # moves when the engine's connection commits
        store.all_tickets(),
        store.counters(),
        len(store.events_after(0, limit=10**9)),
        store.appointments_on(None),
    )


PAYLOAD_LOOKALIKES = st.from_regex(r"LK[A-Z2-9]{8}2026120[0-9][A-Z2-7]{16}", fullmatch=True)
REFERENCE_LOOKALIKES = st.from_regex(r"[A-Za-z0-9]{4}-?[A-Za-z0-9]{4}", fullmatch=True)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(code=st.one_of(st.text(max_size=60), PAYLOAD_LOOKALIKES, REFERENCE_LOOKALIKES))
def test_whatever_is_typed_at_the_kiosk_is_not_recognised_and_changes_nothing(booked_office, code):
    """A scribble, a look-alike payload or a wrong reference: not_recognised, database untouched."""
    engine, appointments, watcher = booked_office
    secret = engine.store.setting("qr_secret")
    assume(codes.read_code(secret, code) not in {a.reference for a in appointments})
    before = snapshot(engine, watcher)
    assert engine.check_in(code).outcome == NOT_RECOGNISED
    assert snapshot(engine, watcher) == before


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
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
