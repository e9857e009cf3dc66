"""Issue 11's promises as properties of random mornings at a real engine (loket/rules.py).

Each example is a fresh office on its own database (SQLite or PostgreSQL) with a clock the
test moves: walk-ins (some with priority), appointments checking in, counters calling,
finishing, pausing and resuming, time passing. Then one promise of the calling rule or the
estimate is checked.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from loket.config import default_config_text
from loket.engine import ACCEPTED, ALREADY_CHECKED_IN, REINSTATED, Engine
from loket.errors import Refused
from loket.model import CALLED, WAITING
from tests.conftest import Clock, clerks_at

COUNTERS = ("1", "2", "3", "4")
WALK_INS = ("A", "B", "C")
SERVICES = ("A", "B", "C", "D")

WALK_IN = st.tuples(st.just("walk_in"), st.sampled_from(WALK_INS), st.booleans())
# Minutes from now to the slot: all inside the check-in window (30 early, 15 late).
SLOT = st.one_of(st.sampled_from([-15, 0, 10, 20, 30]), st.integers(-15, 30))
APPOINTMENT = st.tuples(st.just("appointment"), st.sampled_from(SERVICES), SLOT)
WAIT = st.tuples(st.just("wait"), st.one_of(st.sampled_from([5, 15, 20, 25]), st.integers(1, 20)))
STEP = st.one_of(
    WALK_IN,
    WALK_IN,  # visitors come more often than anything else happens
    APPOINTMENT,
    st.tuples(st.sampled_from(["call", "finish"]), st.sampled_from(COUNTERS)),
    WAIT,
)
STEPS = st.lists(STEP, max_size=30)
PAUSES = st.tuples(st.sampled_from(["pause", "resume"]), st.sampled_from(COUNTERS))
STEPS_WITH_PAUSES = st.lists(st.one_of(STEP, PAUSES), max_size=30)
PRESENT = st.sets(st.sampled_from(COUNTERS), min_size=1)

pytestmark = pytest.mark.backends

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def fair_office_text(places: int = 3) -> str:
    """The demo office with no counter preferring a service (every service's target is 15)."""
    text = re.sub(r"(?m)^prefer = .*\n", "", default_config_text())
    return text.replace("places = 3", f"places = {places}", 1)


@dataclass
class Visitor:
    """A ticket as the test saw it handed out."""

    id: int
    number: str
    service: str
    reference: datetime
    """Walk-in: arrival + target; appointment: its slot, or the check-in if later."""
    head_start: timedelta
    """How much sooner than its reference it is due: the priority credit, the appointment
    lead, or nothing."""
    code: str
    status: str = WAITING


@dataclass
class Morning:
    """A real engine on its own database, and the tickets the test handed out."""

    engine: Engine
    clock: Clock
    visitors: dict[int, Visitor] = field(default_factory=dict)
    called: list[Visitor] = field(default_factory=list)
    """Everyone called, in calling order."""
    overtaken: list[tuple[Visitor, Visitor]] = field(default_factory=list)
    """(called, still waiting in that counter's lines) for every call."""

    def run(self, steps) -> None:
        for step in steps:
            getattr(self, step[0])(*step[1:])

    def walk_in(self, service: str, priority: bool = False):
        receipt = self.engine.issue_ticket(service, priority=priority)
        target = timedelta(minutes=self.engine.office.services[service].target_minutes)
        credit = self.engine.office.routing.priority_credit_minutes if priority else 0
        return self.add(receipt, self.clock.now + target, timedelta(minutes=credit))

    def appointment(self, service: str, minutes: int):
        slot = self.clock.now + timedelta(minutes=minutes)
        booking = self.engine.add_appointment(service, slot)
        outcome = self.engine.check_in(booking.reference)
        assert outcome.outcome == ACCEPTED, outcome
        lead = timedelta(minutes=self.engine.office.routing.appointment_lead_minutes)
        return self.add(outcome.receipt, max(slot, self.clock.now), lead)

    def add(self, receipt, reference: datetime, head_start: timedelta):
        ticket = receipt.ticket
        self.visitors[ticket.id] = Visitor(
            ticket.id, ticket.number, ticket.service, reference, head_start, receipt.code
        )
        return receipt

    def call(self, counter: str):
        waiting = self.waiting(self.engine.office.counters[counter].services)
        try:
            called = self.engine.call_next(counter).called
        except Refused:  # paused
            return None
        self.mark_done()
        if called is not None:
            visitor = self.visitors[called.id]
            visitor.status = CALLED
            self.called.append(visitor)
            self.overtaken += [(visitor, other) for other in waiting if other is not visitor]
        return called

    def finish(self, counter: str) -> None:
        try:
            self.engine.finish(counter)
        except Refused:  # nobody at that counter
            return
        self.mark_done()

    def mark_done(self) -> None:
        """Called visitors no longer held by a counter were finished."""
        held = {c.current.id for c in self.engine.status().counters if c.current}
        for visitor in self.visitors.values():
            if visitor.status == CALLED and visitor.id not in held:
                visitor.status = "done"

    def wait(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    def pause(self, counter: str) -> None:
        with contextlib.suppress(Refused):  # serving someone
            self.engine.pause(counter)

    def resume(self, counter: str) -> None:
        self.engine.resume(counter)

    def waiting(self, services=SERVICES) -> list[Visitor]:
        return [v for v in self.visitors.values() if v.status == WAITING and v.service in services]

    def receipts(self, service: str) -> list:
        """Each waiting ticket of `service` as its scanned code answers now, in line order."""
        receipts = []
        for visitor in self.waiting((service,)):
            answer = self.engine.check_in(visitor.code)
            assert answer.outcome == ALREADY_CHECKED_IN, answer
            receipts.append(answer.receipt)
        return sorted(receipts, key=lambda r: r.position)

    def estimates(self) -> dict:
        """Every service's estimate, and every waiting ticket's expected call, as of now."""
        shown = {s.code: s.estimated_wait_minutes for s in self.engine.services()}
        calls = {r.ticket.number: r.called_around for s in SERVICES for r in self.receipts(s)}
        return {"services": shown, "tickets": calls}


@pytest.fixture
def morning(new_database):
    """A new office per example: `morning()` or `morning(places=N)`."""
    engines = []

    def start(places: int = 3) -> Morning:
        # The example before is over: its connection goes (a server allows only so many).
        while engines:
            engines.pop().close()
        clock = Clock()
        engine = Engine(new_database(), clock=clock)
        engines.append(engine)
        engine.init(fair_office_text(places))
        return Morning(engine, clock)

    yield start
    while engines:
        engines.pop().close()


# Each example is a new database, which costs more on a server: PostgreSQL runs a fifth as many.
def examples(backend: str, on_sqlite: int) -> int:
    return on_sqlite if backend == "sqlite" else on_sqlite // 5


# the calling rule


def test_nobody_is_overtaken_by_more_than_the_credit_plus_the_lead(morning, backend):
    """Whoever a counter calls has a reference time no later than credit + lead after anyone
    else waiting in that counter's lines; more precisely, no later than its own head start
    (credit, lead or none) less the other's."""

    @settings(SETTINGS, max_examples=examples(backend, 300))
    @given(steps=STEPS)
    # Issue 11's cliff (a priority ticket after a long wait) and an appointment's lead.
    @example(steps=[("walk_in", "A", False), ("wait", 25), ("walk_in", "A", True), ("call", "1")])
    @example(steps=[("walk_in", "A", False), ("appointment", "A", 30), ("call", "1")])
    def morning_of(steps):
        day = morning()
        day.run(steps)
        routing = day.engine.office.routing
        credit, lead = routing.priority_credit_minutes, routing.appointment_lead_minutes
        bound = timedelta(minutes=credit + lead)
        for called, waiting in day.overtaken:
            overtaken_by = called.reference - waiting.reference
            story = (
                f"{called.number} (reference {called.reference:%H:%M}) was called before "
                f"{waiting.number} (reference {waiting.reference:%H:%M})"
            )
            assert overtaken_by <= bound, story
            assert overtaken_by <= called.head_start - waiting.head_start, story

    morning_of()


def test_a_reinstated_no_show_is_called_within_its_places(morning, backend):
    """Back `places` behind the head: at most that many others of its line go before it,
    while no priority ticket or appointment joins after it."""

    @settings(SETTINGS, max_examples=examples(backend, 100))
    @given(
        before=STEPS,
        meanwhile=st.lists(st.one_of(WALK_IN, APPOINTMENT, WAIT), max_size=10),
        counter=st.sampled_from(["1", "3"]),
        places=st.integers(1, 4),
        away=st.integers(0, 30),
        by_scan=st.booleans(),
        after=st.lists(
            st.one_of(
                st.tuples(st.just("walk_in"), st.sampled_from(WALK_INS)),
                st.tuples(st.sampled_from(["call", "finish"]), st.sampled_from(COUNTERS)),
                st.tuples(st.just("wait"), st.integers(1, 10)),
            ),
            max_size=30,
        ),
    )
    @example(  # two appointments at 09:20 checked in; B001 missed at 09:00, back at 09:05
        before=[],
        meanwhile=[("appointment", "B", 20), ("appointment", "B", 20)],
        counter="1",
        places=1,
        away=5,
        by_scan=False,
        after=[],
    )
    def morning_of(before, meanwhile, counter, places, away, by_scan, after):
        day = morning(places)
        day.run(before)
        missed = day.walk_in("B")
        number = missed.ticket.number
        day.run(meanwhile)
        day.engine.call_number(counter, number)  # a clerk calls it out of turn: nobody comes
        day.mark_done()
        day.engine.no_show(counter)
        day.wait(away)
        if by_scan:
            assert day.engine.check_in(missed.code).outcome == REINSTATED
        else:
            day.engine.reinstate(number)
        visitor = day.visitors[missed.ticket.id]
        visitor.status = WAITING
        back_at = len(day.called)
        day.run(after)
        for counter in itertools.cycle(("1", "3")):  # B's counters call until it is called
            if visitor.status != WAITING:
                break
            day.engine.resume(counter)
            day.call(counter)
        since = day.called[back_at:]
        ahead = [v.number for v in since[: since.index(visitor)] if v.service == "B"]
        assert len(ahead) <= places, f"{ahead} went before {number}"

    morning_of()


# the estimate


def test_the_estimate_rises_with_the_place_in_line(morning, backend):
    """Further back in one line is never expected sooner."""

    @settings(SETTINGS, max_examples=examples(backend, 100))
    @given(steps=STEPS_WITH_PAUSES, present=PRESENT)
    @example(
        steps=[("appointment", "A", 10), ("walk_in", "A", False)], present={"1", "2", "3", "4"}
    )
    def morning_of(steps, present):
        day = morning()
        day.run(steps)
        clerks_at(day.engine, *sorted(present))
        for service in SERVICES:
            receipts = day.receipts(service)
            moments = [r.called_around for r in receipts]
            if None in moments:
                assert set(moments) == {None}, f"line {service}: {moments}"
                continue
            for first, second in itertools.pairwise(receipts):
                assert first.called_around <= second.called_around, (
                    f"line {service}: {second.ticket.number} at {second.position} expected "
                    f"{second.called_around:%H:%M:%S}, before {first.ticket.number} at "
                    f"{first.position} ({first.called_around:%H:%M:%S})"
                )
                assert first.estimated_wait_minutes <= second.estimated_wait_minutes

    morning_of()


def test_a_pause_never_makes_the_estimate_fall(morning, backend):
    """A counter going on a break can only push expected calls later."""

    @settings(SETTINGS, max_examples=examples(backend, 100))
    @given(steps=STEPS_WITH_PAUSES, counter=st.sampled_from(COUNTERS))
    def morning_of(steps, counter):
        day = morning()
        day.run(steps)
        day.resume(counter)
        day.finish(counter)
        clerks_at(day.engine, *COUNTERS)
        before = day.estimates()
        day.engine.pause(counter)
        after = day.estimates()
        for kind in ("services", "tickets"):
            for key, was in before[kind].items():
                now = after[kind][key]
                assert was is None or (now is not None and now >= was), (
                    f"{kind} {key}: {was} before pausing Loket {counter}, {now} after"
                )

    morning_of()


def test_the_estimate_is_known_while_a_counter_for_it_is_there(morning, backend):
    """Open and present: a number. Paused but present counts too (a break ends)."""

    @settings(SETTINGS, max_examples=examples(backend, 100))
    @given(steps=STEPS_WITH_PAUSES, present=PRESENT)
    def morning_of(steps, present):
        day = morning()
        day.run(steps)
        clerks_at(day.engine, *sorted(present))
        states = {c.id: c.state for c in day.engine.status().counters}
        for service in day.engine.services():
            serving = [c.id for c in day.engine.office.counters_serving(service.code)]
            open_there = [c for c in serving if c in present and states[c] == "open"]
            there = [c for c in serving if c in present]
            if open_there:
                assert service.estimated_wait_minutes is not None, f"{service.code}: {open_there}"
            if there:
                assert service.estimated_wait_minutes is not None, f"{service.code}: {there} paused"
                moments = [r.called_around for r in day.receipts(service.code)]
                assert None not in moments, f"line {service.code}: {moments}"

    morning_of()
