"""Simulated days recorded through the real `Engine`: the demo office's history, and the
proof that the simulation's model calls and promises exactly as the engine does.

`python -m loket.simulate_history --db FILE --weeks 8 --until 2026-11-30` fills a new
database with the eight weeks of the demo office's weekdays up to that day, every ticket
issued, called and finished by the engine at simulated times, for `loket simulate` and
`loket report` to learn from.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from datetime import UTC, date, datetime, time, timedelta

from loket.engine import PRESENCE_INTERVAL_SECONDS, Engine
from loket.errors import LoketError, Refused
from loket.simulate import (
    SLOT,
    SLOTS,
    Desk,
    Load,
    Plan,
    ServiceLoad,
    Visitor,
    constant_plan,
    moment_of,
    run_day,
    visitors_of_day,
)

HEARTBEAT = timedelta(seconds=PRESENCE_INTERVAL_SECONDS)


class SetClock:
    """The engine's clock, set by the simulation to each event's moment."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class EngineRouter:
    """The simulation's router played by the engine: book, open desks, issue, check in,
    call_next, finish; every visitor's promise is the receipt's `estimated_wait_minutes`.

    Each staffed desk is opened as a counter app would open it, and beats its heart
    whenever the clock moves HEARTBEAT_SECONDS, so the estimate counts it as present.
    """

    def __init__(self, engine: Engine, clock: SetClock, day: date):
        self.engine = engine
        self.clock = clock
        self.midnight = datetime.combine(day, time(), engine.office.timezone)
        self.visitors: dict[int, Visitor] = {}
        self.references: dict[int, str] = {}
        """Per appointment holder (by `id` of the visitor), their booking's reference."""
        self.staffed: list[str] = []
        self.heard: datetime | None = None

    def _at(self, minute: float) -> None:
        self.clock.now = moment_of(self.midnight, minute)
        if self.heard is not None and self.clock.now - self.heard >= HEARTBEAT:
            for counter in self.staffed:
                self.engine.heartbeat(counter, f"simulated-{counter}")
            self.heard = self.clock.now

    def book(self, visitors: list[Visitor], minute: float) -> None:
        """Book every appointment holder of the day before it opens."""
        self._at(minute)
        for visitor in visitors:
            if visitor.appointment_at is not None:
                at = moment_of(self.midnight, visitor.appointment_at)
                try:
                    booked = self.engine.add_appointment(visitor.service, at)
                except Refused:  # the service takes no appointments
                    continue
                self.references[id(visitor)] = booked.reference

    def staff(self, desks: list[Desk], minute: float) -> None:
        """Open these desks (their clerks start the counter app), leave the others."""
        self._at(minute)
        wanted = [desk.id for desk in desks]
        for counter in self.staffed:
            if counter not in wanted:
                self.engine.leave_desk(counter, f"simulated-{counter}")
        for counter in wanted:
            if counter not in self.staffed:
                self.engine.open_desk(counter, f"simulated-{counter}", take_over=True)
        self.staffed, self.heard = wanted, self.clock.now

    def arrive(self, visitor: Visitor) -> bool:
        """A walk-in takes a ticket; an appointment holder checks in. False: refused."""
        self._at(visitor.arrives)
        if visitor.appointment_at is None:
            try:
                receipt = self.engine.issue_ticket(visitor.service, priority=visitor.priority)
            except Refused:  # the daily limit, closed, or full for today
                return False
        else:
            reference = self.references.get(id(visitor))
            receipt = None if reference is None else self.engine.check_in(reference).receipt
            if receipt is None:
                return False
        self.visitors[receipt.ticket.id] = visitor
        visitor.promised = receipt.estimated_wait_minutes
        if receipt.called_around is not None:
            visitor.expected = (receipt.called_around - self.clock.now).total_seconds() / 60
        return True

    def call(self, desk: Desk, minute: float) -> Visitor | None:
        self._at(minute)
        called = self.engine.call_next(desk.id).called
        return None if called is None else self.visitors.pop(called.id)

    def end(self, desk: Desk, visitor: Visitor, minute: float) -> None:
        self._at(minute)
        (self.engine.no_show if visitor.no_show else self.engine.finish)(desk.id)


