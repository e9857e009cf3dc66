"""The queue engine: every operation of the office, each one transaction on the shared database.

The CLI, the kiosk, the counter app and the display are all clients of `Engine`.
Each state change runs in one `Store.write()` (BEGIN IMMEDIATE) and appends to the
events table, so every client sees every change whichever client made it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from datetime import date, datetime, timedelta

from loket import codes, rules
from loket.config import (
    Counter,
    Office,
    Service,
    checked_moment,
    checked_visitor_name,
    default_config_text,
    load_config,
    office_from_dict,
)
from loket.errors import (
    ConfigError,
    DeskInUse,
    ImportRefused,
    NotAllowed,
    Refused,
    StorageError,
)
from loket.model import (
    APPOINTMENT,
    CALLED,
    CANCELLED,
    DONE,
    EXPIRED,
    NO_SHOW,
    WAITING,
    WALK_IN,
    Appointment,
    CounterState,
    DeviceToken,
    Event,
    Receipt,
    Ticket,
    Visit,
    to_text,
    utc_now,
)
from loket.storage import Line, Plan, Presence, Store, is_url, open_store

log = logging.getLogger("loket.engine")
Clock = Callable[[], datetime]
TICK = timedelta(microseconds=1)  # the smallest step of a stored time: just behind a ticket
NEAR_END = 50  # tickets counted from each end of a line before counting it through
LAST_ID = 2**63 - 1  # above every ticket id: a ticket not yet issued comes after its equals
NUMBER = re.compile(r"([A-Z]{1,2})0*(\d{1,6})")
# A counter app says it is still at its desk this often; after PRESENCE_TIMEOUT_SECONDS of
# silence (three missed signs) the desk counts as away: its app was closed or died. Each sign
# is a commit that wakes every follower (six desks: a cheap re-read every ~2 s per screen).
PRESENCE_INTERVAL_SECONDS = 10
PRESENCE_TIMEOUT_SECONDS = 35
# Rows an import writes per transaction: ~50 ms of lock, so kiosks keep issuing meanwhile.
IMPORT_BATCH = 5_000

# Check-in outcomes.
ACCEPTED = "accepted"
ALREADY_CHECKED_IN = "already_checked_in"
ALREADY_SERVED = "already_served"
MISSED = "missed"
TOO_EARLY = "too_early"
TOO_LATE = "too_late"
OTHER_DAY = "other_day"
APPOINTMENT_CANCELLED = "cancelled"
NOT_RECOGNISED = "not_recognised"
REINSTATED = "reinstated"
"""A visitor marked as a no-show scanned their ticket: it is back in the line."""
CALLED_NOW = "called_now"
"""A visitor scanned a ticket that a counter is calling right now (`counter` says which)."""


@dataclass(frozen=True)
class CheckIn:
    """The outcome of a check-in attempt; `receipt` is set only when a ticket is handed out."""

    outcome: str
    receipt: Receipt | None = None
    appointment_at: datetime | None = None
    day: str | None = None
    allowed_from: datetime | None = None
    reason: str | None = None
    number: str | None = None
    """The ticket's number when it is no longer waiting (already served, or missed)."""
    counter: str | None = None
    """The name of the counter calling the scanned ticket (CALLED_NOW)."""

    @property
    def accepted(self) -> bool:
        """Whether the visitor leaves with a ticket."""
        return self.receipt is not None


@dataclass(frozen=True)
class ServiceStatus:
    """One service's line as a new visitor would find it."""

    code: str
    name: str
    walk_in: bool
    appointments: bool
    open_now: bool
    opens_at: datetime | None
    waiting: int
    open_counters: int
    estimated_wait_minutes: int | None
    daily_limit: int | None
    issued_today: int
    full_today: bool = False
    """A new ticket could not be served before the service closes (`opens_at`: come back)."""

    @property
    def limit_reached(self) -> bool:
        return self.daily_limit is not None and self.issued_today >= self.daily_limit

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "walk_in": self.walk_in,
            "appointments": self.appointments,
            "open": self.open_now,
            "opens_at": None if self.opens_at is None else self.opens_at.isoformat(),
            "waiting": self.waiting,
            "open_counters": self.open_counters,
            "estimated_wait_minutes": self.estimated_wait_minutes,
            "daily_limit": self.daily_limit,
            "issued_today": self.issued_today,
            "limit_reached": self.limit_reached,
            "full_today": self.full_today,
        }


@dataclass(frozen=True)
class Call:
    """What a counter's call did: the ticket it finished (if any) and the one it called."""

    counter: Counter
    called: Ticket | None
    finished: Ticket | None = None

    def to_dict(self) -> dict:
        return {
            "counter": self.counter.id,
            "counter_name": self.counter.name,
            "number": None if self.called is None else self.called.number,
            "ticket": None if self.called is None else self.called.to_dict(),
            "finished": None if self.finished is None else self.finished.number,
        }


@dataclass(frozen=True)
class Problem:
    """A device's fault that staff must see, since when (UTC)."""

    device: str
    problem: str
    since: datetime


@dataclass(frozen=True)
class Status:
    """The whole office at one moment: lines, counters and the latest calls."""

    services: list[ServiceStatus]
    counters: list[CounterState]
    recent_calls: list[Event]
    waiting: dict[str, list[Ticket]]
    """Per service, the first tickets of its line in calling order (not the whole line)."""
    problems: list[Problem] = field(default_factory=list)
    """Devices that need staff now, e.g. a kiosk printer out of paper."""

    def to_dict(self) -> dict:
        return {
            "problems": [
                {"device": p.device, "problem": p.problem, "since": p.since.isoformat()}
                for p in self.problems
            ],
            "services": [
                {**s.to_dict(), "tickets": [t.number for t in self.waiting.get(s.code, [])]}
                for s in self.services
            ],
            "counters": [c.to_dict() for c in self.counters],
            "recent_calls": [
                {
                    "number": e.number,
                    "counter": e.counter,
                    "at": e.at.isoformat(),
                    "recall": e.action == "recall",
                }
                for e in self.recent_calls
            ],
        }


@dataclass(frozen=True)
class Desk:
    """What a counter's screen shows: its state and ticket, and the line it calls from."""

    counter: CounterState
    waiting: dict[str, int]
    """Waiting tickets per service this counter serves, in the counter's service order."""
    longest_waiting_since: datetime | None
    """Arrival of the ticket that has waited longest among those services."""
    upcoming: list[Ticket]
    """The next tickets this counter would call, in routing order."""
    served_today: int
    held_by: str | None = None
    """The session of the app that holds the desk (None: no app holds it)."""


class _IssuedBefore(Exception):
    """A retried request found its ticket: the attempt rolls back, the ticket is answered."""

    def __init__(self, ticket: Ticket):
        self.ticket = ticket


