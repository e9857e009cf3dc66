"""`loket simulate`: many simulated days of the office, routed by the engine's own rule.

A day is a discrete-event run: visitors arrive (Poisson, per service and hour), take a
ticket, and each free counter calls the ticket that `loket.rules.preferred` puts first,
exactly as `Engine.call_next` does (tests/test_simulate.py proves both choose the same
ticket). Figures are pooled over the simulated days, each with a 95% confidence interval
from its spread over groups of days.
"""

from __future__ import annotations

import math
import random
import re
import statistics
import textwrap
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from heapq import heappop, heappush

from loket import rules
from loket.config import Counter, Office, Service
from loket.errors import Refused
from loket.model import APPOINTMENT, CANCELLED, DONE, NO_SHOW, WAITING, WALK_IN, Ticket
from loket.stats import _minutes, percentile

MIN_HISTORY_DAYS = 3
MIN_HISTORY_VISITORS = 30
MOST_COUNTERS = 100  # a plan's or a recommendation's counters at one time
MOST_DAYS = 2000
MOST_VISITORS = 2_000_000  # simulated visitors in one run: each keeps its wait in memory
BATCHES = 10  # groups of days whose spread gives each figure's confidence interval
T95 = (12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26)  # Student's t, 1 to 9 df
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIME = re.compile(r"(\d{1,2}):(\d{2})")
SLOT = 15  # minutes: arrivals are learned and drawn per quarter of an hour
SLOTS = 24 * 60 // SLOT
LONGER_THAN_PROMISED = 10  # minutes: a visitor who waited this much longer than promised
NO_SHOW_MINUTES = 2.0  # a counter waits this long for a visitor who never comes, lacking history


# inputs


@dataclass(frozen=True)
class Interval:
    """Counters staffed from `start` to `end`, minutes after local midnight."""

    start: int
    end: int
    counters: int


@dataclass(frozen=True)
class Plan:
    """How many counters are staffed when; visitors arrive only while some are."""

    intervals: tuple[Interval, ...]

    @property
    def opens(self) -> int:
        return self.intervals[0].start

    @property
    def closes(self) -> int:
        return self.intervals[-1].end

    def counters_at(self, minute: float) -> int:
        """Counters staffed at `minute`; after closing, the last ones stay to empty the line."""
        for interval in self.intervals:
            if interval.start <= minute < interval.end:
                return interval.counters
        return self.intervals[-1].counters if minute >= self.closes else 0

    def most(self) -> int:
        return max(interval.counters for interval in self.intervals)

    def text(self) -> str:
        """The plan as `--plan` takes it: '08:30-12:00=4, 12:00-16:00=3'."""
        return ", ".join(
            f"{_clock(i.start)}-{_clock(i.end)}={i.counters}" for i in _merged(self.intervals)
        )


def constant_plan(opens: int, closes: int, counters: int) -> Plan:
    return Plan((Interval(opens, closes, counters),))


@dataclass(frozen=True)
class Goal:
    """A share of visitors called within some minutes, e.g. 90% within 15."""

    share: float
    minutes: float

    def text(self) -> str:
        return f"{self.share:.0%} within {self.minutes:g} minutes"


@dataclass(frozen=True)
class ServiceLoad:
    """What one service brings in a day: arrivals per local hour and the time each takes."""

    code: str
    walk_ins: tuple[float, ...]
    """Walk-in tickets per hour, in each quarter of an hour of the day (SLOTS of them)."""
    appointments: tuple[float, ...] = (0.0,) * SLOTS
    """Appointment holders checking in per hour, in each quarter of an hour of the day."""
    minutes: tuple[float, ...] = ()
    """Recorded service times to draw from; empty: exponential with `mean_minutes`."""
    mean_minutes: float = 10.0
    early_minutes: tuple[float, ...] = (0.0,)
    """How long before their appointment holders checked in (negative: late)."""
    priority: float = 0.0
    no_show: float = 0.0
    no_show_minutes: tuple[float, ...] = (NO_SHOW_MINUTES,)
    daily_limit: int | None = None

    def rate_at(self, minute: int) -> float:
        """Visitors per hour at `minute` after midnight."""
        slot = minute // SLOT
        return self.walk_ins[slot] + self.appointments[slot]

    def work_minutes(self) -> float:
        """A visitor's mean time at a counter, no-shows included."""
        served = statistics.fmean(self.minutes) if self.minutes else self.mean_minutes
        return (1 - self.no_show) * served + self.no_show * statistics.fmean(self.no_show_minutes)


@dataclass(frozen=True)
class Load:
    """The office's visitors: per service, and where the figures come from."""

    services: dict[str, ServiceLoad]
    source: str
    days: tuple[date, ...] = ()
    """The recorded days it was learned from (none for given rates)."""

    def busy_hours(self) -> tuple[int, int]:
        """From the first quarter of an hour with visitors to the end of the last, in minutes."""
        busy = [n for n in range(SLOTS) if any(s.rate_at(n * SLOT) for s in self.services.values())]
        if not busy:
            raise Refused(f"{self.source} has no visitors to simulate")
        return busy[0] * SLOT, (busy[-1] + 1) * SLOT


@dataclass(frozen=True)
class Desk:
    """A staffed counter in the simulation and the services it calls."""

    id: str
    services: frozenset[str]


def parse_clock(text: str) -> int:
    """'08:30' as minutes after midnight; '24:00' is the end of the day."""
    match = TIME.fullmatch(text.strip())
    hours, minutes = (int(match[1]), int(match[2])) if match else (-1, -1)
    if not (0 <= hours <= 23 and 0 <= minutes <= 59) and (hours, minutes) != (24, 0):
        raise ValueError(f"{text.strip()!r} is not a time like 08:30")
    return hours * 60 + minutes


def parse_hours(text: str) -> tuple[int, int]:
    """'09:00-17:00' as (540, 1020)."""
    start, dash, end = text.partition("-")
    if not dash:
        raise ValueError(f"{text.strip()!r} is not a span like 09:00-12:00")
    opens, closes = parse_clock(start), parse_clock(end)
    if closes <= opens:
        raise ValueError(f"{text.strip()} ends before it starts")
    return opens, closes


