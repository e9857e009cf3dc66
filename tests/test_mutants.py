"""The edges of the queue rules, each pinned exactly where a one-character change would move it.

Every test here was written against a mutant of the engine or the storage that the rest of
the suite let through (a `<=` turned into `<`, a window one minute shorter, one day too many
purged, a skipped check): it fails on that mutant and passes on the real code.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from loket.config import default_config_text
from loket.engine import Engine
from loket.errors import Refused

BRUSSELS = ZoneInfo("Europe/Brussels")
CREDIT = timedelta(minutes=20)  # [routing] priority_credit_minutes of the demo office
LATE = timedelta(minutes=15)  # [checkin] late_minutes
EARLY = timedelta(minutes=30)  # [checkin] early_minutes
A_MOMENT = timedelta(seconds=1)


def everything(engine) -> list:
    """Every row of every table: what a refused operation must leave as it was."""
    conn = engine.store.conn
    return [
        conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
        for table in (
            "tickets",
            "counters",
            "appointments",
            "events",
            "line_counts",
            "counter_counts",
        )
    ]


# priority_credit_minutes: a ticket that has waited exactly that long goes before a new
# priority ticket (the same due time: the lower id first)


def an_ordinary_ticket_then_a_priority_one(office, clock, waited: timedelta):
    """A001 (ordinary) has waited `waited` when A002 (priority) arrives; returns A002's receipt."""
    office.issue_ticket("A")
    clock.advance(seconds=waited.total_seconds())
    return office.issue_ticket("A", priority=True)


def test_a_ticket_waiting_exactly_credit_is_called_before_a_priority_ticket(office, clock):
    an_ordinary_ticket_then_a_priority_one(office, clock, CREDIT)
    assert office.call_next("1").called.number == "A001"


def test_a_ticket_waiting_a_moment_less_than_credit_lets_priority_go_first(office, clock):
    an_ordinary_ticket_then_a_priority_one(office, clock, CREDIT - A_MOMENT)
    assert office.call_next("1").called.number == "A002"


def test_the_receipt_of_a_priority_ticket_counts_a_ticket_waiting_exactly_credit(office, clock):
    receipt = an_ordinary_ticket_then_a_priority_one(office, clock, CREDIT)
    assert receipt.position == 2
    assert office.position(office.ticket("A001")) == 1


def test_the_receipt_of_a_priority_ticket_goes_first_a_moment_before_credit(office, clock):
    receipt = an_ordinary_ticket_then_a_priority_one(office, clock, CREDIT - A_MOMENT)
    assert receipt.position == 1
    assert office.position(office.ticket("A001")) == 2


def test_the_clerks_screen_and_the_status_show_the_escalated_ticket_first(office, clock):
    an_ordinary_ticket_then_a_priority_one(office, clock, CREDIT)
    assert [t.number for t in office.desk("1").upcoming] == ["A001", "A002"]
    assert [t.number for t in office.status().waiting["A"]] == ["A001", "A002"]


# An appointment for 09:10 is due at 09:05 (the lead): before a priority ticket that comes at
# 09:10 (due 09:10 + 15 - 20), behind one that comes a moment sooner


def an_appointment_at_ten_past_then_a_priority_ticket(office, clock, later: timedelta):
    """R001 checks in for 09:10; `later` after 09:00 A001 (priority) arrives; A001's receipt."""
    booking = office.add_appointment("A", clock.now + timedelta(minutes=10))
    office.check_in(booking.reference)
    clock.advance(seconds=later.total_seconds())
    return office.issue_ticket("A", priority=True)


def test_an_appointment_due_exactly_now_goes_before_a_priority_ticket(office, clock):
    receipt = an_appointment_at_ten_past_then_a_priority_ticket(
        office, clock, timedelta(minutes=10)
    )
    assert receipt.position == 2
    assert office.call_next("1").called.number == "R001"


def test_an_appointment_a_moment_before_its_time_waits_behind_priority(office, clock):
    receipt = an_appointment_at_ten_past_then_a_priority_ticket(
        office, clock, timedelta(minutes=10) - A_MOMENT
    )
    assert receipt.position == 1
    assert office.call_next("1").called.number == "A001"


# [checkin] late_minutes and early_minutes: both ends of the window are inclusive


@pytest.fixture
def two_bookings_at_half_past(office, clock):
    """Two appointments for B at the same time, half an hour from now."""
    at = clock.now + timedelta(minutes=30)
    return at, [office.add_appointment("B", at, name=name) for name in ("An", "Bert")]


def test_checking_in_exactly_late_minutes_after_the_appointment_is_on_time(
    office, clock, two_bookings_at_half_past
):
    at, (first, second) = two_bookings_at_half_past
    clock.now = at + LATE
    result = office.check_in(first.reference)
    assert (result.outcome, result.receipt.ticket.kind) == ("accepted", "appointment")
    clock.advance(seconds=1)
    result = office.check_in(second.reference)
    assert (result.outcome, result.receipt.ticket.kind) == ("too_late", "walk_in")