def record(engine: Engine, clock: SetClock, load_of_day, plan: Plan, days: list[date], seed: int):
    """Run each of `days` through the engine with its counters as configured."""
    desks = [Desk(c.id, frozenset(c.services)) for c in engine.office.counters.values()]
    for day in days:
        visitors = visitors_of_day(load_of_day(day), plan, random.Random(f"{seed}-{day}"))
        run_day(visitors, plan, desks, EngineRouter(engine, clock, day))


# The demo office's visitors: busy Monday and Tuesday mornings, a quiet Friday afternoon.
DEMO_MINUTES = {"A": 8, "B": 10, "C": 12, "D": 20}
DEMO_WALK_INS = {"A": 9.0, "B": 5.0, "C": 3.0, "D": 0.0}
DEMO_APPOINTMENTS = {"A": 1.0, "B": 0.5, "C": 0.5, "D": 1.0}
DEMO_HOURS = (8 * 60 + 30, 16 * 60)


def demo_load(day: date) -> Load:
    """The demo office's load on `day`: per service and hour, with gamma service times."""
    rng = random.Random(f"times-{day}")
    services = {}
    for code, minutes in DEMO_MINUTES.items():
        per_hour, appointments = [0.0] * SLOTS, [0.0] * SLOTS
        for slot in range(SLOTS):
            hour = slot * SLOT // 60
            busy = 1.6 if day.weekday() in (0, 1) and hour < 12 else 1.0
            quiet = 0.5 if day.weekday() == 4 and hour >= 13 else 1.0
            per_hour[slot] = DEMO_WALK_INS[code] * busy * quiet if 8 <= hour < 16 else 0.0
            appointments[slot] = DEMO_APPOINTMENTS[code] if 9 <= hour < 15 else 0.0
        services[code] = ServiceLoad(
            code,
            walk_ins=tuple(per_hour),
            appointments=tuple(appointments),
            minutes=tuple(rng.gammavariate(4, minutes / 4) for _ in range(500)),
            early_minutes=tuple(rng.uniform(-10, 25) for _ in range(100)),
            priority=0.05,
            no_show=0.05,
            no_show_minutes=(2.0, 3.0),
            daily_limit=40 if code == "C" else None,
        )
    return Load(services, "the demo office")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day like 2026-11-30") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loket.simulate_history",
        description="Fill a new database with weeks of the demo office's simulated weekdays.",
    )
    parser.add_argument("--db", required=True, metavar="PATH", help="a new database file")
    parser.add_argument("--weeks", type=int, default=8, help="weeks of history (8)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--until", type=_day, metavar="DAY", help="the history's last day (default: yesterday)"
    )
    args = parser.parse_args(argv)
    if os.path.exists(args.db):
        print(f"{args.db} exists already: name a new file", file=sys.stderr)
        return 2
    if not 1 <= args.weeks <= 520:
        print("--weeks: from 1 to 520", file=sys.stderr)
        return 2
    until = args.until or datetime.now(UTC).date() - timedelta(days=1)
    days = [
        until - timedelta(days=n)
        for n in range(args.weeks * 7 - 1, -1, -1)
        if (until - timedelta(days=n)).weekday() < 5
    ]
    clock = SetClock(datetime.combine(days[0], time(7), UTC))
    try:
        with Engine(args.db, clock=clock) as engine:
            plan = constant_plan(*DEMO_HOURS, len(engine.office.counters))
            record(engine, clock, demo_load, plan, days, args.seed)
    except LoketError as error:
        print(f"loket: {error}", file=sys.stderr)
        return 1
    print(f"{args.db}: {len(days)} weekdays from {days[0]} to {days[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
