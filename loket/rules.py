"""The queue's rules as plain functions: the calling order (a due time per ticket) and the
waiting-time estimate. The engine applies them to the database, the simulator to tickets
in memory (tests/test_simulate.py proves both agree), so each rule is written once.

Calling order: every waiting ticket has a due time, fixed when it joins the line, and a
counter calls the earliest due ticket among the services it serves (ties: the lower
ticket id). A walk-in is due at arrival + its service's target; a priority ticket gets a
fixed credit off that; an appointment is due at its slot (or at check-in, if later) minus
a lead. So nobody overtakes a ticket that joined more than credit + lead before them (for
services with the same target), there is no cliff, and the "next" list does not reshuffle
as the clock moves.

Estimate: the work ahead of a ticket in every line its counters also serve (each line's
share of it by the counters that take it), the work left at those counters, and the
appointments falling due before it, divided by the counters open for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from loket.config import Office
from loket.model import APPOINTMENT, Ticket

PRIOR_VISITORS = 5
"""A service's mean time starts at the config's `minutes`, weighted as this many visitors."""
PAUSED_SHARE = 0.5
"""A paused counter whose clerk is there counts as half a counter: a break ends."""
LEFT_AT_COUNTER_MINUTES = 1.0
"""A visit running over its service's mean is still expected to take this much longer."""
CONFIRM_SECONDS = 60
""""Next" this soon after the call (or after a recall) asks whether the visitor came."""


def due_at(
    office: Office,
    service: str,
    kind: str,
    priority: bool,
    joined: datetime,
    appointment_at: datetime | None = None,
) -> datetime:
    """When a ticket joining `service`'s line at `joined` is due to be called."""
    routing = office.routing
    if kind == APPOINTMENT:
        return max(appointment_at, joined) - timedelta(minutes=routing.appointment_lead_minutes)
    due = joined + timedelta(minutes=office.services[service].target_minutes)
    if priority:
        due -= timedelta(minutes=routing.priority_credit_minutes)
    return due


def calling_key(ticket: Ticket) -> tuple:
    """The order in which counters call waiting tickets: smallest first."""
    return (ticket.due_at, ticket.id)


def preferred(heads: list[Ticket], prefer: tuple[str, ...], now: datetime) -> Ticket | None:
    """The ticket a counter calls among the heads of its lines (one per service).

    A counter that prefers services takes the earliest due of those once it is due,
    before any other line; otherwise, and when none is due, the earliest due of all.
    """
    due_preferred = [t for t in heads if t.service in prefer and t.due_at <= now]
    return min(due_preferred or heads, key=calling_key, default=None)


@dataclass(frozen=True)
class Workload:
    """What lies ahead of a ticket, as the estimate needs it."""

    ahead: dict[str, int]
    """Waiting tickets due before it, per service its counters serve."""
    appointments: dict[str, int]
    """Booked appointments not yet checked in that will be due before it, per service."""
    means: dict[str, float]
    """Each service's mean minutes at the counter (see `mean_minutes`)."""
    at_counters: dict[str, tuple[str, float]]
    """Per counter serving a visitor: (their service, minutes since called)."""
    capacity: dict[str, float]
    """Per counter: 1 open and present, PAUSED_SHARE paused and present, 0 away."""


def mean_minutes(configured: int, served: int, seconds: float) -> float:
    """A service's mean minutes: today's visits, pulled toward the config while few."""
    return (PRIOR_VISITORS * configured + seconds / 60) / (PRIOR_VISITORS + served)


def capacity_of(state: str, present: bool) -> float:
    """How much of a counter is there to serve the line."""
    if not present:
        return 0.0
    return 1.0 if state == "open" else PAUSED_SHARE


def estimate(office: Office, service: str, work: Workload) -> float | None:
    """Minutes until a ticket of `service` with `work` ahead is called; None: nobody serves it.

    Two views of the same work, and the longer one is promised. By share: the visitor's
    own counters take each shared line in proportion to their part of the capacity serving
    it. As a pool: every counter serving any of those lines works through all of it. The
    first is right when other counters take a shared line off them, the second when those
    counters are themselves busy with the lines they share.
    """
    mine = office.counters_serving(service)
    capacity = sum(work.capacity.get(c.id, 0.0) for c in mine)
    if capacity <= 0:
        return None
    lines = {code for c in mine for code in c.services}
    if any(_free_with_nobody_ahead(c, work) for c in mine):
        return 0.0  # called at once
    pool = [c for c in office.counters.values() if lines & set(c.services)]
    by_share = (_lines_work(office, work, lines, service) + _left(work, mine)) / capacity
    pooled = (_lines_work(office, work, lines) + _left(work, pool)) / sum(
        work.capacity.get(c.id, 0.0) for c in pool
    )
    return max(by_share, pooled)


def _free_with_nobody_ahead(counter, work: Workload) -> bool:
    """A counter open with its clerk there, serving nobody, and no line of it has anyone ahead."""
    free = work.capacity.get(counter.id) == 1.0 and counter.id not in work.at_counters
    return free and not any(
        work.ahead.get(code) or work.appointments.get(code) for code in counter.services
    )


def _lines_work(office: Office, work: Workload, lines: set[str], service: str | None = None):
    """Minutes of work waiting ahead in `lines`; with `service`, only the part of each line
    that the counters serving `service` take (by their share of its capacity)."""
    minutes = 0.0
    for code in lines:
        serving = office.counters_serving(code)
        everyone = sum(work.capacity.get(c.id, 0.0) for c in serving)
        ours = sum(
            work.capacity.get(c.id, 0.0)
            for c in serving
            if service is None or service in c.services
        )
        if everyone > 0:
            waiting = work.ahead.get(code, 0) + work.appointments.get(code, 0)
            minutes += waiting * work.means[code] * ours / everyone
    return minutes


def _left(work: Workload, counters) -> float:
    """Minutes still to go of the visits under way at these counters (those present)."""
    minutes = 0.0
    for counter in counters:
        if counter.id in work.at_counters and work.capacity.get(counter.id, 0.0) > 0:
            code, elapsed = work.at_counters[counter.id]
            minutes += max(work.means[code] - elapsed, LEFT_AT_COUNTER_MINUTES)
    return minutes


def expected_wait(
    office: Office, ticket: Ticket, now: datetime, minutes: float | None
) -> float | None:
    """The estimate for `ticket`. An appointment checked in early is not expected before
    its due time less the shortest target of its counters' lines: walk-ins who arrive
    until then will be due before it."""
    if minutes is None or ticket.kind != APPOINTMENT:
        return minutes
    lines = {code for c in office.counters_serving(ticket.service) for code in c.services}
    target = min(office.services[code].target_minutes for code in lines)
    return max(minutes, (ticket.due_at - now).total_seconds() / 60 - target)


def promise(minutes: float | None) -> int | None:
    """The wait shown to a visitor: to the nearest 5 minutes, at least 5 unless none."""
    if minutes is None:
        return None
    if minutes <= 0:
        return 0
    return max(5, 5 * round(minutes / 5))


def unconfirmed_visit(ticket: Ticket, now: datetime) -> bool:
    """Whether "next" should first ask if the called visitor ever came to the counter."""
    return ticket.recalls > 0 or (now - ticket.called_at).total_seconds() < CONFIRM_SECONDS