def test_checking_in_exactly_early_minutes_before_is_welcome_a_moment_sooner_is_too_early(
    office, clock, two_bookings_at_half_past
):
    at, (first, second) = two_bookings_at_half_past
    clock.now = at - EARLY - A_MOMENT
    result = office.check_in(first.reference)
    assert (result.outcome, result.allowed_from, result.receipt) == ("too_early", at - EARLY, None)
    clock.advance(seconds=1)
    assert office.check_in(second.reference).outcome == "accepted"


def test_a_late_visitor_of_an_appointments_only_service_gets_no_walk_in_ticket(office, clock):
    booking = office.add_appointment("D", clock.now)
    clock.advance(minutes=16)
    before = everything(office)
    for _ in range(2):  # and scanning again changes nothing either
        result = office.check_in(booking.qr_payload)
        assert (result.outcome, result.receipt) == ("too_late", None)
        assert "takes no walk-in visitors" in result.reason
    assert everything(office) == before


def test_a_late_visitor_gets_no_walk_in_ticket_once_the_service_has_closed(tmp_path, clock):
    config = default_config_text().replace(
        "minutes = 10\n", 'minutes = 10\nhours = { tue = "08:30-09:10" }\n', 1
    )
    with Engine(tmp_path / "x.db", clock=clock) as engine:
        engine.init(config)
        booking = engine.add_appointment("B", clock.now)  # 09:00 local; B closes at 09:10
        clock.advance(minutes=16)
        before = everything(engine)
        result = engine.check_in(booking.reference)
        assert (result.outcome, result.receipt) == ("too_late", None)
        assert everything(engine) == before


# retention_days: names on the cutoff day are kept, the day before is erased


def local(day: str, time: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=BRUSSELS)


def test_purge_erases_names_before_the_cutoff_day_and_keeps_the_cutoff_day(office):
    # Today is 2026-12-01 and names are kept 30 days: 2026-11-01 is the oldest day kept.
    # 00:30 and 23:30 local are on other UTC days: the service day is the local one.
    kept = office.add_appointment("A", local("2026-11-01", "00:30"), name="Kept")
    erased = office.add_appointment("A", local("2026-10-31", "23:30"), name="Erased")
    assert office.purge() == 1
    names = {a.reference: a.name for a in office.appointments()}
    assert names == {kept.reference: "Kept", erased.reference: None}


def test_purge_counts_the_cutoff_from_the_local_date_not_the_utc_one(office, clock):
    clock.now = local("2026-12-02", "00:30").astimezone(UTC)  # 2026-12-01 in UTC
    kept = office.add_appointment("A", local("2026-11-02", "09:00"), name="Kept")
    erased = office.add_appointment("A", local("2026-11-01", "09:00"), name="Erased")
    assert office.purge() == 1
    names = {a.reference: a.name for a in office.appointments()}
    assert names == {kept.reference: "Kept", erased.reference: None}


# current=: what the clerk's screen shows must still be at the counter, or nothing happens

STALE_SCREEN_ACTIONS = {
    "finish": lambda engine, current: engine.finish("1", current=current),
    "no_show": lambda engine, current: engine.no_show("1", current=current),
    "recall": lambda engine, current: engine.recall("1", current=current),
    "transfer": lambda engine, current: engine.transfer("1", "B", current=current),
    "call_next": lambda engine, current: engine.call_next("1", current=current),
    "call_number": lambda engine, current: engine.call_number("1", "A003", current=current),
}


@pytest.fixture
def counter_one_serves_a002(office):
    """A001-A003 waiting; counter 1 served A001 and now serves A002."""
    for _ in range(3):
        office.issue_ticket("A")
    office.call_next("1")
    office.call_next("1")
    return office


@pytest.mark.parametrize("action", STALE_SCREEN_ACTIONS)
def test_a_screen_still_showing_the_previous_visitor_is_refused(counter_one_serves_a002, action):
    office = counter_one_serves_a002
    before = everything(office)
    with pytest.raises(Refused, match="Loket 1 is now serving A002, not A001"):
        STALE_SCREEN_ACTIONS[action](office, "A001")
    assert everything(office) == before


@pytest.mark.parametrize("action", STALE_SCREEN_ACTIONS)
def test_a_screen_showing_the_visitor_at_the_counter_goes_ahead_however_it_is_written(
    counter_one_serves_a002, action
):
    office = counter_one_serves_a002
    STALE_SCREEN_ACTIONS[action](office, "a2")
    after = {"no_show": "no_show", "recall": "called", "transfer": "waiting"}.get(action, "done")
    assert office.ticket("A002").status == after


@pytest.mark.parametrize("action", STALE_SCREEN_ACTIONS)
def test_a_screen_showing_a_visitor_someone_else_already_finished_is_refused(
    counter_one_serves_a002, action
):
    office = counter_one_serves_a002
    office.finish("1")  # from another window, or the CLI
    before = everything(office)
    with pytest.raises(Refused, match="A002 is no longer at Loket 1"):
        STALE_SCREEN_ACTIONS[action](office, "A002")
    assert everything(office) == before
