"""What the counter and the display read: a desk's line, waiting counts, today's calls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loket.engine import Engine
from tests.conftest import Clock

pytestmark = pytest.mark.backends


def test_a_desk_shows_its_own_services_in_the_order_it_will_call_them(office, clock):
    office.issue_ticket("A")
    clock.advance(minutes=5)
    office.issue_ticket("C")  # counter 1 does not serve C
    office.issue_ticket("B", priority=True)
    desk = office.desk("1")
    assert desk.waiting == {"A": 1, "B": 1}
    assert [t.number for t in desk.upcoming] == ["B001", "A001"]
    assert desk.longest_waiting_since == clock.now - timedelta(minutes=5)
    assert desk.counter.current is None and desk.served_today == 0
    office.call_next("1")
    office.call_next("1")
    desk = office.desk("1")
    assert desk.counter.current.number == "A001"
    assert desk.served_today == 1
    assert desk.upcoming == [] and desk.longest_waiting_since is None


def test_status_shows_the_first_of_each_line_in_calling_order_and_counts_them_all(office, clock):
    for _ in range(4):
        office.issue_ticket("A")
        clock.advance(minutes=1)
    office.issue_ticket("A", priority=True)
    status = office.status(upcoming=3)
    assert [t.number for t in status.waiting["A"]] == ["A005", "A001", "A002"]
    assert [s.waiting for s in status.services if s.code == "A"] == [5]


def test_waiting_counts_list_every_service(office):
    office.issue_ticket("C")
    assert office.waiting_counts() == {"A": 0, "B": 0, "C": 1, "D": 0}


def test_calls_today_leave_out_yesterday(office, clock):
    office.issue_ticket("A")
    office.call_next("1")
    clock.advance(days=1)
    office.issue_ticket("B")
    office.call_next("3")
    office.recall("3")
    calls = office.calls_today()
    assert [(e.action, e.number, e.counter) for e in calls] == [
        ("recall", "B001", "3"),
        ("call", "B001", "3"),
    ]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    arrivals=st.lists(
        st.tuples(st.sampled_from("ABC"), st.booleans(), st.integers(0, 50)),
        min_size=1,
        max_size=20,
    )
)
def test_the_next_number_on_the_clerks_screen_is_the_one_next_calls(tmp_path_factory, arrivals):
    clock = Clock()
    with Engine(tmp_path_factory.mktemp("d") / "loket.db", clock=clock) as engine:
        for service, priority, minutes_later in arrivals:
            clock.advance(minutes=minutes_later)
            engine.issue_ticket(service, priority=priority)
        for _ in arrivals:
            upcoming = engine.desk("1").upcoming
            called = engine.call_next("1").called
            assert (called and called.number) == (upcoming[0].number if upcoming else None)
