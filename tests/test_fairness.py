"""Issue 11's worked examples, each a story that went wrong under the old calling rule and
estimate, and the new settings: no-shows coming back, transfers, closing time."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta

import pytest

from loket import codes, storage
from loket.config import default_config_text
from loket.engine import Engine
from loket.errors import Refused
from tests.conftest import MORNING, Clock, clerks_at

pytestmark = pytest.mark.backends


def serve_until_called(engine: Engine, clock: Clock, number: str, counters: list[str]):
    """Each counter serves its visitors for exactly their service's configured minutes;
    returns the moment `number` is called."""
    free_at = dict.fromkeys(counters, clock.now)
    while True:
        counter = min(free_at, key=free_at.get)
        clock.now = max(clock.now, free_at[counter])
        called = engine.call_next(counter).called
        if called is None:
            raise AssertionError(f"{number} was never called")
        if called.number == number:
            return clock.now
        free_at[counter] = clock.now + timedelta(
            minutes=engine.office.services[called.service].minutes
        )
        clerks_at(engine, *counters)


def test_the_estimate_counts_the_other_lines_its_counters_serve(office, clock):
    """Counter 4 paused; 10 B and 10 C wait; a new A ticket was promised 4 minutes and
    called after 50, because counters 1 and 2 also serve B and C."""
    clerks_at(office, "1", "2", "3", "4")
    office.pause("4")
    for _ in range(10):
        office.issue_ticket("B")
        office.issue_ticket("C")
    clock.advance(minutes=1)
    clerks_at(office, "1", "2", "3")
    receipt = office.issue_ticket("A")
    promised = receipt.called_around - clock.now
    called = serve_until_called(office, clock, receipt.ticket.number, ["1", "2", "3"])
    waited = called - receipt.ticket.arrived_at
    assert receipt.position == 1
    assert abs(waited - promised) <= timedelta(minutes=10), (waited, promised)
    assert receipt.estimated_wait_minutes >= 30


def test_a_priority_ticket_no_longer_falls_off_a_cliff(office, clock):
    """Ten tickets from 08:15 on; at 09:00, when the oldest had waited 45 minutes, a priority
    ticket was last of eleven. Now it goes before everyone who came in the last 20 minutes."""
    clock.now = MORNING - timedelta(minutes=45)
    for _ in range(10):
        office.issue_ticket("A")
        clock.advance(minutes=5)
    clock.now = MORNING
    receipt = office.issue_ticket("A", priority=True)
    assert receipt.position == 7  # behind the six who came at 08:40 or before


def test_appointments_no_longer_flood_walk_ins(office, clock):
    """Ten-minute slots that take eleven: a walk-in waited 117 minutes behind them."""
    clerks_at(office, "1")
    for counter in ("2", "3", "4"):
        office.pause(counter)
    walk_in = office.issue_ticket("B")
    for slot in range(18):  # 09:00 to 11:50, all checked in early
        booking = office.add_appointment("B", clock.now + timedelta(minutes=10 * slot))
        assert office.check_in(booking.reference).outcome in ("accepted", "too_early")
    for slot in range(18):
        clock.now = MORNING + timedelta(minutes=10 * slot)
        for booking in office.appointments():
            office.check_in(booking.reference)
    clock.now = MORNING
    office.init(default_config_text().replace("minutes = 10\n", "minutes = 11\n", 1))
    called = serve_until_called(office, clock, walk_in.ticket.number, ["1"])
    assert called - walk_in.ticket.arrived_at <= timedelta(minutes=40)


def test_a_quick_service_goes_before_a_slow_one_by_its_own_target(new_database, clock):
    """One counter, 3-minute pick-ups and 15-minute passports: in arrival order the pick-ups
    waited longer than the passports."""
    config = (
        'office = "Klein"\n'
        '[[services]]\ncode = "P"\nname = "Afhalen"\nminutes = 3\ntarget_minutes = 5\n'
        '[[services]]\ncode = "Q"\nname = "Paspoort"\nminutes = 15\ntarget_minutes = 30\n'
        '[[counters]]\nid = "1"\nservices = ["Q", "P"]\n'
    )
    with Engine(new_database(), clock=clock, config_text=config) as engine:
        engine.issue_ticket("Q")
        clock.advance(minutes=1)
        engine.issue_ticket("P")
        assert [engine.call_next("1").called.number for _ in range(2)] == ["P001", "Q001"]


def test_appointment_tickets_have_their_own_series(office, clock):
    office.issue_ticket("A")
    booking = office.add_appointment("A", clock.now + timedelta(minutes=10))
    assert office.check_in(booking.reference).receipt.ticket.number == "R001"
    assert office.issue_ticket("A").ticket.number == "A002"


# no-shows


def missed(office, clock, number_of_others: int = 5):
    """A001 is called and does not come; then `number_of_others` A tickets wait."""
    office.issue_ticket("A")
    office.call_next("1")
    office.no_show("1")
    for _ in range(number_of_others):
        clock.advance(minutes=1)
        office.issue_ticket("A")
    return office.ticket("A001")


def test_a_reinstated_no_show_comes_back_three_places_behind_the_head(office, clock):
    missed(office, clock)
    receipt = office.reinstate("A001")
    assert (receipt.ticket.status, receipt.position, receipt.ticket.reinstated) == (
        "waiting",
        4,
        1,
    )
    called = [office.call_next("1").called.number for _ in range(4)]
    assert called == ["A002", "A003", "A004", "A001"]


def test_a_no_show_comes_back_only_as_often_and_as_late_as_the_office_allows(office, clock):
    missed(office, clock)
    office.reinstate("A001")
    for _ in range(4):
        office.call_next("1")
    office.no_show("1")
    with pytest.raises(Refused, match="A001 cannot come back: it came back once already"):
        office.reinstate("A001")
    missed_b = office.issue_ticket("B").ticket
    office.call_number("3", missed_b.number)
    office.no_show("3")
    clock.advance(minutes=31)
    with pytest.raises(Refused, match="missed more than 30 minutes ago"):
        office.reinstate(missed_b.number)


@pytest.mark.parametrize(
    ("requeue", "position"), [("original", 1), ("none", None)], ids=["original", "none"]
)
def test_the_office_chooses_where_a_no_show_comes_back(office, clock, requeue, position):
    office.init(default_config_text().replace('requeue = "behind"', f'requeue = "{requeue}"'))
    missed(office, clock)
    if position is None:
        with pytest.raises(Refused, match="does not take no-shows back"):
            office.reinstate("A001")
    else:
        assert office.reinstate("A001").position == position


def test_the_visitor_scans_their_ticket_to_come_back(office, clock):
    receipt = office.issue_ticket("A")
    office.call_next("1")
    being_called = office.check_in(receipt.code)
    assert (being_called.outcome, being_called.counter) == ("called_now", "Loket 1")
    office.no_show("1")
    back = office.check_in(receipt.code)
    assert (back.outcome, back.receipt.ticket.number) == ("reinstated", "A001")
    again = office.check_in(receipt.code)
    assert (again.outcome, again.receipt.position) == ("already_checked_in", 1)


def test_a_forged_or_unsigned_ticket_code_changes_nothing(office, clock):
    receipt = office.issue_ticket("A")
    office.call_next("1")
    office.no_show("1")
    forged = receipt.code[:-1] + ("A" if receipt.code[-1] != "A" else "B")
    before = office.store.all_tickets()
    for code in (forged, "LOKET A001 2026-12-01", codes.ticket_payload("x" * 64, receipt.ticket)):
        assert office.check_in(code).outcome == "not_recognised"
    assert office.store.all_tickets() == before


# transfers


@pytest.mark.parametrize(
    ("where", "position"), [("keep", 1), ("first", 1), ("last", 4)], ids=["keep", "first", "last"]
)
def test_a_transfer_lands_where_the_office_says(office, clock, where, position):
    office.init(default_config_text().replace('transfer = "keep"', f'transfer = "{where}"'))
    office.issue_ticket("A")
    for _ in range(3):
        clock.advance(minutes=2)
        office.issue_ticket("C")
    clock.advance(minutes=30)
    office.call_number("1", "A001")
    moved = office.transfer("1", "C")
    assert (moved.number, office.position(moved)) == ("A001", position)


# closing time


def test_no_walk_in_ticket_when_the_line_cannot_be_served_before_closing(new_database, clock):
    text = default_config_text().replace(
        "daily_limit = 40\n", 'daily_limit = 40\nhours = { tue = "08:30-10:00" }\n'
    )
    clock.now = MORNING + timedelta(minutes=30)  # 09:30; the service closes at 10:00
    with Engine(new_database(), clock=clock, config_text=text) as engine:
        clerks_at(engine, "2", "3")
        for _ in range(3):
            engine.issue_ticket("C")
        line = next(s for s in engine.services() if s.code == "C")
        assert not line.full_today
        while not line.full_today:
            engine.issue_ticket("C")
            line = next(s for s in engine.services() if s.code == "C")
        before = engine.store.all_tickets()
        with pytest.raises(
            Refused, match="before it closes at 10:00; come back on Tuesday 08 December at 08:30"
        ):
            engine.issue_ticket("C")
        assert engine.store.all_tickets() == before
        assert line.opens_at == MORNING.replace(hour=7, minute=30) + timedelta(days=7)


# the database of an older Loket


def test_a_database_of_schema_three_gets_due_times_and_service_totals(tmp_path, clock, monkeypatch):
    path = tmp_path / "v3.db"
    with monkeypatch.context() as older_loket:
        older_loket.setattr(storage, "MIGRATIONS", storage.MIGRATIONS[:3])
        older_loket.setattr(storage, "SCHEMA_VERSION", 3)
        Engine(path, clock=clock).close()
    conn = sqlite3.connect(path)
    with conn:  # what Loket of schema 3 wrote: A001 served in 6 minutes, A002 waiting
        conn.execute("UPDATE counters SET ticket_id = NULL")
        ticket = (
            "INSERT INTO tickets (series, service_day, seq, number, service, kind, status, "
            "arrived_at, called_at, finished_at) VALUES ('A', '2026-12-01', ?, ?, 'A', "
            "'walk_in', ?, '2026-12-01T08:00:00.000000+00:00', ?, ?)"
        )
        called, done = "2026-12-01T08:00:00.000000+00:00", "2026-12-01T08:06:00.000000+00:00"
        conn.execute(ticket, (1, "A001", "waiting", None, None))
        conn.execute(
            "UPDATE tickets SET status = 'done', called_at = ?, finished_at = ?", (called, done)
        )
        conn.execute(ticket, (2, "A002", "waiting", None, None))
    conn.close()
    with Engine(path, clock=clock, create=False) as engine:
        line = engine.store.line("A", "2026-12-01")
        assert (line.waiting, line.served, line.service_seconds) == (1, 1, 360)
        assert engine.ticket("A002").due_at == MORNING  # due when it came
        assert engine.call_next("1").called.number == "A002"


def test_an_appointment_checked_in_early_is_told_when_it_will_be_called(office, clock):
    clerks_at(office, "1", "2", "3", "4")
    booking = office.add_appointment("B", clock.now + timedelta(minutes=30))
    receipt = office.check_in(booking.reference).receipt
    # due at 09:25 (lead 5); walk-ins arriving until 09:10 (less the 15-minute target)
    # will be due before it and called first
    assert receipt.called_around == MORNING + timedelta(minutes=10)
    assert receipt.estimated_wait_minutes == 10


def test_a_free_clerk_and_nobody_ahead_means_called_at_once(office, clock):
    clerks_at(office, "1", "2", "4")
    office.issue_ticket("A")
    office.call_next("1")  # Loket 1 is busy; Loket 2 and 4 are free
    receipt = office.issue_ticket("A")
    assert (receipt.estimated_wait_minutes, receipt.called_around) == (0, clock.now)


def test_a_reinstated_ticket_lands_behind_one_due_at_the_same_moment(office, clock):
    office.issue_ticket("A")
    office.call_next("1")
    office.no_show("1")
    clock.advance(minutes=1)
    for _ in range(3):  # the same instant: all due at 09:16, as a newcomer would be
        office.issue_ticket("A")
    assert office.reinstate("A001").position == 4


def test_next_can_record_that_the_visitor_never_came_in_the_same_step(office):
    office.issue_ticket("A")
    office.issue_ticket("A")
    office.call_next("1")
    call = office.call_next("1", "A001", came=False)
    assert (call.finished.status, call.called.number) == ("no_show", "A002")
    assert [e.action for e in office.events_after(0)][-2:] == ["no_show", "call"]


# found in review


def test_a_free_counter_with_empty_lines_calls_at_once_however_busy_the_others(new_database, clock):
    text = default_config_text().replace(
        "minutes = 10\n", 'minutes = 10\nhours = { tue = "08:30-09:20" }\n', 1
    )
    clock.now = MORNING + timedelta(minutes=10)  # 09:10; B closes at 09:20
    with Engine(new_database(), clock=clock, config_text=text) as engine:
        clerks_at(engine, "1", "2", "3", "4")
        for _ in range(12):
            engine.issue_ticket("A")
        for counter in ("1", "2", "4"):
            engine.call_next(counter)
        b = next(s for s in engine.services() if s.code == "B")
        assert (b.estimated_wait_minutes, b.full_today) == (0, False)
        assert engine.issue_ticket("B").estimated_wait_minutes == 0  # Loket 3 is free


def test_a_config_that_drops_a_service_being_served_leaves_estimates_working(office, clock):
    clerks_at(office, "1", "2", "3", "4")
    office.issue_ticket("C")
    office.call_next("3")
    text = default_config_text()
    without_c = (
        text[: text.index('[[services]]\ncode = "C"')]
        + text[text.index('[[services]]\ncode = "D"') :]
    )
    office.init(
        without_c.replace('services = ["A", "C"]', 'services = ["A"]')
        .replace('services = ["B", "C", "D"]', 'services = ["B", "D"]')
        .replace('"burgerlijke stand" = "C"\n"huwelijk" = "C"\n', "")
    )
    assert office.issue_ticket("B").estimated_wait_minutes is not None


def test_a_no_show_whose_line_is_empty_comes_back_first_not_behind_other_lines(office, clock):
    for _ in range(8):
        office.issue_ticket("B")
    office.issue_ticket("A")
    office.call_number("1", "A001")
    office.no_show("1")
    clock.advance(minutes=1)
    receipt = office.reinstate("A001")
    assert receipt.ticket.due_at <= clock.now
    assert office.call_next("1").called.number == "A001"


def test_a_reinstated_ticket_is_never_more_than_places_behind_when_dues_tie(office, clock):
    for _ in range(2):  # R001 and R002, both due 09:15
        booking = office.add_appointment("B", clock.now + timedelta(minutes=20))
        office.check_in(booking.reference)
    office.issue_ticket("B")
    office.call_number("1", "B001")
    office.no_show("1")
    clock.advance(minutes=5)
    office.init(default_config_text().replace("places = 3", "places = 1"))
    assert office.reinstate("B001").position <= 2


def test_a_no_show_comes_back_behind_a_short_line_not_before_it(office, clock):
    office.issue_ticket("A")
    office.call_next("1")
    office.no_show("1")
    office.issue_ticket("A")  # A002, due 09:15: fewer than `places` wait
    assert office.reinstate("A001").position == 2


def test_a_ticket_written_by_a_loket_of_schema_three_during_the_upgrade_gets_a_due_time(
    tmp_path, clock
):
    """A SQLite file only: a server's office never had schema 3."""
    with Engine(tmp_path / "loket.db", clock=clock) as office:
        with office.store.write() as db:  # what the old INSERT, without due_at, leaves
            db._q(
                "INSERT INTO tickets (series, service_day, seq, number, service, kind, status, "
                "arrived_at) VALUES ('A', '2026-12-01', 1, 'A001', 'A', 'walk_in', 'waiting', "
                "'2026-12-01T08:00:00.000000+00:00')"
            )
        assert office.ticket("A001").due_at == MORNING
        assert office.call_next("1").called.number == "A001"


def test_a_signed_code_of_a_ticket_this_file_does_not_hold_is_not_recognised(office):
    receipt = office.issue_ticket("A")
    stranger = replace(receipt.ticket, number="A099", seq=99)
    code = codes.ticket_payload(office.store.setting("qr_secret"), stranger)
    assert office.check_in(code).outcome == "not_recognised"


def test_full_for_today_means_the_day_not_the_morning(new_database, clock):
    text = default_config_text().replace(
        "daily_limit = 40\n", 'daily_limit = 40\nhours = { tue = "08:30-09:20, 13:00-16:00" }\n'
    )
    clock.now = MORNING + timedelta(minutes=10)  # 09:10; a break from 09:20 to 13:00
    with Engine(new_database(), clock=clock, config_text=text) as engine:
        clerks_at(engine, "2", "3")
        for _ in range(3):
            engine.issue_ticket("C")  # called after the break, if need be
        line = next(s for s in engine.services() if s.code == "C")
        assert not line.full_today