def parse_plan(text: str) -> Plan:
    """'08:30-12:00=4, 12:00-16:00=3' as a Plan; ValueError with a sentence if it is impossible."""
    intervals = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        span, equals, count = part.partition("=")
        if not equals or not count.strip().isdigit():
            raise ValueError(f"{part!r} is not like 09:00-12:00=3 (hours, then = and counters)")
        counters = int(count)
        if counters > MOST_COUNTERS:
            raise ValueError(f"{part}: at most {MOST_COUNTERS} counters at a time")
        intervals.append(Interval(*parse_hours(span), counters))
    if not intervals:
        raise ValueError("the plan is empty: give hours and counters, such as 09:00-12:00=3")
    intervals.sort(key=lambda i: i.start)
    for before, after in zip(intervals, intervals[1:], strict=False):
        if after.start < before.end:
            raise ValueError(
                f"{_clock(before.start)}-{_clock(before.end)} and "
                f"{_clock(after.start)}-{_clock(after.end)} overlap"
            )
    if all(i.counters == 0 for i in intervals):
        raise ValueError("the plan has zero counters: no visitor would ever be called")
    if intervals[-1].counters == 0:
        raise ValueError(
            "the plan ends with zero counters: whoever still waits would never be called"
        )
    return Plan(tuple(intervals))


def parse_rate(text: str) -> tuple[str, float]:
    """'A=20/h' (or 'A=20') as ('A', 20.0) visitors per hour."""
    code, value = _pair(text, "A=20/h")
    number = value.removesuffix("/h").strip()
    rate = _number(number, text, "A=20/h")
    if not 0 < rate <= 10_000:
        raise ValueError(f"{text.strip()}: arrivals per hour must be above 0 (and at most 10000)")
    return code, rate


def parse_minutes(text: str) -> tuple[str, float]:
    """'A=6' as ('A', 6.0) minutes at the counter on average."""
    code, value = _pair(text, "A=6")
    minutes = _number(value.removesuffix("min").strip(), text, "A=6")
    if not 0 < minutes <= 24 * 60:
        raise ValueError(f"{text.strip()}: minutes at the counter must be above 0")
    return code, minutes


def parse_goal(text: str) -> Goal:
    """'90% within 15' as Goal(0.9, 15)."""
    match = re.fullmatch(
        r"\s*(\d+(?:\.\d+)?)\s*%\s+within\s+(\d+(?:\.\d+)?)\s*(?:min\w*)?\s*", text
    )
    if not match or not 0 < float(match[1]) <= 100:
        raise ValueError(f"{text.strip()!r} is not a goal like '90% within 15' (minutes)")
    return Goal(float(match[1]) / 100, float(match[2]))


def parse_weekday(text: str) -> int:
    """'tue' (or 'tuesday') as 1; Monday is 0."""
    word = text.strip().lower()
    names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    if word not in WEEKDAYS and word not in names:
        raise ValueError(f"{text.strip()!r} is not a weekday: mon, tue, wed, thu, fri, sat or sun")
    return WEEKDAYS.index(word[:3])


def _pair(text: str, example: str) -> tuple[str, str]:
    code, equals, value = text.partition("=")
    code = code.strip().upper()
    if not equals or not re.fullmatch(r"[A-Z]{1,2}", code):
        raise ValueError(f"{text.strip()!r} is not like {example} (a service code, = and a number)")
    return code, value.strip()


