"""The queue rules, told as a visitor's or clerk's story on the demo office."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loket import rules
from loket.config import default_config_text, load_config
from loket.engine import Engine
from loket.errors import Refused
from tests.conftest import MORNING, Clock, clerks_at

pytestmark = pytest.mark.backends


def test_numbers_start_at_one_per_service_and_are_zero_padded(office):
    assert office.issue_ticket("A").ticket.number == "A001"
    assert office.issue_ticket("A").ticket.number == "A002"
    assert office.issue_ticket("B").ticket.number == "B001"


def test_numbers_restart_at_local_midnight_not_utc_midnight(office, clock):
    office.issue_ticket("A")
    clock.now = clock.now.replace(hour=22, minute=30)  # 23:30 in Brussels: same service day
    assert office.issue_ticket("A").ticket.number == "A002"
    clock.advance(minutes=40)  # 00:10 in Brussels, still 23:10 UTC
    assert office.issue_ticket("A").ticket.number == "A001"


def test_a_ticket_of_yesterday_that_was_never_called_expires_instead_of_carrying_over(
    office, clock
):
    office.issue_ticket("A")
    office.call_next("1")
    office.issue_ticket("A")
    clock.advance(days=1)
    office.issue_ticket("B")
    tickets = {t.number + "@" + t.service_day: t.status for t in office.store.all_tickets()}
    assert tickets == {
        "A001@2026-12-01": "expired",
        "A002@2026-12-01": "expired",
        "B001@2026-12-02": "waiting",
    }
    assert office.counter_state("1").current is None
    assert office.call_next("1").called.number == "B001"


def test_ticket_for_an_unknown_service_is_refused_and_writes_nothing(office):
    with pytest.raises(Refused, match="unknown service 'Z'"):
        office.issue_ticket("Z")
    assert office.store.all_tickets() == []


def test_appointment_only_service_refuses_walk_in_tickets(office):
    with pytest.raises(Refused, match="appointments only"):
        office.issue_ticket("D")


def test_daily_limit_refuses_the_ticket_after_the_last_one(office):
    for _ in range(40):
        office.issue_ticket("C")
    with pytest.raises(Refused, match="daily limit of 40"):
        office.issue_ticket("C")
    assert [s.limit_reached for s in office.services() if s.code == "C"] == [True]


def test_a_daily_limit_of_one_says_ticket(new_database, clock):
    config = default_config_text().replace("daily_limit = 40", "daily_limit = 1")
    with Engine(new_database(), clock=clock, config_text=config) as engine:
        engine.issue_ticket("C")
        with pytest.raises(Refused, match="daily limit of 1 ticket$"):
            engine.issue_ticket("C")


def test_closed_service_says_when_it_opens(new_database, clock):
    config = default_config_text().replace(
        "daily_limit = 40", 'daily_limit = 40\nhours = { tue = "13:00-16:00" }'
    )
    with Engine(new_database(), clock=clock) as engine:
        engine.init(config)
        with pytest.raises(Refused, match="closed now; it opens at 13:00"):
            engine.issue_ticket("C")
        clock.now = clock.now.replace(hour=12, minute=30)  # 13:30 local
        assert engine.issue_ticket("C").ticket.number == "C001"


def test_a_retried_request_gets_its_ticket_even_once_the_service_has_closed(new_database, clock):
    """The tap committed at 15:59 but its answer was lost; the kiosk asks again at 16:01."""
    config = default_config_text().replace(
        "daily_limit = 40", 'daily_limit = 40\nhours = { tue = "13:00-16:00" }'
    )
    clock.now = clock.now.replace(hour=14, minute=59)  # 15:59 local
    with Engine(new_database(), clock=clock) as engine:
        engine.init(config)
        first = engine.issue_ticket("C", request_key="tap-1").ticket
        clock.advance(minutes=2)
        assert engine.issue_ticket("C", request_key="tap-1").ticket == first
        with pytest.raises(Refused, match="closed now"):
            engine.issue_ticket("C", request_key="tap-2")


def test_counter_calls_the_oldest_arrival_across_its_services(office, clock):
    office.issue_ticket("B")
    clock.advance(minutes=1)
    office.issue_ticket("A")
    assert office.call_next("1").called.number == "B001"
    assert office.call_next("1").called.number == "A001"


def test_next_finishes_the_current_ticket_in_the_same_step(office):
    office.issue_ticket("A")
    office.issue_ticket("A")
    office.call_next("1")
    call = office.call_next("1")
    assert call.finished.number == "A001" and call.finished.status == "done"
    assert call.called.number == "A002"


def test_nothing_waiting_returns_no_ticket_and_frees_the_counter(office):
    office.issue_ticket("A")
    office.call_next("1")
    call = office.call_next("1")
    assert call.called is None and call.finished.number == "A001"
    assert office.counter_state("1").current is None


def test_counter_never_calls_a_service_it_does_not_serve(office):
    office.issue_ticket("C")
    assert office.call_next("1").called is None
    assert office.call_next("2").called.number == "C001"


def test_priority_ticket_goes_before_older_ordinary_tickets(office, clock):
    office.issue_ticket("A")
    clock.advance(minutes=5)
    receipt = office.issue_ticket("A", priority=True)
    assert receipt.position == 1
    assert office.call_next("1").called.number == "A002"


def test_a_priority_ticket_overtakes_only_those_who_came_less_than_its_credit_before(office, clock):
    office.issue_ticket("A")  # due 09:15
    clock.advance(minutes=21)
    office.issue_ticket("A", priority=True)  # 09:21 + 15 - 20: due 09:16
    clock.advance(minutes=1)
    office.issue_ticket("A", priority=True)  # due 09:17
    assert [office.call_next("1").called.number for _ in range(3)] == ["A001", "A002", "A003"]


def test_an_appointment_is_due_its_lead_before_its_slot(office, clock):
    office.issue_ticket("A")  # due 09:15
    office.issue_ticket("A", priority=True)  # due 08:55
    booking = office.add_appointment("A", clock.now + timedelta(minutes=10))
    office.check_in(booking.reference)  # due 09:10 - 5 minutes' lead
    assert [office.call_next("1").called.number for _ in range(3)] == ["A002", "R001", "A001"]


def test_a_late_appointment_is_due_from_its_check_in_not_its_slot(office, clock):
    booking = office.add_appointment("B", clock.now + timedelta(minutes=5))
    clock.advance(minutes=3)
    office.issue_ticket("B")  # 09:03: due 09:18
    clock.advance(minutes=12)
    office.check_in(booking.reference)  # 09:15 for 09:05, within the grace: due 09:10
    office.issue_ticket("B")  # due 09:30
    assert [office.call_next("1").called.number for _ in range(3)] == ["R001", "B001", "B002"]


def test_priority_tickets_go_among_themselves_by_arrival(office, clock):
    office.issue_ticket("A")
    for _ in range(2):
        clock.advance(minutes=1)
        office.issue_ticket("A", priority=True)
    assert [office.call_next("1").called.number for _ in range(3)] == ["A002", "A003", "A001"]


def test_due_appointments_go_by_their_time_not_by_when_they_checked_in(office, clock):
    later = office.add_appointment("B", clock.now + timedelta(minutes=20))
    sooner = office.add_appointment("B", clock.now + timedelta(minutes=10))
    office.check_in(later.reference)  # R001, at 09:00 for 09:20
    clock.advance(minutes=5)
    office.check_in(sooner.reference)  # R002, at 09:05 for 09:10
    clock.advance(minutes=15)  # 09:20: both are due
    assert [office.call_next("1").called.number for _ in range(2)] == ["R002", "R001"]


def test_an_early_appointment_is_due_at_its_slot_not_when_it_checked_in(office, clock):
    booking = office.add_appointment("B", clock.now + timedelta(minutes=30))
    office.check_in(booking.reference)  # 09:00 for 09:30: due 09:25
    clock.advance(minutes=1)
    office.issue_ticket("B")  # due 09:16
    assert [office.call_next("1").called.number for _ in range(2)] == ["B001", "R001"]


def test_ties_go_to_the_lower_ticket_id(office):
    office.issue_ticket("B")
    office.issue_ticket("A")  # same instant: the clock stands still
    assert office.call_next("1").called.number == "B001"


def test_due_times_follow_the_office_config():
    office = load_config(default_config_text())
    arrived = MORNING
    slot = MORNING + timedelta(minutes=30)
    due = {
        "walk-in": rules.due_at(office, "A", "walk_in", False, arrived),
        "priority": rules.due_at(office, "A", "walk_in", True, arrived),
        "early appointment": rules.due_at(office, "A", "appointment", False, arrived, slot),
        "late appointment": rules.due_at(office, "A", "appointment", False, slot, arrived),
    }
    minutes = {name: (moment - MORNING) / timedelta(minutes=1) for name, moment in due.items()}
    assert minutes == {
        "walk-in": 15,  # target_minutes
        "priority": -5,  # 15 - priority_credit_minutes
        "early appointment": 25,  # slot - appointment_lead_minutes
        "late appointment": 25,  # check-in - appointment_lead_minutes
    }


def test_a_counter_takes_its_preferred_service_first_once_it_is_due(office, clock):
    office.issue_ticket("A")  # due 09:15
    booking = office.add_appointment("D", clock.now + timedelta(minutes=30))
    office.check_in(booking.reference)  # D, due 09:25; counter 4 serves D and A, prefers D
    clock.advance(minutes=20)  # 09:20: D is not due yet
    assert office.desk("4").upcoming[0].number == "A001"
    clock.advance(minutes=5)
    office.issue_ticket("A")  # due 09:40
    clock.advance(minutes=1)
    assert [t.number for t in office.desk("4").upcoming] == ["R001", "A001", "A002"]
    assert office.call_next("4").called.number == "R001"  # though A001 is due sooner


def test_staff_can_call_a_number_out_of_order(office):
    office.issue_ticket("A")
    office.issue_ticket("A")
    assert office.call_number("1", "a2").called.number == "A002"
    assert office.call_next("1").called.number == "A001"


def test_calling_a_number_another_counter_already_called_is_refused(office):
    office.issue_ticket("A")
    office.call_next("2")
    with pytest.raises(Refused, match="A001 cannot be called: already called at Loket 2"):
        office.call_number("1", "A001")


def test_two_counters_never_share_a_visitor(office):
    office.issue_ticket("A")
    assert office.call_next("1").called.number == "A001"
    assert office.call_next("2").called is None


def test_acting_on_a_ticket_the_counter_no_longer_holds_is_refused(office):
    office.issue_ticket("A")
    office.call_next("1")
    office.finish("1")
    with pytest.raises(Refused, match="A001 is no longer at Loket 1"):
        office.finish("1", current="A001")
    with pytest.raises(Refused, match="Loket 1 has no current ticket"):
        office.recall("1")


def test_recall_keeps_the_ticket_called_and_counts(office):
    office.issue_ticket("A")
    office.call_next("1")
    office.recall("1")
    ticket = office.recall("1", current="A1")
    assert ticket.status == "called" and ticket.recalls == 2
    assert [e.action for e in office.status().recent_calls] == ["recall", "recall", "call"]


def test_no_show_ends_the_ticket_and_frees_the_counter(office):
    office.issue_ticket("A")
    office.call_next("1")
    assert office.no_show("1").status == "no_show"
    assert office.counter_state("1").current is None


def test_transferred_ticket_keeps_its_number_and_its_place_by_arrival(office, clock):
    arrived = clock.now
    office.issue_ticket("A")
    clock.advance(minutes=2)
    office.issue_ticket("C")
    clock.advance(minutes=3)
    office.issue_ticket("C")
    first_called = clock.advance(minutes=1)
    office.call_number("1", "A001")
    clock.advance(minutes=4)
    moved = office.transfer("1", "C")
    assert (moved.number, moved.service, moved.status) == ("A001", "C", "waiting")
    assert moved.arrived_at == office.ticket("A001").arrived_at == arrived
    assert office.position(moved) == 1  # arrived before C001 and C002
    clock.advance(minutes=1)
    assert office.issue_ticket("C").position == 4
    called_again = clock.advance(minutes=1)
    again = office.call_next("2").called
    assert (again.number, again.first_called_at, again.called_at) == (
        "A001",
        first_called,
        called_again,
    )
    assert [office.call_next("2").called.number for _ in range(3)] == ["C001", "C002", "C003"]


def test_cancelled_ticket_leaves_the_line_and_its_number_is_not_reused(office):
    office.issue_ticket("A")
    office.cancel("A001")
    assert office.issue_ticket("A").ticket.number == "A002"
    assert office.call_next("1").called.number == "A002"
    with pytest.raises(Refused, match="not waiting"):
        office.cancel("A002")


def test_paused_counter_is_not_counted_as_open_and_cannot_call(office):
    clerks_at(office, "1", "2", "3", "4")
    before = {s.code: s.open_counters for s in office.services()}
    office.pause("1")
    after = {s.code: s.open_counters for s in office.services()}
    assert (before["A"], after["A"]) == (3, 2)
    with pytest.raises(Refused, match="Loket 1 is paused"):
        office.call_next("1")
    office.resume("1")
    assert office.call_next("1").called is None


def test_pause_with_a_visitor_at_the_counter_is_refused(office):
    office.issue_ticket("A")
    office.call_next("1")
    with pytest.raises(Refused, match="finish it first"):
        office.pause("1")


def test_the_estimate_counts_a_line_by_the_configured_minutes_at_first(office):
    # A: 8 minutes by default, 3 open counters (1, 2, 4), all free
    clerks_at(office, "1", "2", "4")
    assert office.issue_ticket("A").estimated_wait_minutes == 0  # a counter is free
    receipts = [office.issue_ticket("A") for _ in range(3)]
    # 3 x 8 minutes ahead over 3 counters: 8 minutes, promised to the nearest 5
    assert receipts[-1].estimated_wait_minutes == 10
    assert receipts[-1].called_around == office.now() + timedelta(minutes=8)


def test_the_mean_service_time_moves_from_the_config_toward_todays_visits(office, clock):
    assert rules.mean_minutes(8, 0, 0) == 8
    for _ in range(5):
        office.issue_ticket("A")
    for _ in range(5):
        office.call_next("1")
        clock.advance(minutes=2)
    office.finish("1")
    line = office.store.line("A", office.today())
    assert rules.mean_minutes(8, line.served, line.service_seconds) == 5  # (5x8 + 5x2) / 10


def test_a_recall_does_not_restart_the_service_clock(office, clock):
    office.issue_ticket("A")
    office.call_next("1")
    for _ in range(2):
        clock.advance(minutes=3)
        office.recall("1")
    clock.advance(minutes=4)
    office.finish("1")
    assert office.store.line("A", office.today()).service_seconds == 10 * 60


def test_no_open_counter_means_no_estimate(office):
    for counter in ("1", "3"):
        office.pause(counter)
    assert office.issue_ticket("B").estimated_wait_minutes is None


def test_a_paused_counter_whose_clerk_is_there_still_counts_for_half(office):
    clerks_at(office, "1", "3")
    for _ in range(4):
        office.issue_ticket("B")
    before = office.issue_ticket("B").called_around
    office.pause("1")
    after = office.issue_ticket("B").called_around
    office.pause("3")
    paused = office.issue_ticket("B")
    assert before < after < paused.called_around and paused.estimated_wait_minutes is not None


def test_every_change_is_an_event(office):
    office.issue_ticket("A")
    office.call_next("1")
    office.recall("1")
    office.transfer("1", "B")
    office.call_next("3")
    office.no_show("3")
    events = office.events_after(0)
    assert [(e.action, e.from_state, e.to_state, e.counter) for e in events] == [
        ("issue", None, "waiting", None),
        ("call", "waiting", "called", "1"),
        ("recall", "called", "called", "1"),
        ("transfer", "called", "waiting", "1"),
        ("call", "waiting", "called", "3"),
        ("no_show", "called", "no_show", "3"),
    ]


def test_unknown_counter_is_refused_with_the_known_ones(office):
    with pytest.raises(Refused, match=r"unknown counter '9' \(known: 1, 2, 3, 4\)"):
        office.call_next("9")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    arrivals=st.lists(
        st.tuples(
            st.sampled_from(["walk_in", "priority", "appointment"]),
            st.integers(0, 40),
            st.integers(-20, 60),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_position_counted_in_sql_agrees_with_the_calling_rule(new_database, arrivals):
    clock = Clock()
    with Engine(new_database(), clock=clock) as engine:
        for kind, minutes_later, appointment_offset in arrivals:
            clock.advance(minutes=minutes_later)
            if kind == "appointment":
                booking = engine.add_appointment(
                    "A", clock.now + timedelta(minutes=appointment_offset)
                )
                receipt = engine.check_in(booking.reference).receipt
            else:
                receipt = engine.issue_ticket("A", priority=kind == "priority")
            if receipt is not None:  # the place the visitor is told is the rule's place
                assert receipt.position == engine.position(receipt.ticket)
        clock.advance(minutes=10)
        waiting = [t for t in engine.store.all_tickets() if t.status == "waiting"]
        by_rule = sorted(waiting, key=rules.calling_key)
        assert [engine.position(t) for t in by_rule] == list(range(1, len(waiting) + 1))
        called = [engine.call_next("1").called.number for _ in waiting]
        assert called == [t.number for t in by_rule]