class Engine:
    """The office's queue, on one SQLite file shared by every kiosk, counter and display."""

    def __init__(
        self,
        path: str | os.PathLike,
        clock: Clock = utc_now,
        create: bool = True,
        config_text: str | None = None,
        office: str | None = None,
    ):
        """Open the office at `path`: a SQLite file or a PostgreSQL URL, where `office`
        (else $LOKET_OFFICE, else the only one) names one of the offices it holds.

        With `create`, a missing database is made with the office `config_text` (the demo
        office by default), schema and office in one transaction. With `create=False` a
        missing or empty file is an error, not a new office: long-running apps reconnect
        so, because a share that is briefly gone must not come back as an empty demo office
        that hands out A001 again.
        """
        self.clock = clock
        self._days_closed_before: str | None = None
        self._qr_secret: str | None = None
        self.public_url: str | None = None
        """Overrides the office's `[web] public_url` (`loket serve --public-url`)."""
        self.store = open_store(
            path,
            create=create,
            setup=lambda store: self._save_office(store, _office(config_text)),
            office=office or os.environ.get("LOKET_OFFICE") or None,
        )
        self.path = self.store.path
        try:
            with self.store.read():
                self._config_text = self.store.setting("config")
                self._latest_day = self.store.latest_service_day()
            if self._config_text is None:  # made by an older Loket that was stopped half-way
                raise StorageError(
                    f"{self.path} holds no office: set it up with `loket --db {self.path} init`"
                )
            self.office = self._stored_office(self._config_text)
        except BaseException:
            self.store.close()
            raise

    def _stored_office(self, text: str) -> Office:
        """The office as `init` stored it; a damaged copy is a storage error, not a crash."""
        try:
            return office_from_dict(json.loads(text))
        except (ConfigError, ValueError, TypeError, KeyError, AttributeError) as error:
            raise StorageError(
                f"the office config stored in {self.path} is damaged ({error.__class__.__name__}): "
                f"load it again with `loket --db {self.path} init --config FILE`"
            ) from None

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database; long-running clients call it when idle."""
        self.store.checkpoint()

    def close(self, checkpoint: bool = True) -> None:
        """Checkpoint (so the log does not grow while other clients stay open) and close.

        An engine opened for one operation closes with `checkpoint=False`: the checkpoint
        is a disk sync, which the app's long-lived engine does when it is idle.
        """
        if checkpoint:
            with suppress(StorageError):  # a read-only file: the next writer's will do
                self.store.checkpoint()
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # set-up

    def init(self, config_text: str | None = None) -> Office:
        """Load an office config (TOML text); without one keep the stored office. Safe to run again.

        Refused, changing nothing, when the new config drops a counter that serves a visitor.
        """
        if config_text is None:
            return self.office
        office = load_config(config_text)  # invalid config raises before anything is written
        with self._changing(self.clock()):
            self._save_office(self.store, office)
        self.office = office
        return office

    def _save_office(self, store: Store, office: Office) -> None:
        """Store the validated office, inside the open write transaction."""
        text = json.dumps(office.raw, ensure_ascii=False)
        if store.setting("config") == text:
            self._config_text = text
            return  # `init` again with the same file: nothing to change
        busy = store.sync_counters(list(office.counters))
        if busy:
            _, ticket = store.counter(busy[0])
            raise Refused(
                f"the new config drops counter {busy[0]}, which is serving {ticket.number}: "
                "finish, transfer or no-show it first, then load the config again"
            )
        # Stored validated and as JSON: opening the database then needs no TOML parser.
        self._config_text = text
        store.set_setting("config", text)
        if store.setting("qr_secret") is None:
            store.set_setting("qr_secret", codes.new_secret())

    def backup(self, target: str | os.PathLike) -> None:
        """Copy the whole office to a new file `target`, consistent, while the office runs."""
        self.store.backup(str(target))

    def create_device_roles(self) -> list[str]:
        """On PostgreSQL: the roles for displays, kiosks and counters, granted this office."""
        from loket.storage_pg import PgStore, create_roles

        if not isinstance(self.store, PgStore):
            raise Refused("device roles are for PostgreSQL: a SQLite file has no roles")
        return create_roles(self.store)

    def copy_to(self, url: str, office: str | None = None) -> dict[str, int]:
        """Copy this office's whole history into a new office on PostgreSQL at `url`;
        returns the rows copied per table (checked by counting both sides)."""
        from loket.storage_pg import PgStore, copy_office

        if not is_url(url):
            raise Refused(f"--to needs a postgresql:// URL, not {url!r}")
        if isinstance(self.store, PgStore):
            raise Refused("this office is on PostgreSQL already; use pg_dump to move it")
        target = PgStore.open(url, create=True, office=office or "main")
        try:
            return copy_office(self.store, target)
        finally:
            target.close()

    def refresh_config(self) -> bool:
        """Take up an office config stored since this engine opened (`loket init --config`).

        Long-running apps call it when the database changed; True when the office changed.
        """
        with self.store.read():
            text = self.store.setting("config")
        if text is None or text == self._config_text:
            return False
        self.office = self._stored_office(text)
        self._config_text = text
        return True

    def take_office_of(self, other: Engine) -> None:
        """Use the office config `other` (an engine of the same office, maybe on another
        thread) last read: its text is read once, so a change half-made over there is
        never taken for the whole."""
        text = other._config_text
        if text is not None and text != self._config_text:
            self.office, self._config_text = self._stored_office(text), text

    # time

    def now(self) -> datetime:
        return self.clock()

    def local(self, moment: datetime) -> datetime:
        """A UTC moment in the office's time zone."""
        return moment.astimezone(self.office.timezone)

    def today(self, now: datetime | None = None) -> str:
        """The service day (local date) as YYYY-MM-DD: numbers restart at local midnight.

        Never a day before the latest one in the database: a clock stepped back across
        midnight (an NTP correction) must not issue yesterday's numbers again.
        """
        return max(self.local(now or self.clock()).date().isoformat(), self._latest_day or "")

    # walk-in tickets

    def issue_ticket(
        self, service: str, priority: bool = False, request_key: str | None = None
    ) -> Receipt:
        """Hand a walk-in visitor a numbered ticket for `service`.

        A device that may retry a request whose answer it lost (a network fault after
        the commit) sends the same `request_key` each time: the retry gets the ticket
        the first attempt made, never a second one.
        """
        svc = self._service(service)
        now = self.clock()
        try:
            with self._changing(now, self.store.ticket_by_request.plan(request_key)) as (earlier,):
                if earlier is not None:  # a retry finds the ticket its first attempt made
                    raise _IssuedBefore(earlier)
                return self._issue(svc, priority, request_key, now)
        except _IssuedBefore as retry:  # the number this attempt took is rolled back
            with self.store.read():
                return self._receipt(retry.ticket, now)

    def _issue(self, svc: Service, priority: bool, request_key: str | None, now) -> Receipt:
        """The receipt is worked out before the ticket is stored, from reads asked together
        with its number (on PostgreSQL: the lock, these reads and the commit are the three
        round trips). Inside the transaction: a ticket that committed always reaches the
        visitor with its receipt, and one that could not be served today rolls back."""
        if not svc.walk_in:
            raise Refused(f"service {svc.code} ({svc.name('en')}) takes appointments only")
        self._refuse_if_closed(svc, now)
        ticket, facts = self._numbered(svc, now, WALK_IN, priority)
        if self._limit_reached(svc, facts[0].get(svc.code, Line())):
            raise Refused(
                f"service {svc.code} has reached its daily limit of {svc.daily_limit} "
                + ("ticket" if svc.daily_limit == 1 else "tickets")
            )
        receipt = self._receipt_from(ticket, now, facts, LAST_ID)
        self._refuse_if_full_today(svc, receipt, now)
        self._store_ticket(ticket, request_key)
        return receipt

    def _limit_reached(self, svc: Service, line: Line) -> bool:
        """Whether the service handed out its daily limit of walk-in tickets (`line`: today's)."""
        return svc.daily_limit is not None and line.walk_ins >= svc.daily_limit

    def _refuse_if_closed(self, svc: Service, now: datetime) -> None:
        local = self.local(now)
        if not svc.is_open(local):
            opening = svc.next_opening(local)
            when = "" if opening is None else f"; it opens {_when(opening, local)}"
            raise Refused(f"service {svc.code} is closed now{when}")

    def _refuse_if_full_today(self, svc: Service, receipt: Receipt, now: datetime) -> None:
        """No walk-in ticket that the counters could not call before the service closes."""
        closes = self._closes_before_called(svc, receipt.called_around, now)
        if closes is not None:
            local = self.local(now)
            opening = svc.next_opening(closes)
            when = "" if opening is None else f"; come back {_when(opening, local)}"
            raise Refused(
                f"service {svc.code} cannot call a new ticket before it closes at "
                f"{closes:%H:%M}{when}"
            )

    def _closes_before_called(
        self, svc: Service, called_around: datetime | None, now: datetime
    ) -> datetime | None:
        """The local closing time that comes before `called_around`, if one does."""
        closes = svc.closes_at(self.local(now))
        if closes is None or called_around is None or called_around <= closes:
            return None
        return closes

    def _numbered(
        self,
        svc: Service,
        now: datetime,
        kind: str,
        priority: bool = False,
        appointment: Appointment | None = None,
    ) -> tuple[Ticket, list]:
        """A new ticket, numbered but not yet stored (`_store_ticket`), and the answers its
        receipt needs (`_receipt_from` with LAST_ID), read together with its number: on
        PostgreSQL one round trip. `appointment`: the one it is for, if any."""
        day = self.today(now)
        appointment_at = appointment.starts_at if kind == APPOINTMENT else None
        due = rules.due_at(self.office, svc.code, kind, priority, now, appointment_at)
        prefix = self.office.appointment_prefix
        series = prefix if kind == APPOINTMENT and prefix else svc.code
        seq, ticket_id, *facts = self.store.fetch(
            self.store.take_number.plan(series, day),
            self.store.new_ticket_id.plan(),
            *self._receipt_plans(
                svc.code, day, due, now, appointment=appointment and appointment.id
            ),
        )
        ticket = Ticket(
            id=ticket_id,
            number=self.office.format_number(series, seq),
            series=series,
            seq=seq,
            service_day=day,
            service=svc.code,
            kind=kind,
            priority=priority,
            status=WAITING,
            arrived_at=now,
            appointment_at=appointment_at,
            due_at=due,
        )
        return ticket, facts

    def _store_ticket(self, ticket: Ticket, request_key: str | None = None) -> None:
        fields = {f.name: getattr(ticket, f.name) for f in dataclass_fields(Ticket)}
        self.store.insert_ticket({**fields, "request_key": request_key})
        self.store.add_event(
            ticket.arrived_at, "issue", ticket.id, None, WAITING, None, ticket.service
        )

    def _receipt(self, ticket: Ticket, now: datetime) -> Receipt:
        """A stored, waiting ticket with its place in line, the promised wait and its QR code."""
        facts = self.store.fetch(
            *self._receipt_plans(ticket.service, ticket.service_day, ticket.due_at, now, ticket.id)
        )
        return self._receipt_from(ticket, now, facts, ticket.id)

    def _receipt_plans(
        self, service: str, day: str, due: datetime, now, ticket_id=LAST_ID, appointment=None
    ):
        """What a receipt reads, asked together: a ticket of `service` due at `due`
        (`appointment`: the id of the appointment it is for, not yet marked checked in)."""
        return [
            *self._floor_plans(day),
            *self._line_plans(service, day, due, now, ticket_id, appointment),
        ]

    def _line_plans(
        self, service: str, day: str, due: datetime, now, ticket_id=LAST_ID, appointment=None
    ):
        """What the estimate for a ticket reads besides the floor: the tickets around it in
        the lines that share its counters, and appointments falling due before it."""
        late = timedelta(minutes=self.office.checkin.late_minutes)
        lead = timedelta(minutes=self.office.routing.appointment_lead_minutes)
        return [
            self.store.around.plan(self._shared_lines(service), day, due, ticket_id, NEAR_END),
            self.store.booked_between.plan(day, now - late, due + lead, appointment),
        ]

    def _receipt_from(self, ticket: Ticket, now: datetime, facts: list, key_id: int) -> Receipt:
        """The receipt from the answers to `_receipt_plans`; `key_id`: the id the ticket
        has in its line (LAST_ID while it is not stored yet)."""
        *floor_facts, near, booked = facts
        lines = floor_facts[0]
        ahead = self._ahead(ticket.service, ticket.service_day, ticket.due_at, lines, near, key_id)
        work = replace(self._floor(now, *floor_facts), ahead=ahead, appointments=booked)
        minutes = rules.expected_wait(
            self.office, ticket, now, rules.estimate(self.office, ticket.service, work)
        )
        return Receipt(
            ticket,
            position=1 + ahead.get(ticket.service, 0),
            estimated_wait_minutes=rules.promise(minutes),
            called_around=None if minutes is None else now + timedelta(minutes=minutes),
            code=codes.ticket_payload(self._secret(), ticket),
        )

    def position(self, ticket: Ticket) -> int:
        """1 + the waiting tickets of its service that are called before it."""
        day, due = ticket.service_day, ticket.due_at
        with self.store.read():
            lines, near = self.store.fetch(
                self.store.line_counts.plan(day),
                self.store.around.plan(
                    self._shared_lines(ticket.service), day, due, ticket.id, NEAR_END
                ),
            )
            ahead = self._ahead(ticket.service, day, due, lines, near, ticket.id)
        return 1 + ahead[ticket.service]

    def _ahead(
        self, service: str, day: str, due: datetime, lines: dict[str, Line], near, ticket_id
    ) -> dict[str, int]:
        """Per line sharing `service`'s counters, the waiting tickets called before (due, id).

        Counted from the nearer end of each line (`near`: `Store.around` up to NEAR_END; a
        new ticket is near the end, a priority ticket near the head), so that the cost does
        not grow with the line. `lines`: the day's running totals (`Store.line_counts`).
        """
        ahead = {}
        for code in self._shared_lines(service):
            before, after = near[code]
            itself = code == service and ticket_id != LAST_ID  # a ticket that waits in line
            if before < NEAR_END:
                ahead[code] = before
            elif after < NEAR_END:
                ahead[code] = lines.get(code, Line()).waiting - after - itself
            else:
                ahead[code] = self.store.count_ahead(code, day, due, ticket_id)
        return ahead

    def _shared_lines(self, service: str) -> list[str]:
        """The services of every counter that serves `service`: their lines share its counters."""
        counters = self.office.counters_serving(service)
        return list(dict.fromkeys(code for c in counters for code in c.services))

    def _floor_plans(self, day: str):
        """What `_floor` reads, to be asked together with other reads."""
        return [
            self.store.line_counts.plan(day),
            self.store.presence.plan(),
            self.store.visits_at_counters.plan(),
            self.store.counters.plan(),
        ]

    def _floor(self, now: datetime, lines: dict[str, Line], presence, visits, counters):
        """The office as it stands (from the answers to `_floor_plans`): service times (from
        the day's `lines`), visits under way and counters there."""
        return rules.Workload(
            ahead={},
            appointments={},
            means={
                code: rules.mean_minutes(svc.minutes, *lines.get(code, Line())[2:])
                for code, svc in self.office.services.items()
            },
            at_counters={
                c: (t.service, (now - t.called_at).total_seconds() / 60)
                for c, t in visits.items()
                if t.service in self.office.services  # not one a newer config dropped
            },
            capacity={
                c: rules.capacity_of(state, c in presence and _heard_of(presence[c], now))
                for c, (state, _) in counters.items()
            },
        )

    def _secret(self) -> str:
        """The office's key for signing QR codes (stored at init; read once)."""
        if self._qr_secret is None:
            self._qr_secret = self.store.setting("qr_secret")
        return self._qr_secret

    def cancel(self, number: str) -> Ticket:
        """A waiting visitor gives up: the ticket is cancelled (its number is never reused)."""
        now = self.clock()
        with self._changing(now):
            return self._cancel(self._ticket_by_number(number, now), now)

    def _cancel(self, ticket: Ticket, now: datetime) -> Ticket:
        self._refuse_unless_waiting(ticket)
        return self._move(ticket, now, "cancel", CANCELLED, counter=None, finished_at=now)

    def _refuse_unless_waiting(self, ticket: Ticket) -> None:
        if ticket.status != WAITING:
            raise Refused(f"{ticket.number} is not waiting ({_describe(ticket, self.office)})")

    # counters

    def call_next(self, counter: str, current: str | None = None, came: bool = True) -> Call:
        """End the counter's current ticket (done; a no-show when the visitor never `came`)
        and call the next by the calling rule, in one transaction."""
        desk = self._counter(counter)
        now = self.clock()
        with self._changing(now):
            # The counter and the heads of its lines, asked together: finishing the current
            # ticket changes none of the waiting ones.
            at_counter, heads = self.store.fetch(
                self.store.counter.plan(desk.id),
                self.store.heads_of_lines.plan(desk.services, self.today(now)),
            )
            finished = self._finish_current(desk, now, current, came, at_counter)
            ticket = rules.preferred(heads, desk.prefer, now)
            called = None if ticket is None else self._call(desk, ticket, now)
            return Call(desk, called, finished)

    def call_number(self, counter: str, number: str, current: str | None = None) -> Call:
        """Call one waiting number out of order (finishing the current ticket first)."""
        desk = self._counter(counter)
        now = self.clock()
        with self._changing(now):
            self._refuse_if_paused(desk)
            ticket = self._ticket_by_number(number, now)
            if ticket.status != WAITING:
                raise Refused(f"{ticket.number} cannot be called: {_describe(ticket, self.office)}")
            finished = self._finish_current(desk, now, current)
            return Call(desk, self._call(desk, ticket, now), finished)

    def recall(self, counter: str, current: str | None = None) -> Ticket:
        """Call the counter's current ticket again (the display announces it again).

        The visit's time still runs from the first call: a visitor who needed three calls
        to come took as long as the counter waited.
        """
        desk = self._counter(counter)
        now = self.clock()
        with self._changing(now):
            ticket = self._current(desk, current)
            return self._move(
                ticket, now, "recall", CALLED, counter=desk.id, recalls=ticket.recalls + 1
            )

    def finish(self, counter: str, current: str | None = None) -> Ticket:
        """The visitor at the counter has been served."""
        return self._end_current(counter, current, "done", DONE)

    def no_show(self, counter: str, current: str | None = None) -> Ticket:
        """The called visitor did not come to the counter."""
        return self._end_current(counter, current, "no_show", NO_SHOW)

    def transfer(self, counter: str, service: str, current: str | None = None) -> Ticket:
        """Send the current visitor to another service's line, keeping number and arrival time.

        Where it lands is the office's `[routing] transfer`: "keep" (due as if it had come
        for that service when it arrived), "first" or "last" in that line.
        """
        desk = self._counter(counter)
        svc = self._service(service)
        now = self.clock()
        with self._changing(now):
            ticket = self._current(desk, current)
            self.store.set_counter_ticket(desk.id, None)
            return self._move(
                ticket,
                now,
                "transfer",
                WAITING,
                counter=None,
                service=svc.code,
                from_counter=desk.id,
                due_at=self._transferred_due(ticket, svc.code, now),
            )

    def _transferred_due(self, ticket: Ticket, service: str, now: datetime) -> datetime:
        where = self.office.routing.transfer
        day = ticket.service_day
        if where == "first":
            head = self.store.key_in_line(service, day, 1)
            return now if head is None else min(now, head[0] - TICK)
        kept = rules.due_at(
            self.office,
            service,
            ticket.kind,
            ticket.priority,
            ticket.arrived_at,
            ticket.appointment_at,
        )
        if where == "keep":
            return kept
        last = self.store.key_in_line(service, day, 0, last=True)
        new = rules.due_at(self.office, service, WALK_IN, False, now)
        return max(new, kept) if last is None else max(new, kept, _after(last, ticket))

    def reinstate(self, number: str) -> Receipt:
        """Staff bring a visitor marked as a no-show back into the line (the office's policy)."""
        now = self.clock()
        with self._changing(now):
            ticket = self._ticket_by_number(number, now)
            problem = self._why_not_reinstated(ticket, now)
            if problem is not None:
                raise Refused(f"{ticket.number} cannot come back: {problem}")
            return self._reinstate(ticket, now)

    def _why_not_reinstated(self, ticket: Ticket, now: datetime) -> str | None:
        policy = self.office.no_show
        if ticket.status != NO_SHOW:
            return _describe(ticket, self.office)
        if ticket.service not in self.office.services:
            return f"service {ticket.service} is no longer in the office config"
        if policy.requeue == "none":
            return "this office does not take no-shows back into the line"
        if ticket.reinstated >= policy.times:
            return f"it came back {_times(ticket.reinstated)} already"
        if now - ticket.finished_at > timedelta(minutes=policy.reinstate_minutes):
            return f"it was missed more than {policy.reinstate_minutes} minutes ago"
        return None

    def _due_behind(
        self, ticket: Ticket, places: int, now: datetime, after: tuple | None = None
    ) -> datetime:
        """A due time behind the first `places` tickets of its line (all of a shorter line);
        `after`: the first `places` after this (due, id) key, instead of after the head.

        Just after the last of them by (due, id); when the next one is due at the same
        moment (tickets due together keep their order by id), before all of those due at
        that moment instead: fewer places, never more. Never later than a newcomer would be
        (a short line's last ticket may be an appointment due hours ahead); in an empty
        line, due now (or at its old time).
        """
        day, service = ticket.service_day, ticket.service
        newcomer = rules.due_at(self.office, service, WALK_IN, False, now) + TICK
        key = self.store.key_in_line(service, day, places, after=after)
        if key is None:
            last = self.store.key_in_line(service, day, 0, last=True)
            return min(ticket.due_at, now) if last is None else min(_after(last, ticket), newcomer)
        due = _after(key, ticket)
        following = self.store.key_in_line(service, day, places + 1, after=after)
        if following is not None and (due, ticket.id) > following:
            due = key[0] if ticket.id < key[1] else key[0] - TICK
        return min(due, newcomer)

    def _reinstate(self, ticket: Ticket, now: datetime) -> Receipt:
        """Back in its line, `[no_show] places` behind the head or at its old place."""
        policy = self.office.no_show
        due = ticket.due_at
        if policy.requeue == "behind":
            due = self._due_behind(ticket, policy.places, now)
        moved = self._move(
            ticket,
            now,
            "reinstate",
            WAITING,
            counter=None,
            due_at=due,
            reinstated=ticket.reinstated + 1,
            finished_at=None,
        )
        return self._receipt(moved, now)

    # the visitor's phone

    def visitor_token(self, ticket: Ticket) -> str:
        """The signed token of the ticket's phone page (valid on its service day)."""
        return codes.visitor_token(self._secret(), ticket)

    def visitor_url(self, ticket: Ticket, language: str) -> str | None:
        """The address of the ticket's phone page; None while the office has no public_url,
        or when the office's key cannot be read just then (the database was away): a ticket
        without its phone page is still a ticket."""
        base = (self.public_url or self.office.web.public_url).rstrip("/")
        if not base:
            return None
        try:
            token = self.visitor_token(ticket)
        except StorageError as error:
            log.error("ticket %s without its phone page: %s", ticket.number, error)
            return None
        return f"{base}/t/{token}?lang={language}"

    def visit(self, token: str) -> Visit:
        """The ticket a phone page follows: its state, place in line and estimated wait."""
        now = self.clock()
        with self.store.read():
            return self._visit(self._ticket_of_token(token, now), now)

    def leave_line(self, token: str) -> Visit:
        """The visitor went home: the ticket is cancelled, so no counter calls them."""
        now = self.clock()
        with self._changing(now):
            return self._visit(self._cancel(self._ticket_of_token(token, now), now), now)

    def postpone(self, token: str) -> Visit:
        """A visitor's "I need more time": the ticket lets `[web] more_time_places` tickets
        of its line pass, once (never behind where a newcomer would be, never forward).
        Tickets due at the same moment as it (appointments for one slot) all pass it."""
        now = self.clock()
        with self._changing(now):
            ticket = self._ticket_of_token(token, now)
            self._refuse_unless_waiting(ticket)
            if ticket.postponed:
                raise Refused(f"{ticket.number} was moved back once already")
            places = self.office.web.more_time_places
            behind = self._due_behind(ticket, places, now, after=(ticket.due_at, ticket.id))
            due = max(behind, ticket.due_at + TICK)
            moved = self._move(ticket, now, "postpone", WAITING, due_at=due, postponed=1)
            return self._visit(moved, now)

    def _ticket_of_token(self, token: str, now: datetime) -> Ticket:
        found = codes.read_visitor_token(self._secret(), token)
        ticket = None if found is None else self.store.ticket(found[0])
        if ticket is None or ticket.service_day != found[1]:
            raise Refused("this link is not a ticket of this office")
        if ticket.service_day != self.today(now):
            raise Refused(f"this ticket was for {ticket.service_day}: it is no longer valid")
        return ticket

    def _visit(self, ticket: Ticket, now: datetime) -> Visit:
        """A ticket as its phone page shows it (inside a transaction)."""
        svc = self.office.services.get(ticket.service)
        names = dict(svc.names) if svc else {}
        visit = Visit(
            ticket,
            names,
            bring=dict(svc.bring) if svc else {},
            online_url=svc.online_url if svc else None,
        )
        if ticket.status == CALLED:
            desk = self.office.counters.get(ticket.counter)
            return replace(visit, counter_name=desk.name if desk else ticket.counter)
        if ticket.status != WAITING or svc is None:
            return visit
        receipt = self._receipt(ticket, now)
        ahead = receipt.position - 1
        return replace(
            visit,
            ahead=ahead,
            estimated_wait_minutes=receipt.estimated_wait_minutes,
            can_postpone=not ticket.postponed,
            near_turn=ahead <= self.office.web.near_turn,
        )

    # web API clients

    def create_device_token(self, role: str, name: str = "") -> str:
        """A new token for a web API client; the secret is returned once, only its hash kept."""
        if role not in DEVICE_ROLES:
            raise Refused(f"unknown role {role!r}: choose {', '.join(DEVICE_ROLES)}")
        import secrets

        secret = f"loket_{secrets.token_urlsafe(32)}"
        now = self.clock()
        with self._changing(now):
            self.store.add_device_token(role, name.strip() or role, _token_hash(secret), now)
            self.store.add_event(now, "token_created", to_state=role)
        return secret

    def device_tokens(self) -> list[DeviceToken]:
        with self.store.read():
            return self.store.device_tokens()

    def revoke_device_token(self, token_id: int) -> DeviceToken:
        """The token stops working at once (it stays listed, revoked)."""
        now = self.clock()
        with self._changing(now):
            token = self.store.device_token("id", token_id)
            if token is None:
                raise Refused(f"no token {token_id}")
            if token.revoked_at is None:
                self.store.revoke_device_token(token_id, now)
                self.store.add_event(now, "token_revoked", to_state=token.role)
            return self.store.device_token("id", token_id)

    def device_token_for(self, secret: str) -> DeviceToken | None:
        """The token with this secret, revoked or not; None for an unknown one."""
        if not secret or len(secret) > 200:
            return None
        with self.store.read():
            return self.store.device_token("hash", _token_hash(secret))

    def device_role(self, secret: str) -> str | None:
        """The role of a web API client's token; None for an unknown or revoked one."""
        token = self.device_token_for(secret)
        return None if token is None or token.revoked_at is not None else token.role

    def pause(self, counter: str) -> CounterState:
        """Close the counter for a while; it stops counting for wait estimates."""
        return self._set_counter_state(counter, "paused")

    def resume(self, counter: str) -> CounterState:
        """Open the counter again."""
        return self._set_counter_state(counter, "open")

    def _set_counter_state(self, counter: str, state: str) -> CounterState:
        desk = self._counter(counter)
        now = self.clock()
        with self._changing(now):
            current_state, ticket = self.store.counter(desk.id)
            if state == "paused" and ticket is not None:
                raise Refused(
                    f"{desk.name} is serving {ticket.number}: finish it first (done, no-show or transfer)"
                )
            if current_state != state:
                self.store.set_counter_state(desk.id, state)
                self.store.add_event(
                    now, "pause" if state == "paused" else "resume", counter=desk.id
                )
            return CounterState(desk.id, desk.name, state, desk.services, None)

    def _end_current(self, counter: str, current: str | None, action: str, state: str) -> Ticket:
        desk = self._counter(counter)
        now = self.clock()
        with self._changing(now):
            return self._end(desk, self._current(desk, current), now, action, state)

    def _end(self, desk: Counter, ticket: Ticket, now: datetime, action: str, state: str) -> Ticket:
        self.store.set_counter_ticket(desk.id, None)
        if state == DONE:
            # Whole seconds, never negative (a clock stepped back between call and done).
            seconds = max(0, round((now - ticket.called_at).total_seconds()))
            self.store.add_service_time(ticket.service, ticket.service_day, seconds)
        return self._move(ticket, now, action, state, finished_at=now, from_counter=desk.id)

    def _finish_current(
        self, desk: Counter, now: datetime, expected: str | None, came: bool = True, at_counter=None
    ) -> Ticket | None:
        """End the counter's ticket; `at_counter`: its (state, ticket), if read already."""
        state, ticket = at_counter or self.store.counter(desk.id)
        self._refuse_if_paused(desk, state)
        if ticket is None and not expected:
            return None
        action, state = ("done", DONE) if came else ("no_show", NO_SHOW)
        return self._end(desk, self._current(desk, expected, ticket), now, action, state)

    def _current(self, desk: Counter, expected: str | None, ticket: Ticket | None = None) -> Ticket:
        """The ticket at the counter, checked against what the clerk's screen says (`expected`)."""
        ticket = ticket or self.store.counter(desk.id)[1]
        if ticket is None:
            if expected:
                raise Refused(f"{expected} is no longer at {desk.name}: it was already handled")
            raise Refused(f"{desk.name} has no current ticket")
        if expected and _normalise_number(expected, self.office) != ticket.number:
            raise Refused(f"{desk.name} is now serving {ticket.number}, not {expected.upper()}")
        return ticket

    def _refuse_if_paused(self, desk: Counter, state: str | None = None) -> None:
        if (state or self.store.counter(desk.id)[0]) == "paused":
            raise Refused(f"{desk.name} is paused: resume it first")

    def _call(self, desk: Counter, ticket: Ticket, now: datetime) -> Ticket:
        self.store.set_counter_ticket(desk.id, ticket.id)
        return self._move(
            ticket,
            now,
            "call",
            CALLED,
            counter=desk.id,
            called_at=now,
            first_called_at=ticket.first_called_at or now,
        )

    def _move(
        self, ticket: Ticket, now: datetime, action: str, state: str, from_counter=None, **fields
    ) -> Ticket:
        """Change a ticket's state and record the change as an event, in the open transaction."""
        self.store.update_ticket(ticket.id, status=state, **fields)
        counter = fields.get("counter") or from_counter
        service = fields.get("service", ticket.service)
        self.store.add_event(now, action, ticket.id, ticket.status, state, counter, service)
        return replace(ticket, status=state, **fields)

    @contextmanager
    def _changing(self, now: datetime, *plans: Plan) -> Iterator[list]:
        """One write transaction for a queue operation; first it closes earlier days' tickets.

        That check runs once per service day per engine, and is only marked done once its
        transaction committed: a refusal rolls it back along with everything else. It yields
        the answers to `plans`, reads asked with the transaction's first.
        """
        with self.store.write():
            self._latest_day, *answers = self.store.fetch(
                self.store.latest_service_day.plan(), *plans
            )
            today = self.today(now)
            if today != self._days_closed_before:
                self._expire_earlier_days(today, now)
            yield answers
        self._days_closed_before = today

    def _close_earlier_days(self, now: datetime) -> None:
        """Before showing a counter: yesterday's tickets left at counters are closed first.

        Looked up with a read, so that the apps' reads take the write lock only on the
        morning when there is something to close.
        """
        today = self.today(now)
        if today == self._days_closed_before:
            return
        with self.store.read():
            stale = self.store.open_tickets_before(today)
        if not stale:
            self._days_closed_before = today
            return
        try:
            with self._changing(now):
                pass
        except NotAllowed:
            pass  # a display's role reads only: the first kiosk or counter of the day closes them

    def _expire_earlier_days(self, today: str, now: datetime) -> None:
        """Close tickets of earlier days that never ended: they are not carried into today."""
        stale = self.store.open_tickets_before(today)
        self.store.release_tickets([t.id for t in stale])
        for ticket in stale:
            self._move(ticket, now, "expire", EXPIRED, counter=ticket.counter)

    # reading

    def services(self) -> list[ServiceStatus]:
        """Every service with its line and the estimated wait for a new ticket."""
        now = self.clock()
        with self.store.read():
            return self._services(now)[0]

    def _services(self, now: datetime, *more: Plan) -> tuple[list[ServiceStatus], list]:
        """Every service's line and estimate, with the answers to `more` reads asked together
        with theirs (on PostgreSQL: one round trip for a whole screen)."""
        day = self.today(now)
        local = self.local(now)
        services = self.office.services.values()
        dues = [rules.due_at(self.office, svc.code, WALK_IN, False, now) for svc in services]
        floor_plans = self._floor_plans(day)
        line_plans = [
            self._line_plans(svc.code, day, due, now)
            for svc, due in zip(services, dues, strict=True)
        ]
        facts = iter(self.store.fetch(*floor_plans, *(p for ps in line_plans for p in ps), *more))
        floor_facts = [next(facts) for _ in floor_plans]
        lines = floor_facts[0]
        floor = self._floor(now, *floor_facts)
        result = []
        for svc, due, plans in zip(services, dues, line_plans, strict=True):
            line = lines.get(svc.code, Line())
            near, booked = (next(facts) for _ in plans)
            ahead = self._ahead(svc.code, day, due, lines, near, LAST_ID)
            work = replace(floor, ahead=ahead, appointments=booked)
            minutes = rules.estimate(self.office, svc.code, work)
            called_around = None if minutes is None else now + timedelta(minutes=minutes)
            open_now = svc.is_open(local)
            closes = self._closes_before_called(svc, called_around, now) if open_now else None
            opens_at = None if open_now else svc.next_opening(local)
            result.append(
                ServiceStatus(
                    code=svc.code,
                    name=svc.name(self.office.languages[0]),
                    walk_in=svc.walk_in,
                    appointments=svc.appointments,
                    open_now=open_now,
                    opens_at=opens_at if closes is None else svc.next_opening(closes),
                    waiting=line.waiting,
                    open_counters=sum(
                        floor.capacity.get(c.id) == 1.0
                        for c in self.office.counters_serving(svc.code)
                    ),
                    estimated_wait_minutes=rules.promise(minutes),
                    daily_limit=svc.daily_limit,
                    issued_today=line.walk_ins,
                    full_today=closes is not None,
                )
            )
        return result, list(facts)

    def status(self, recent: int = 10, upcoming: int = 10) -> Status:
        """Lines (with their next `upcoming` tickets), counters and recent calls, in one snapshot."""
        now = self.clock()
        self._close_earlier_days(now)
        day = self.today(now)
        store = self.store
        with store.read():
            services, (states, presence, visits, heads, calls, problems) = self._services(
                now,
                store.counters.plan(),
                store.presence.plan(),
                store.visits_at_counters.plan(),
                store.heads_of_lines.plan(list(self.office.services), day, upcoming),
                store.last_calls.plan(recent),
                store.problems.plan(),
            )
        counters = [
            self._counter_state(
                desk,
                states.get(desk.id, ("open", None))[0],
                visits.get(desk.id),
                presence.get(desk.id),
                now,
            )
            for desk in self.office.counters.values()
        ]
        waiting: dict[str, list[Ticket]] = {}
        for ticket in heads:
            waiting.setdefault(ticket.service, []).append(ticket)
        return Status(services, counters, calls, waiting, [Problem(*row) for row in problems])

    def counter_state(self, counter: str) -> CounterState:
        desk = self._counter(counter)
        now = self.clock()
        self._close_earlier_days(now)
        with self.store.read():
            state, current = self.store.counter(desk.id)
            presence = self.store.presence().get(desk.id)
        return self._counter_state(desk, state, current, presence, now)

    def _counter_state(
        self,
        desk: Counter,
        state: str,
        current: Ticket | None,
        held: Presence | None,
        now: datetime,
    ) -> CounterState:
        """A counter with who is there: present while its app is heard of, else away since."""
        if held is None:
            present, away_since = False, None
        elif held.session is None:  # the last clerk left (or none ever came: left_at is None)
            present, away_since = False, held.left_at
        else:
            present = _heard_of(held, now)
            away_since = None if present else held.seen_at
        return CounterState(desk.id, desk.name, state, desk.services, current, present, away_since)

    def open_desk(self, counter: str, session: str, take_over: bool = False) -> CounterState:
        """A counter app starts at `counter`: it holds the desk, which opens.

        Refused with `DeskInUse` while another app holds it and was heard of lately, unless
        the clerk chose to take it over; that app then learns so at its next `heartbeat`.
        """
        desk = self._counter(counter)
        now = self.clock()
        with self._changing(now):
            held = self.store.presence().get(desk.id)
            other = (
                held is not None and held.session not in (None, session) and _heard_of(held, now)
            )
            if other and not take_over:
                raise DeskInUse(desk.name, held.opened_at, held.seen_at)
            self.store.hold_counter(desk.id, session, now)
            self.store.add_event(now, "take_over" if other else "open_desk", counter=desk.id)
            state, current = self.store.counter(desk.id)
        return CounterState(desk.id, desk.name, state, desk.services, current, True)

    def heartbeat(self, counter: str, session: str) -> bool:
        """The app at `counter` is still there; False once another app took the desk over.

        Presence, not a queue change: it writes no event, or the log would grow by one row
        per counter every PRESENCE_INTERVAL_SECONDS.
        """
        desk = self._counter(counter)
        with self.store.write() as db:
            return db.see_counter(desk.id, session, self.clock())

    def leave_desk(self, counter: str, session: str) -> None:
        """The app at `counter` closes: the counter pauses until a clerk opens it again.

        A visitor still at the counter stays its current ticket for the next clerk.
        """
        desk = self._counter(counter)
        now = self.clock()
        with self._changing(now):
            if self.store.release_counter(desk.id, session, now):
                self.store.add_event(now, "leave_desk", counter=desk.id)

    def report_problem(self, device: str, problem: str | None) -> None:
        """A device's fault for staff to see in the status (None: it works again)."""
        now = self.clock()
        with self._changing(now):
            if self.store.set_problem(device, problem, now):
                # The device's name goes in to_state: events have no free-text column.
                action = "problem" if problem is not None else "problem_solved"
                self.store.add_event(now, action, to_state=device)

    def desk(self, counter: str, upcoming: int = 5) -> Desk:
        """A counter with its ticket, its line and today's tally, read in one snapshot."""
        desk = self._counter(counter)
        now = self.clock()
        self._close_earlier_days(now)
        day = self.today(now)
        store = self.store
        with store.read():
            (state, current), presence, lines, heads, longest, served = store.fetch(
                store.counter.plan(desk.id),
                store.presence.plan(),
                store.line_counts.plan(day),
                store.heads_of_lines.plan(desk.services, day, upcoming),
                store.longest_waiting_since.plan(desk.services, day),
                store.served_count.plan(desk.id, day),
            )
        held = presence.get(desk.id)
        return Desk(
            counter=self._counter_state(desk, state, current, held, now),
            waiting={code: lines.get(code, Line()).waiting for code in desk.services},
            longest_waiting_since=longest,
            upcoming=_calling_order(heads, desk.prefer, now)[:upcoming],
            served_today=served,
            held_by=held and held.session,
        )

    def waiting_counts(self) -> dict[str, int]:
        """How many tickets wait in each service's line today (0 for an empty line)."""
        day = self.today()
        with self.store.read():
            lines = self.store.line_counts(day)
        return {code: lines.get(code, Line()).waiting for code in self.office.services}

    def last_event_id(self) -> int:
        """The newest event's id (0 when none): followers read `events_after` it."""
        with self.store.read():
            return self.store.last_event_id()

    def calls_today(self, limit: int = 50) -> list[Event]:
        """Today's latest calls and recalls, newest first."""
        with self.store.read():
            return self.store.last_calls(limit, day=self.today())

    def ticket(self, number: str) -> Ticket:
        """Today's ticket with this number."""
        with self.store.read():
            return self._ticket_by_number(number, self.clock())

    def events_after(self, event_id: int, actions=None, limit: int = 1000) -> list[Event]:
        """New events since `event_id`, for the display and other followers."""
        with self.store.read():
            return self.store.events_after(event_id, actions, limit)

    # appointments

    def add_appointment(
        self, service: str, at: datetime, name: str | None = None, uid: str | None = None
    ) -> Appointment:
        """Book one appointment at `at` (an aware datetime); returns it with reference and QR payload.

        A naive datetime, a local time the clocks skip and a year at the edge of what
        datetime knows are refused: each would be stored as some other moment or overflow.
        """
        svc = self._service(service)
        if not svc.appointments:
            raise Refused(f"service {svc.code} does not take appointments")
        try:
            checked_moment(at)
            checked_visitor_name(name)
        except ValueError as error:
            raise Refused(str(error)) from None
        day = self.local(at).date().isoformat()
        with self.store.write() as db:
            (reference,) = _new_references(db, 1)
            db.upsert_appointments(
                [
                    (
                        uid,
                        svc.code,
                        to_text(at),
                        day,
                        name,
                        "booked",
                        to_text(self.clock()),
                        reference,
                    )
                ]
            )
            # A booking the system sent before keeps its reference (and its QR code).
            return self._with_payload(
                db.appointment_by(*("uid", uid) if uid else ("reference", reference))
            )

    def _with_payload(self, appointment: Appointment) -> Appointment:
        payload = codes.qr_payload(self._secret(), appointment.reference, appointment.day)
        return replace(appointment, qr_payload=payload)

    def appointment(self, reference: str) -> Appointment:
        """One appointment by its reference (any case, dash optional) or QR payload."""
        with self.store.read():
            found = self._find_appointment(reference)
        if found is None:
            raise Refused(f"no appointment with reference {reference!r}")
        return found

    def _find_appointment(self, code: str) -> Appointment | None:
        reference = codes.read_code(self._secret(), code)
        return self._found_appointment(self.store.appointment_by("reference", reference), code)

    def _found_appointment(self, found: Appointment | None, code: str) -> Appointment | None:
        """The appointment `code` names: `found` by its reference, else by booking UID."""
        if found is None and self.office.check_in_by_uid:
            found = self._find_by_uid(code)
        return None if found is None else self._with_payload(found)

    def _find_by_uid(self, code: str) -> Appointment | None:
        """The appointment whose booking-system UID the code is, or holds (its own QR's URL)."""
        whole, parts = codes.uid_candidates(code)
        for candidate in whole:
            found = self._booked_with_uid(candidate)
            if found is not None:
                return found
        matches = {a.id: a for a in map(self._booked_with_uid, parts) if a is not None}
        return next(iter(matches.values())) if len(matches) == 1 else None

    def _booked_with_uid(self, uid: str) -> Appointment | None:
        found = self.store.appointment_by("uid", uid)
        return found if found is not None and found.booking_uid is not None else None

    def appointments(self, day: str | None = None) -> list[Appointment]:
        """The appointments of one local day (all of them if `day` is None)."""
        with self.store.read():
            return [self._with_payload(a) for a in self.store.appointments_on(day)]

    def import_appointments(self, rows: list) -> dict:
        """Save parsed appointments (`loket.imports.Row`); re-importing updates, never duplicates.

        A row is found again by its booking system's uid, or, for a CSV row without one, by
        its time, service and name, kept only as an HMAC so that a purge leaves no name.
        Every row is checked before anything is written: one bad row imports nothing. The
        rows are then written in batches of IMPORT_BATCH, each one short transaction with
        one set-based lookup and one executemany, and between batches the lock is left free
        as long as it was held: a kiosk issuing during a 250k-row import waits a batch, not
        the whole file. An import cut short (power loss) is completed by running it again.
        """
        import hashlib
        import hmac
        import time

        for row in rows:
            svc = self.office.services.get(row.service)
            if svc is None or not svc.appointments:
                raise ImportRefused(
                    f"{row.where}: service {row.service!r} does not take appointments"
                )
        with self.store.read():
            secret = self.store.setting("qr_secret").encode()
        created_at = to_text(self.clock())
        records = [
            (
                row.uid
                or "row-"  # loket.model.INTERNAL_UID
                + hmac.new(secret, row.natural_key.encode(), hashlib.sha256).hexdigest()[:32],
                row.service,
                to_text(row.starts_at),
                self.local(row.starts_at).date().isoformat(),
                row.name,
                "cancelled" if row.cancelled else "booked",
                created_at,
            )
            for row in rows
        ]
        existing: set[str] = set()
        for start in range(0, len(records), IMPORT_BATCH):
            began = time.monotonic()
            existing |= self._write_appointments(records[start : start + IMPORT_BATCH])
            if start + IMPORT_BATCH < len(records):
                time.sleep(time.monotonic() - began)  # let a waiting kiosk take the lock
        counts = {"added": 0, "updated": 0, "cancelled": 0}
        for record, row in zip(records, rows, strict=True):
            outcome = "updated" if record[0] in existing else "added"
            counts["cancelled" if row.cancelled else outcome] += 1
        return counts

    def _write_appointments(self, records: list[tuple]) -> set[str]:
        """Insert or update one batch of import records in one transaction; returns the uids
        that were there already."""
        with self.store.write() as db:
            existing = db.present("uid", [record[0] for record in records])
            references = _new_references(db, len(records))
            db.upsert_appointments(
                [(*record, ref) for record, ref in zip(records, references, strict=True)]
            )
        return existing

    def check_in(self, code: str) -> CheckIn:
        """Check an appointment holder in by scanned QR payload or typed reference.

        A scanned ticket is answered too: "I'm here" for a visitor marked as a no-show (back
        into the line when the office's policy allows), else where that ticket stands.
        """
        now = self.clock()
        secret = self._secret()
        reference = codes.read_code(secret, code)
        # Looked up with the office's lock: on PostgreSQL the same round trip.
        with self._changing(now, self.store.appointment_by.plan("reference", reference)) as (
            found,
        ):
            scanned = codes.read_ticket_code(secret, code)
            if scanned is not None:
                return self._ticket_scanned(*scanned, now)
            appointment = self._found_appointment(found, code)
            if appointment is None:
                return CheckIn(NOT_RECOGNISED)
            outcome = CheckIn(
                NOT_RECOGNISED, appointment_at=appointment.starts_at, day=appointment.day
            )
            if appointment.status == "cancelled":
                return _with(outcome, APPOINTMENT_CANCELLED)
            if appointment.day != self.today(now):
                return _with(outcome, OTHER_DAY)
            if appointment.ticket_id is not None:
                return self._checked_in_before(outcome, appointment, now)
            policy = self.office.checkin
            allowed_from = appointment.starts_at - timedelta(minutes=policy.early_minutes)
            if now < allowed_from:
                return _with(outcome, TOO_EARLY, allowed_from=allowed_from)
            svc = self.office.services[appointment.service]
            if now > appointment.starts_at + timedelta(minutes=policy.late_minutes):
                return self._late_check_in(outcome, appointment, svc, now)
            return _with(outcome, ACCEPTED, receipt=self._check_in_on_time(appointment, svc, now))

    def _check_in_on_time(self, appointment: Appointment, svc: Service, now) -> Receipt:
        ticket, facts = self._numbered(svc, now, APPOINTMENT, appointment=appointment)
        self._store_ticket(ticket)
        self.store.update_appointment(appointment.id, ticket_id=ticket.id)
        return self._receipt_from(ticket, now, facts, LAST_ID)

    def _ticket_scanned(self, number: str, day: str, now: datetime) -> CheckIn:
        if day != self.today(now):
            return CheckIn(OTHER_DAY, day=day)
        try:
            ticket = self._ticket_by_number(number, now)
        except Refused:  # signed by this office, but not in this file (a restored backup)
            return CheckIn(NOT_RECOGNISED)
        if ticket.status == NO_SHOW and self._why_not_reinstated(ticket, now) is None:
            return CheckIn(REINSTATED, receipt=self._reinstate(ticket, now))
        if ticket.status == CALLED:
            name = _counter_name(self.office, ticket.counter)
            return CheckIn(CALLED_NOW, number=ticket.number, counter=name)
        return self._where_ticket_stands(CheckIn(NOT_RECOGNISED), ticket, now)

    def _checked_in_before(self, outcome: CheckIn, appointment: Appointment, now) -> CheckIn:
        """A second scan today: the same ticket while it waits, never a place in line after."""
        return self._where_ticket_stands(outcome, self.store.ticket(appointment.ticket_id), now)

    def _where_ticket_stands(self, outcome: CheckIn, ticket: Ticket, now) -> CheckIn:
        if ticket.status == WAITING:
            return _with(outcome, ALREADY_CHECKED_IN, receipt=self._receipt(ticket, now))
        if ticket.status == DONE:
            return _with(outcome, ALREADY_SERVED, number=ticket.number)
        # Called (at a counter now), no-show, cancelled or expired: a person must look at it.
        return _with(outcome, MISSED, number=ticket.number)

    def _late_check_in(
        self, outcome: CheckIn, appointment: Appointment, svc: Service, now: datetime
    ) -> CheckIn:
        if self.office.checkin.late_action == "refuse":
            return _with(outcome, TOO_LATE, reason="late check-in is refused by the office")
        if not svc.walk_in or not svc.is_open(self.local(now)):
            return _with(
                outcome, TOO_LATE, reason=f"service {svc.code} takes no walk-in visitors now"
            )
        if self._limit_reached(svc, self.store.line(svc.code, self.today(now))):
            return _with(outcome, TOO_LATE, reason=f"service {svc.code} has no tickets left today")
        ticket, facts = self._numbered(svc, now, WALK_IN, appointment=appointment)
        self._store_ticket(ticket)
        self.store.update_appointment(appointment.id, ticket_id=ticket.id)
        return _with(outcome, TOO_LATE, receipt=self._receipt_from(ticket, now, facts, LAST_ID))

    def purge(self) -> int:
        """Erase names of appointments older than retention_days; returns how many."""
        now = self.clock()
        cutoff = (self.local(now).date() - timedelta(days=self.office.retention_days)).isoformat()
        with self.store.write():
            count = self.store.forget_names_before(cutoff)
            self.store.add_event(now, "purge")
        # The erased names also live on in the write-ahead log until it is emptied.
        self.store.empty_log()
        return count

    # statistics input

    def tickets_between(self, first_day: date, last_day: date) -> list[Ticket]:
        with self.store.read():
            return self.store.tickets_between(first_day.isoformat(), last_day.isoformat())

    # lookups

    def _service(self, code: str) -> Service:
        svc = self.office.services.get(code.upper())
        if svc is None:
            raise Refused(f"unknown service {code!r} (known: {', '.join(self.office.services)})")
        return svc

    def _counter(self, counter_id: str) -> Counter:
        desk = self.office.counters.get(str(counter_id))
        if desk is None:
            raise Refused(
                f"unknown counter {counter_id!r} (known: {', '.join(self.office.counters)})"
            )
        return desk

    def _ticket_by_number(self, number: str, now: datetime) -> Ticket:
        match = NUMBER.fullmatch(number.strip().upper())
        ticket = None
        if match:
            ticket = self.store.ticket_by_number(match[1], int(match[2]), self.today(now))
        if ticket is None:
            raise Refused(f"no ticket {number.upper()} today")
        return ticket