def _number(text: str, whole: str, example: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{whole.strip()!r} is not like {example}") from None
    if not math.isfinite(value):
        raise ValueError(f"{whole.strip()!r} is not like {example}")
    return value


# the load: given rates, or learned from the office's history


def given_rates(
    office: Office,
    rates: dict[str, float],
    minutes: dict[str, float],
    recorded: Load | None = None,
) -> Load:
    """Constant arrivals per hour per service; exponential service times unless `recorded`
    (a learned load) gives each service's recorded times."""
    services = {}
    for code, rate in rates.items():
        known = office.services.get(code)
        learned = recorded.services.get(code) if recorded else None
        if recorded is not None and (learned is None or not learned.minutes):
            raise Refused(f"{recorded.source} has no service times of {code} to draw from")
        if known is not None and not known.walk_in:
            raise Refused(
                f"service {code} takes appointments only and turns every walk-in away: "
                f"leave out --arrivals {code}=..."
            )
        if code not in minutes and known is None and learned is None:
            raise Refused(f"give the minutes a visitor of {code} takes, such as --minutes {code}=6")
        mean = minutes.get(code) or (known.minutes if known else 10.0)
        services[code] = ServiceLoad(
            code,
            walk_ins=(rate,) * SLOTS,
            minutes=learned.minutes if learned else (),
            mean_minutes=mean,
            daily_limit=known.daily_limit if known else None,
        )
    unknown = sorted(set(minutes) - set(rates))
    if unknown:
        raise Refused(f"--minutes {unknown[0]}=... has no --arrivals {unknown[0]}=...")
    rates_text = ", ".join(f"{code} {rate:g}/h" for code, rate in rates.items())
    return Load(services, f"given rates ({rates_text})")


def learn(tickets: Iterable[Ticket], office: Office, source: str) -> Load:
    """The load that `tickets` (`Engine.tickets_between`) show, per service and local hour.

    Cancelled tickets are left out: those visitors gave up, which the simulation does not
    model. A day counts when it holds at least one ticket.
    """
    kept = [t for t in tickets if t.status != CANCELLED]
    days = tuple(sorted({date.fromisoformat(t.service_day) for t in kept}))
    if len(days) < MIN_HISTORY_DAYS or len(kept) < MIN_HISTORY_VISITORS:
        raise Refused(
            f"{source} holds {_counted(len(days), 'day')} with "
            f"{_counted(len(kept), 'visitor')}: too little to learn from (at least "
            f"{MIN_HISTORY_DAYS} days and {MIN_HISTORY_VISITORS} visitors); widen --from and "
            "--to, or give --arrivals and --minutes"
        )
    services = {}
    for code in sorted({t.service for t in kept}):
        mine = [t for t in kept if t.service == code]
        known = office.services.get(code)
        services[code] = _learned_service(mine, len(days), office, known)
    return Load(services, source, days)


def _learned_service(tickets: list[Ticket], days: int, office: Office, known) -> ServiceLoad:
    zone = office.timezone

    def per_hour(kind: str) -> tuple[float, ...]:
        counts = [0] * SLOTS
        for t in tickets:
            if t.kind == kind:
                local = t.arrived_at.astimezone(zone)
                counts[(local.hour * 60 + local.minute) // SLOT] += 1
        return tuple(count / days * 60 / SLOT for count in counts)

    served = sorted(_minutes(t.finished_at - t.called_at) for t in tickets if _ended(t, DONE))
    missed = [_minutes(t.finished_at - t.called_at) for t in tickets if _ended(t, NO_SHOW)]
    walk_ins = [t for t in tickets if t.kind == WALK_IN]
    early = [
        (t.appointment_at - t.arrived_at).total_seconds() / 60
        for t in tickets
        if t.kind == APPOINTMENT and t.appointment_at
    ]
    return ServiceLoad(
        tickets[0].service,
        walk_ins=per_hour(WALK_IN),
        appointments=per_hour(APPOINTMENT),
        minutes=tuple(served),
        mean_minutes=known.minutes if known else 10.0,
        early_minutes=tuple(early) or (0.0,),
        priority=sum(t.priority for t in walk_ins) / len(walk_ins) if walk_ins else 0.0,
        no_show=len(missed) / (len(served) + len(missed)) if served or missed else 0.0,
        no_show_minutes=tuple(missed) or (NO_SHOW_MINUTES,),
        daily_limit=known.daily_limit if known else None,
    )


def _ended(ticket: Ticket, status: str) -> bool:
    return (
        ticket.status == status and ticket.called_at is not None and ticket.finished_at is not None
    )


# one simulated day


@dataclass
class Visitor:
    """One simulated visitor: when they check in, for what, and how long they will take."""

    service: str
    arrives: float
    """Elapsed minutes after local midnight when the ticket is taken (or the appointment
    checked in)."""
    minutes: float
    """Their time at the counter (a no-show: how long the counter waits for them)."""
    no_show: bool = False
    priority: bool = False
    appointment_at: float | None = None
    called: float | None = None
    promised: int | None = None
    """The wait in minutes the ticket promised (`rules.promise`); None: none."""
    expected: float | None = None
    """The wait it expected before rounding (the receipt's `called_around`, in minutes)."""


def visitors_of_day(load: Load, plan: Plan, rng: random.Random) -> list[Visitor]:
    """A day's visitors in arrival order: Poisson arrivals in each open hour of the plan."""
    visitors = []
    for service in load.services.values():
        for start, end in _open_pieces(plan, SLOT):
            for rate, kind in (
                (service.walk_ins[start // SLOT], WALK_IN),
                (service.appointments[start // SLOT], APPOINTMENT),
            ):
                moment = start + rng.expovariate(rate / 60) if rate else end
                while moment < end:
                    visitors.append(_visitor(service, moment, kind, rng))
                    moment += rng.expovariate(rate / 60)
    visitors.sort(key=lambda v: v.arrives)
    return visitors


def _visitor(service: ServiceLoad, moment: float, kind: str, rng: random.Random) -> Visitor:
    no_show = rng.random() < service.no_show
    if no_show:
        minutes = rng.choice(service.no_show_minutes)
    elif service.minutes:
        minutes = rng.choice(service.minutes)
    else:
        minutes = rng.expovariate(1 / service.mean_minutes)
    visitor = Visitor(service.code, moment, minutes, no_show)
    if kind == APPOINTMENT:
        visitor.appointment_at = moment + rng.choice(service.early_minutes)
    else:
        visitor.priority = rng.random() < service.priority
    return visitor


def moment_of(midnight: datetime, minute: float) -> datetime:
    """The UTC moment `minute` elapsed minutes after local `midnight`.

    Counted in UTC, so that on a day the clocks change a later minute is a later moment
    (local midnight plus minutes would put 03:00 before 02:59 in spring).
    """
    return midnight.astimezone(UTC) + timedelta(minutes=minute)


class ModelRouter:
    """The engine's rules (`loket.rules`) on tickets held in memory, and each ticket's promise.

    Each service's waiting tickets sit in a list sorted by (due, id): a counter calls by
    `rules.preferred` among the heads of its lines, and a new ticket's place in every line
    its counters share is a bisection. Appointments are booked at the start of the day
    (`book`), so the estimate counts those not yet checked in, as the engine's does.
    """

    def __init__(self, office: Office, day: date):
        self.office = office
        self.midnight = datetime.combine(day, datetime.min.time(), office.timezone)
        self.shared = {
            code: list(dict.fromkeys(s for c in office.counters_serving(code) for s in c.services))
            for code in office.services
        }
        self.prefer = {c.id: c.prefer for c in office.counters.values()}
        self.lines: dict[str, list[tuple[datetime, int]]] = {code: [] for code in office.services}
        self.waiting: dict[int, tuple[Ticket, Visitor]] = {}
        self.booked: dict[str, list[datetime]] = {code: [] for code in office.services}
        """Per service, the times of appointments booked and not yet checked in, sorted."""
        self.served = {code: [0, 0.0] for code in office.services}
        """Per service: visitors served today and their seconds, as `line_counts` keeps them."""
        self.at_counters: dict[str, tuple[str, datetime]] = {}
        self.capacity: dict[str, float] = {}
        self.walk_ins: dict[str, int] = {}
        self.issued: dict[str, int] = {}
        self.tickets = 0

    def moment(self, minute: float) -> datetime:
        return moment_of(self.midnight, minute)

    def book(self, visitors: Iterable[Visitor], minute: float) -> None:
        """Book every appointment holder of the day, as an office does before it opens."""
        for visitor in visitors:
            svc = self.office.services.get(visitor.service)
            if visitor.appointment_at is not None and svc is not None and svc.appointments:
                insort(self.booked[visitor.service], self.moment(visitor.appointment_at))

    def staff(self, desks: Sequence[Desk], minute: float) -> None:
        """These desks are staffed (open, their clerks present) from `minute`; no others."""
        self.capacity = {desk.id: 1.0 for desk in desks}

    def arrive(self, visitor: Visitor) -> bool:
        """The visitor takes a ticket or checks in, and `visitor.promised` is set; False when
        the engine would refuse them (see `Engine.issue_ticket` and `Engine.check_in`)."""
        now = self.moment(visitor.arrives)
        svc = self.office.services.get(visitor.service)
        if svc is None:
            return False
        if visitor.appointment_at is None:
            if not svc.walk_in or not self._open(svc, now) or self._limit_reached(svc):
                return False
            ticket = self._ticket(svc, now, WALK_IN, visitor.priority)
            minutes = self._estimate(ticket, now)
            if self._called_after_closing(svc, now, minutes):
                return False
        else:
            ticket = self._checked_in(svc, visitor, now)
            if ticket is None:
                return False
            minutes = self._estimate(ticket, now)
        self._join(ticket, visitor)
        visitor.promised, visitor.expected = rules.promise(minutes), minutes
        return True

    def _open(self, svc: Service, now: datetime) -> bool:
        return svc.is_open(now.astimezone(self.office.timezone))

    def _called_after_closing(self, svc: Service, now: datetime, minutes: float | None) -> bool:
        """A walk-in the counters could not call before the service closes: full for today."""
        closes = svc.closes_at(now.astimezone(self.office.timezone))
        return None not in (closes, minutes) and now + timedelta(minutes=minutes) > closes

    def _limit_reached(self, svc: Service) -> bool:
        return self.walk_ins.get(svc.code, 0) >= (svc.daily_limit or math.inf)

    def _checked_in(self, svc: Service, visitor: Visitor, now: datetime) -> Ticket | None:
        """The ticket `Engine.check_in` gives a booked holder arriving `now`, or None."""
        slot = self.moment(visitor.appointment_at)
        booked = self.booked[svc.code]
        where = bisect_left(booked, slot)
        policy = self.office.checkin
        if where == len(booked) or booked[where] != slot:
            return None  # never booked: the service takes no appointments
        if now < slot - timedelta(minutes=policy.early_minutes):
            return None
        if now <= slot + timedelta(minutes=policy.late_minutes):
            del booked[where]
            return self._ticket(svc, now, APPOINTMENT, False, slot)
        if policy.late_action == "refuse" or not svc.walk_in or not self._open(svc, now):
            return None
        if self._limit_reached(svc):
            return None
        del booked[where]
        return self._ticket(svc, now, WALK_IN, False)

    def _ticket(
        self, svc: Service, now: datetime, kind: str, priority: bool, slot: datetime | None = None
    ) -> Ticket:
        """A ticket as `Engine._insert_ticket` makes it (not yet in its line)."""
        prefix = self.office.appointment_prefix
        series = prefix if kind == APPOINTMENT and prefix else svc.code
        seq = self.issued.get(series, 0) + 1
        return Ticket(
            id=self.tickets + 1,
            number=self.office.format_number(series, seq),
            series=series,
            seq=seq,
            service_day=self.midnight.date().isoformat(),
            service=svc.code,
            kind=kind,
            priority=priority,
            status=WAITING,
            arrived_at=now,
            appointment_at=slot,
            due_at=rules.due_at(self.office, svc.code, kind, priority, now, slot),
        )

    def _join(self, ticket: Ticket, visitor: Visitor) -> None:
        self.tickets = ticket.id
        self.issued[ticket.series] = ticket.seq
        if ticket.kind == WALK_IN:
            self.walk_ins[ticket.service] = self.walk_ins.get(ticket.service, 0) + 1
        insort(self.lines[ticket.service], rules.calling_key(ticket))
        self.waiting[ticket.id] = (ticket, visitor)

    def _estimate(self, ticket: Ticket, now: datetime) -> float | None:
        """The minutes `Engine._receipt` expects: `rules.estimate` of the engine's Workload."""
        key = rules.calling_key(ticket)
        shared = self.shared[ticket.service]
        first = now - timedelta(minutes=self.office.checkin.late_minutes)
        last = ticket.due_at + timedelta(minutes=self.office.routing.appointment_lead_minutes)
        booked = {
            code: bisect_left(self.booked[code], last) - bisect_left(self.booked[code], first)
            for code in shared
        }
        work = rules.Workload(
            ahead={code: bisect_left(self.lines[code], key) for code in shared},
            appointments=booked,
            means={
                code: rules.mean_minutes(svc.minutes, *self.served[code])
                for code, svc in self.office.services.items()
            },
            at_counters={
                counter: (code, (now - called).total_seconds() / 60)
                for counter, (code, called) in self.at_counters.items()
            },
            capacity=self.capacity,
        )
        return rules.expected_wait(
            self.office, ticket, now, rules.estimate(self.office, ticket.service, work)
        )

    def call(self, desk: Desk, minute: float) -> Visitor | None:
        """The waiting visitor `desk` calls next, as `Engine.call_next` would."""
        now = self.moment(minute)
        heads = [
            self.waiting[line[0][1]][0] for code in desk.services if (line := self.lines[code])
        ]
        ticket = rules.preferred(heads, self.prefer.get(desk.id, ()), now)
        if ticket is None:
            return None
        del self.lines[ticket.service][0]
        self.at_counters[desk.id] = (ticket.service, now)
        return self.waiting.pop(ticket.id)[1]

    def end(self, desk: Desk, visitor: Visitor, minute: float) -> None:
        """The visit at `desk` ended (served or a no-show); a served one's time counts."""
        code, called = self.at_counters.pop(desk.id)
        if not visitor.no_show:
            seconds = max(0, round((self.moment(minute) - called).total_seconds()))
            self.served[code][0] += 1
            self.served[code][1] += seconds


Router = Callable[[date], ModelRouter]
"""Makes the router of one simulated day: the model, or the real engine (simulate_history)."""


@dataclass
class Day:
    """What one simulated day measured."""

    waits: list[tuple[int, float, str]] = field(default_factory=list)
    """(local hour of arrival, minutes until first called, service) per visitor called."""
    errors: list[tuple[int, float]] = field(default_factory=list)
    """(local hour of arrival, wait minus the promised wait) per visitor with a promise."""
    lateness: list[tuple[int, float]] = field(default_factory=list)
    """(local hour of arrival, first call minus the slot) per appointment holder."""
    busy: dict[int, float] = field(default_factory=dict)
    """Counter-minutes spent with visitors, per local hour (before closing)."""
    longest: dict[int, int] = field(default_factory=dict)
    """The longest line seen per local hour."""
    arrivals: dict[int, int] = field(default_factory=dict)
    """Visitors arriving per local hour, those turned away left out."""
    turned_away: int = 0
    overrun: float = 0.0
    """Minutes after closing until the last visitor left."""


def run_day(visitors: list[Visitor], plan: Plan, desks: Sequence[Desk], router: ModelRouter) -> Day:
    """Serve the day's visitors: each free staffed counter calls by the calling rule.

    The day's appointments are booked when it opens; a desk is staffed (open, its clerk
    present) while the plan counts it.
    """
    day = Day()
    router.book(visitors, plan.opens)
    events: list[tuple[float, int, int, object]] = []  # (minute, order, sequence, what)
    sequence = 0
    for visitor in visitors:
        events.append((visitor.arrives, 2, sequence, visitor))
        sequence += 1
    for interval in plan.intervals:
        events.append((interval.start, 0, sequence, None))
        sequence += 1
    events.sort(key=lambda e: e[:3])
    idle = {desk.id: desk for desk in desks}
    waiting = 0
    last_end = plan.closes

    def call(desk: Desk, minute: float) -> bool:
        nonlocal sequence, waiting
        visitor = router.call(desk, minute)
        if visitor is None:
            return False
        waiting -= 1
        visitor.called = minute
        hour, wait = int(visitor.arrives // 60), minute - visitor.arrives
        day.waits.append((hour, wait, visitor.service))
        if visitor.promised is not None:
            day.errors.append((hour, wait - visitor.promised))
        if visitor.appointment_at is not None:
            day.lateness.append((hour, minute - visitor.appointment_at))
        heappush(events, (minute + visitor.minutes, 1, sequence, (desk, visitor)))
        sequence += 1
        del idle[desk.id]
        return True

    def call_at_idle(minute: float) -> None:
        staffed = desks[: plan.counters_at(minute)]
        for desk in staffed:
            if desk.id in idle:
                call(desk, minute)

    while events:
        minute, order, _, what = heappop(events)
        if order == 0:  # the plan changes how many counters are staffed
            router.staff(desks[: plan.counters_at(minute)], minute)
            call_at_idle(minute)
        elif order == 1:  # a visit ends
            desk, visitor = what
            router.end(desk, visitor, minute)
            _add_busy(day.busy, visitor.called, minute, plan.closes)
            last_end = max(last_end, minute)
            idle[desk.id] = desk
            if desk in desks[: plan.counters_at(minute)]:
                call(desk, minute)
        else:
            if not router.arrive(what):
                day.turned_away += 1
                continue
            hour = int(minute // 60)
            day.arrivals[hour] = day.arrivals.get(hour, 0) + 1
            waiting += 1
            day.longest[hour] = max(day.longest.get(hour, 0), waiting)
            call_at_idle(minute)
    day.overrun = last_end - plan.closes
    return day


def _add_busy(busy: dict[int, float], start: float, end: float, closes: int) -> None:
    """Add a visit's minutes to the hours they fell in (up to closing time)."""
    end = min(end, closes)
    while start < end:
        hour = int(start // 60)
        upto = min(end, (hour + 1) * 60)
        busy[hour] = busy.get(hour, 0.0) + upto - start
        start = upto


# many days, and their figures


@dataclass(frozen=True)
class Figure:
    """A figure over all simulated days and its 95% interval's half-width (None from one day)."""

    mean: float | None
    half_width: float | None = None

    def to_json(self, digits: int = 1) -> float | None:
        return None if self.mean is None else round(self.mean, digits)


@dataclass(frozen=True)
class HourFigures:
    """One local hour: visitors arriving in it and how they fared; counters' busy share."""

    hour: int
    arrivals: Figure
    mean_wait: Figure
    p90_wait: Figure
    within_target: Figure
    utilisation: Figure
    longest_line: Figure


@dataclass(frozen=True)
class PromiseFigures:
    """How well tickets kept their promise, and the longest waits, over the whole day."""

    abs_error: Figure
    """Mean minutes between the promised wait and the real one."""
    over: Figure
    """The share who waited more than LONGER_THAN_PROMISED minutes longer than promised."""
    longest: dict[str, Figure]
    """Per service, the longest wait of a day."""
    lateness_p95: Figure
    """Appointment holders first called after their time: the 95th percentile, minutes."""

    def to_dict(self) -> dict:
        def both(figure: Figure, digits: int = 1) -> dict:
            half = None if figure.half_width is None else round(figure.half_width, digits)
            return {"mean": figure.to_json(digits), "ci95": half}

        return {
            "mean_abs_error_minutes": both(self.abs_error),
            "longer_than_promised_share": both(self.over, 3),
            "longer_than_promised_minutes": LONGER_THAN_PROMISED,
            "longest_wait_minutes": {code: both(f) for code, f in self.longest.items()},
            "appointment_lateness_p95_minutes": both(self.lateness_p95),
        }

    def lines(self) -> list[str]:
        """The figures as sentences, wrapped at 80 columns."""
        if self.abs_error.mean is None:
            return []
        longest = ", ".join(
            f"{code} {_shown(f, '{:.0f}', True)}" for code, f in self.longest.items() if f.mean
        )
        text = (
            f"The ticket's promise was off by {_shown(self.abs_error, '{:.1f}', True)} minutes "
            f"on average; {_shown(self.over, '{:.0%}', True)} waited more than "
            f"{LONGER_THAN_PROMISED} minutes longer than promised. Longest wait of a day: "
            f"{longest} minutes."
        )
        if self.lateness_p95.mean is not None:
            text += (
                " Appointments: 95% called at most "
                f"{_shown(self.lateness_p95, '{:.1f}', True)} minutes after their time."
            )
        return textwrap.wrap(text, 80)


@dataclass(frozen=True)
class Result:
    """A simulation's figures per hour and for the whole day."""

    hours: list[HourFigures]
    overall: HourFigures
    turned_away: Figure
    overrun: Figure
    plan: Plan
    days: int
    seed: int
    target_minutes: float
    load: Load
    promises: PromiseFigures | None = None
    every_service: bool = False
    """The plan's counters serve every service (not the office's counters as configured)."""

    def counters_text(self) -> str:
        if self.every_service:
            return "counters serving every service"
        return "the office's counters as configured, each serving its own services"

    def to_dict(self) -> dict:
        return {
            "source": self.load.source,
            "learned_from_days": len(self.load.days),
            "plan": self.plan.text(),
            "counters": self.counters_text(),
            "days": self.days,
            "seed": self.seed,
            "target_wait_minutes": self.target_minutes,
            "hours": [_hour_dict(h) for h in self.hours],
            "overall": {
                **{k: v for k, v in _hour_dict(self.overall).items() if k != "hour"},
                "visitors": self.overall.arrivals.to_json(),
                "turned_away": self.turned_away.to_json(),
                "overrun_minutes": self.overrun.to_json(),
            },
            "promises": None if self.promises is None else self.promises.to_dict(),
            "confidence": "95% interval half-widths over the simulated days, in ci95",
        }


def simulate(
    load: Load,
    office: Office,
    plan: Plan | None = None,
    days: int = 100,
    seed: int = 1,
    target_minutes: float | None = None,
    router: Router | None = None,
    warm_up_hours: int = 0,
    span: tuple[int, int] | None = None,
) -> Result:
    """Run `days` simulated days of `load` with `plan` (None: the office's own counters,
    staffed over `span`, by default the hours in which visitors come).

    The whole day's figures leave out visitors of the first `warm_up_hours`: a check
    against steady-state theory must not count the morning's empty start. Refused, before
    any day runs, when the counters could never keep up (utilisation >= 1) or a service
    with visitors has no counter.
    """
    every_service = plan is not None
    if plan is None:
        plan = constant_plan(*(span or load.busy_hours()), len(office.counters))
        desks = [Desk(c.id, frozenset(c.services)) for c in office.counters.values()]
    else:
        everything = frozenset(load.services)
        desks = [Desk(str(n), everything) for n in range(1, plan.most() + 1)]
    _refuse_impossible(load, plan, desks)
    model = _with_desks(office, load, desks) if every_service else office
    router = router or (lambda day: ModelRouter(model, day))
    target = office.target_wait_minutes if target_minutes is None else target_minutes
    _refuse_too_long(load, plan, days)
    records = []
    for n in range(days):
        day = date(2026, 1, 5) + timedelta(days=n)  # any days: only their local hours matter
        visitors = visitors_of_day(load, plan, random.Random(f"{seed}-{n}"))
        records.append(run_day(visitors, plan, desks, router(day)))
    hours = [h for h in range(24) if _open_minutes(plan, h)]
    return Result(
        hours=[_hour_figures(records, plan, h, target) for h in hours],
        overall=_hour_figures(records, plan, hours[warm_up_hours:], target),
        turned_away=_daily([d.turned_away for d in records]),
        overrun=_daily([d.overrun for d in records]),
        promises=_promise_figures(records, hours[warm_up_hours:], list(load.services)),
        plan=plan,
        days=days,
        seed=seed,
        target_minutes=target,
        load=load,
        every_service=every_service,
    )


def _with_desks(office: Office, load: Load, desks: Sequence[Desk]) -> Office:
    """The office with the plan's desks as its counters, and a service for every code of
    `load` (the config's, else one with the given minutes), for the engine's rules."""
    services = dict(office.services)
    for code, service in load.services.items():
        if code not in services:
            services[code] = Service(code, {"en": code}, minutes=service.mean_minutes)
    counters = {d.id: Counter(d.id, d.id, tuple(sorted(d.services))) for d in desks}
    return replace(office, services=services, counters=counters)


def _refuse_impossible(load: Load, plan: Plan, desks: Sequence[Desk]) -> None:
    for code in load.services:
        if not any(code in desk.services for desk in desks):
            raise Refused(f"service {code} has visitors but no counter serves it")
    work = sum(_work_a_day(service, plan) for service in load.services.values())
    capacity = sum(i.counters * (i.end - i.start) for i in plan.intervals)
    if work >= capacity:
        raise Refused(
            f"the visitors bring {work / 60:.1f} hours of work a day and the plan staffs "
            f"{capacity / 60:.1f} counter-hours: the counters would be busy {work / capacity:.0%} "
            "of the time, and the line would never empty while they work; plan more counters"
        )


def _refuse_too_long(load: Load, plan: Plan, days: int) -> None:
    if days > MOST_DAYS:
        raise Refused(f"{days} days is too many: simulate at most {MOST_DAYS}")
    visitors = _visitors_a_day(load, plan)
    if visitors * days > MOST_VISITORS:
        raise Refused(
            f"{days} days of about {visitors:.0f} visitors is more than the "
            f"{MOST_VISITORS:,} visitors one run holds: simulate at most "
            f"{max(1, int(MOST_VISITORS // visitors))} days"
        )


def _work_a_day(service: ServiceLoad, plan: Plan) -> float:
    """Counter-minutes of work a service brings while `plan` is staffed; walk-ins past its
    daily limit are turned away and bring none."""
    pieces = _open_pieces(plan, SLOT)
    walk_ins = sum(service.walk_ins[start // SLOT] * (end - start) / 60 for start, end in pieces)
    booked = sum(service.appointments[start // SLOT] * (end - start) / 60 for start, end in pieces)
    walk_ins = min(walk_ins, service.daily_limit or math.inf)
    return (walk_ins + booked) * service.work_minutes()


def _visitors_a_day(load: Load, plan: Plan) -> float:
    """How many visitors `load` brings on average while `plan` is staffed."""
    return sum(
        service.rate_at(start) * (end - start) / 60
        for service in load.services.values()
        for start, end in _open_pieces(plan, SLOT)
    )


def _hour_figures(
    records: list[Day], plan: Plan, hours: int | list[int], target: float
) -> HourFigures:
    """The figures of visitors arriving in one hour, or in a list of them (the whole day).

    Each is pooled over all days (a mean of daily means would weigh a busy day like a
    quiet one); its interval comes from the spread of the same figure over BATCHES groups
    of days, day n in group n % BATCHES (so each group spans the whole run).
    """
    chosen = {hours} if isinstance(hours, int) else set(hours)
    days = [_DayPart(day, chosen) for day in records]
    staffed = sum(_staffed_minutes(plan, hour) for hour in chosen)
    measures = {
        "arrivals": lambda part: sum(d.arrivals for d in part) / len(part),
        "mean_wait": lambda part: _pooled(part, statistics.fmean),
        "p90_wait": lambda part: _pooled(part, lambda waits: percentile(waits, 90)),
        "within_target": lambda part: _pooled(
            part, lambda waits: sum(w <= target for w in waits) / len(waits)
        ),
        "utilisation": lambda part: (
            sum(d.busy for d in part) / (staffed * len(part)) if staffed else None
        ),
        "longest_line": lambda part: statistics.fmean(d.longest for d in part),
    }
    batches = [days[n::BATCHES] for n in range(min(BATCHES, len(days)))]
    figures = {
        name: _figure(measure(days), [measure(batch) for batch in batches])
        for name, measure in measures.items()
    }
    return HourFigures(hour=hours if isinstance(hours, int) else -1, **figures)


def _promise_figures(records: list[Day], hours: list[int], services: list[str]) -> PromiseFigures:
    """The promise figures of visitors arriving in `hours`, pooled and with intervals as above."""
    days = [_DayPart(day, set(hours)) for day in records]

    def pooled(values: Callable[[_DayPart], list[float]], measure) -> Callable:
        def over(part: list[_DayPart]) -> float | None:
            pool = sorted(v for d in part for v in values(d))
            return measure(pool) if pool else None

        return over

    def longest(code: str) -> Callable:
        def over(part: list[_DayPart]) -> float | None:
            seen = [d.longest_wait[code] for d in part if code in d.longest_wait]
            return statistics.fmean(seen) if seen else None

        return over

    batches = [days[n::BATCHES] for n in range(min(BATCHES, len(days)))]

    def figure(measure: Callable) -> Figure:
        return _figure(measure(days), [measure(batch) for batch in batches])

    return PromiseFigures(
        abs_error=figure(pooled(lambda d: [abs(e) for e in d.errors], statistics.fmean)),
        over=figure(
            pooled(
                lambda d: d.errors,
                lambda errors: sum(e > LONGER_THAN_PROMISED for e in errors) / len(errors),
            )
        ),
        longest={code: figure(longest(code)) for code in sorted(services)},
        lateness_p95=figure(pooled(lambda d: d.lateness, lambda late: percentile(late, 95))),
    )


class _DayPart:
    """One day's visitors arriving in one hour (or all day): their waits and the counters'."""

    def __init__(self, day: Day, hours: set[int]):
        self.arrivals = sum(n for h, n in day.arrivals.items() if h in hours)
        self.waits = [w for h, w, _ in day.waits if h in hours]
        self.errors = [e for h, e in day.errors if h in hours]
        self.lateness = [max(0.0, late) for h, late in day.lateness if h in hours]
        self.longest_wait: dict[str, float] = {}
        for h, wait, code in day.waits:
            if h in hours:
                self.longest_wait[code] = max(self.longest_wait.get(code, 0.0), wait)
        self.busy = sum(spent for h, spent in day.busy.items() if h in hours)
        self.longest = max((n for h, n in day.longest.items() if h in hours), default=0)


def _pooled(part: list[_DayPart], measure: Callable[[list[float]], float]) -> float | None:
    waits = sorted(w for d in part for w in d.waits)
    return measure(waits) if waits else None


def _figure(point: float | None, batches: list[float | None]) -> Figure:
    values = [v for v in batches if v is not None]
    if point is None or len(values) < 2:
        return Figure(point)
    t = T95[len(values) - 2]
    return Figure(point, t * statistics.stdev(values) / math.sqrt(len(values)))


def _daily(values: list[float]) -> Figure:
    """The mean of a figure each day has, and its interval as for the other figures."""
    batches = [values[n::BATCHES] for n in range(min(BATCHES, len(values)))]
    return _figure(statistics.fmean(values), [statistics.fmean(b) for b in batches])


def _staffed_minutes(plan: Plan, hour: int) -> float:
    return sum(
        i.counters * max(0, min(i.end, (hour + 1) * 60) - max(i.start, hour * 60))
        for i in plan.intervals
    )


def _open_minutes(plan: Plan, hour: int) -> int:
    return sum(end - start for start, end in _open_pieces(plan, 60) if start // 60 == hour)


def _open_pieces(plan: Plan, length: int) -> list[tuple[int, int]]:
    """The plan's staffed time cut every `length` minutes of the clock: (start, end) minutes."""
    pieces = []
    for interval in plan.intervals:
        if not interval.counters:
            continue
        start = interval.start
        while start < interval.end:
            end = min(interval.end, (start // length + 1) * length)
            pieces.append((start, end))
            start = end
    return pieces


def _hour_dict(h: HourFigures) -> dict:
    figures = {
        "arrivals": (h.arrivals, 1),
        "mean_wait_minutes": (h.mean_wait, 1),
        "p90_wait_minutes": (h.p90_wait, 1),
        "within_target": (h.within_target, 3),
        "utilisation": (h.utilisation, 3),
        "longest_line": (h.longest_line, 1),
    }
    return {
        "hour": f"{h.hour:02d}:00",
        **{name: fig.to_json(digits) for name, (fig, digits) in figures.items()},
        "ci95": {
            name: None if fig.half_width is None else round(fig.half_width, digits)
            for name, (fig, digits) in figures.items()
        },
    }


# the fewest counters that reach a goal


def recommend(
    load: Load, office: Office, goal: Goal, span: tuple[int, int], days: int, seed: int
) -> Result:
    """The fewest counters per clock hour of `span` for which every hour meets `goal`.

    Each hour starts from the counters Erlang C says its steady line needs. Then, while an
    hour misses the goal, the earliest such hour gets one more counter (an earlier hour's
    line spills into the next ones); once every hour meets it, each hour in turn gives up
    counters while every hour still does. Every try simulates the same visitors; refused
    when the tries would simulate more than RECOMMEND_VISITORS visitors in all.
    """
    slots = _slots(span)
    counts = [_erlang_counters(load, start, end, goal) for start, end in slots]
    budget = _RecommendBudget(load, span, days)
    while True:
        result = budget.simulate(office, _plan_of(slots, counts), seed, goal)
        missing = _missing(result, slots, goal)
        if not missing:
            break
        first = min(missing)
        counts[first] += 1
        if counts[first] > MOST_COUNTERS:
            raise Refused(
                f"{goal.text()} is out of reach from {_clock(slots[first][0])}, even with "
                f"{MOST_COUNTERS} counters"
            )
    for n, (start, end) in enumerate(slots):
        least = max(1, math.floor(_work_in(load, start, end) / (end - start)) + 1)
        while counts[n] > least:
            fewer = [c - (k == n) for k, c in enumerate(counts)]
            tried = budget.simulate(office, _plan_of(slots, fewer), seed, goal)
            if _missing(tried, slots, goal):
                break
            counts, result = fewer, tried
    return result


RECOMMEND_VISITORS = 10_000_000  # simulated visitors over all the plans --recommend tries


class _RecommendBudget:
    """Runs `recommend`'s tries, refusing one that would go over RECOMMEND_VISITORS."""

    def __init__(self, load: Load, span: tuple[int, int], days: int):
        self.load, self.days, self.tries, self.spent = load, days, 0, 0.0
        self.per_try = _visitors_a_day(load, constant_plan(*span, 1)) * days

    def simulate(self, office: Office, plan: Plan, seed: int, goal: Goal) -> Result:
        if self.spent + self.per_try > RECOMMEND_VISITORS:
            raise Refused(
                f"after {_counted(self.tries, 'plan')} tried, finding the fewest counters "
                f"would simulate more than {RECOMMEND_VISITORS:,} visitors: give fewer --days"
            )
        self.tries += 1
        self.spent += self.per_try
        return simulate(self.load, office, plan, self.days, seed, goal.minutes)


def _plan_of(slots: list[tuple[int, int]], counts: list[int]) -> Plan:
    return Plan(tuple(Interval(s, e, c) for (s, e), c in zip(slots, counts, strict=True)))


def _missing(result: Result, slots: list[tuple[int, int]], goal: Goal) -> list[int]:
    """The slots whose visitors miss the goal."""
    return [
        slots.index(_slot_of(slots, h.hour))
        for h in result.hours
        if h.within_target.mean is not None and h.within_target.mean < goal.share
    ]


def _erlang_counters(load: Load, start: int, end: int, goal: Goal) -> int:
    """The fewest counters for which an M/M/c line with the slot's load meets `goal`."""
    work = _work_in(load, start, end)
    visitors = _visitors_a_day(load, constant_plan(start, end, 1))
    counters = max(1, math.floor(work / (end - start)) + 1)
    if not visitors:
        return counters
    minutes = work / visitors  # a visitor's mean time at a counter
    offered = work / (end - start)  # counters kept busy on average
    while counters < MOST_COUNTERS:
        blocked = 1.0  # Erlang B by its recursion, then Erlang C: P(wait)
        for k in range(1, counters + 1):
            blocked = offered * blocked / (k + offered * blocked)
        waits = counters * blocked / (counters - offered * (1 - blocked))
        late = waits * math.exp(-(counters - offered) * goal.minutes / minutes)
        if late <= 1 - goal.share:
            break
        counters += 1
    return counters


def _slots(span: tuple[int, int]) -> list[tuple[int, int]]:
    return _open_pieces(constant_plan(*span, 1), 60)


def _slot_of(slots: list[tuple[int, int]], hour: int) -> tuple[int, int]:
    return next(slot for slot in slots if slot[0] // 60 == hour)


def _work_in(load: Load, start: int, end: int) -> float:
    """Counter-minutes of work that visitors arriving between `start` and `end` bring."""
    return sum(
        s.rate_at(piece) * (piece_end - piece) / 60 * s.work_minutes()
        for s in load.services.values()
        for piece, piece_end in _open_pieces(constant_plan(start, end, 1), SLOT)
    )


# text


def render(result: Result, office_name: str) -> list[str]:
    """The result as lines of a plain table that fits 80 columns."""
    target = f"{result.target_minutes:g}"
    lines = [
        f"{office_name}: {result.days} simulated days (seed {result.seed}), plan {result.plan.text()}",
        f"{result.counters_text().capitalize()}.",
        f"Visitors from {result.load.source}.",
        "",
        f"{'Hour':<7}{'Arrivals':>9}{'Mean wait':>13}{'p90 wait':>13}"
        f"{'Within ' + target:>12}{'Busy':>7}{'Longest':>9}",
    ]
    for h in [*result.hours, result.overall]:
        lines.append(
            f"{'Day' if h.hour < 0 else f'{h.hour:02d}:00':<7}"
            f"{_shown(h.arrivals, '{:.1f}'):>9}"
            f"{_shown(h.mean_wait, '{:.1f}', True):>13}"
            f"{_shown(h.p90_wait, '{:.1f}', True):>13}"
            f"{_shown(h.within_target, '{:.0%}', True):>12}"
            f"{_shown(h.utilisation, '{:.0%}'):>7}"
            f"{_shown(h.longest_line, '{:.1f}'):>9}"
        )
    lines += [
        "",
        "Waits in minutes until called, means over the days with ± their 95% interval.",
        "Busy: share of staffed counter time spent with visitors. Longest: longest line.",
    ]
    if result.turned_away.mean:
        lines.append(
            f"Turned away (a daily limit, a service closed or full for today): "
            f"{result.turned_away.mean:.1f} a day."
        )
    if result.overrun.mean and result.overrun.mean >= 0.5:
        lines.append(
            f"The counters serve on {result.overrun.mean:.0f} minutes after "
            f"{_clock(result.plan.closes)} on average to empty the line."
        )
    if result.promises is not None and result.promises.lines():
        lines += ["", *result.promises.lines()]
    return lines


def _shown(figure: Figure, form: str, interval: bool = False) -> str:
    if figure.mean is None:
        return "-"
    text = form.format(figure.mean)
    if interval and figure.half_width is not None:
        spread = form.format(figure.half_width).removesuffix("%")
        text += f" ±{spread}"
    return text


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _merged(intervals: Sequence[Interval]) -> list[Interval]:
    """Adjacent intervals with the same counters as one."""
    merged: list[Interval] = []
    for interval in intervals:
        last = merged[-1] if merged else None
        if last and last.end == interval.start and last.counters == interval.counters:
            merged[-1] = Interval(last.start, interval.end, last.counters)
        else:
            merged.append(interval)
    return merged


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