def _new_references(db: Store, count: int) -> set[str]:
    """`count` appointment references that no appointment has yet."""
    references: set[str] = set()
    while len(references) < count:
        fresh = {codes.new_reference() for _ in range(count - len(references))}
        references |= fresh - db.present("reference", fresh)
    return references


def _office(config_text: str | None) -> Office:
    """A new database's office: the given config, else the demo office."""
    return load_config(config_text if config_text is not None else default_config_text())


def _presence_window(now: datetime) -> tuple[datetime, datetime]:
    """When an app must have been heard of to count as there.

    Also a bound into the future: after a clock stepped back, the last sign of an app that
    died would otherwise lie ahead and keep its desk "present" for as long as the step.
    """
    timeout = timedelta(seconds=PRESENCE_TIMEOUT_SECONDS)
    return now - timeout, now + timeout


def _heard_of(held: Presence, now: datetime) -> bool:
    """Whether the app holding a counter said it was there within the timeout."""
    first, last = _presence_window(now)
    return held.seen_at is not None and first <= held.seen_at <= last


DEVICE_ROLES = ("kiosk", "counter", "integration")


def _token_hash(secret: str) -> str:
    """What is stored of a device token: SHA-256 is enough for 256 random bits."""
    import hashlib

    return hashlib.sha256(secret.encode()).hexdigest()


def _after(key: tuple[datetime, int], ticket: Ticket) -> datetime:
    """The earliest due time that puts `ticket` after the (due, id) `key`."""
    due, ticket_id = key
    return due if ticket.id > ticket_id else due + TICK


def _calling_order(heads: list[Ticket], prefer: tuple[str, ...], now: datetime) -> list[Ticket]:
    """The order in which a counter would call these tickets (the first of each of its lines)."""
    lines: dict[str, list[Ticket]] = {}
    for ticket in sorted(heads, key=rules.calling_key, reverse=True):
        lines.setdefault(ticket.service, []).append(ticket)
    order = []
    while lines:
        ticket = rules.preferred([line[-1] for line in lines.values()], prefer, now)
        order.append(lines[ticket.service].pop())
        if not lines[ticket.service]:
            del lines[ticket.service]
    return order


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _with(outcome: CheckIn, name: str, **fields) -> CheckIn:
    return replace(outcome, outcome=name, **fields)


def _normalise_number(number: str, office: Office) -> str | None:
    """'a12' -> 'A012'; None when it is not a ticket number at all."""
    match = NUMBER.fullmatch(number.strip().upper())
    return None if match is None else office.format_number(match[1], int(match[2]))


def _counter_name(office: Office, counter_id: str) -> str:
    """A counter's configured name; its id when a newer config dropped it."""
    desk = office.counters.get(counter_id)
    return desk.name if desk else counter_id


def _describe(ticket: Ticket, office: Office) -> str:
    if ticket.status == CALLED:
        return f"already called at {_counter_name(office, ticket.counter)}"
    return {
        WAITING: "it is still waiting",
        DONE: "already served",
        NO_SHOW: "marked as no-show",
        CANCELLED: "cancelled",
        EXPIRED: "expired",
    }[ticket.status]


def _when(opening: datetime, local: datetime) -> str:
    if opening.date() == local.date():
        return f"at {opening:%H:%M}"
    return f"on {opening:%A %d %B} at {opening:%H:%M}"
