"""Cost must not grow with the line: each operation does the same work at 100 or 3,000 tickets.

SQLite's virtual-machine steps are counted (a progress handler every 100 steps), not
seconds: the count is the same on a busy or an idle machine, so the test cannot be flaky.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from loket.config import default_config_text
from loket.engine import Engine
from tests.conftest import Clock


def vm_steps(engine, operation) -> int:
    """Roughly how many SQLite VM instructions `operation` runs, in hundreds."""
    steps = 0

    def count():
        nonlocal steps
        steps += 1
        return 0

    engine.store.conn.set_progress_handler(count, 100)
    try:
        operation()
    finally:
        engine.store.conn.set_progress_handler(None, 0)
    return steps


def busy_day(path, tickets: int) -> Engine:
    """An office where `tickets` visitors were served today and as many wait in lines A, B, C.

    Each new ticket then joins near one end of every line it shares counters with: the
    tickets ahead are counted from that end (a ticket in the middle of two long runs of
    a line costs the count of one of them: `Engine._ahead`).
    """
    clock = Clock()
    engine = Engine(path, clock=clock)
    engine.init(default_config_text().replace("daily_limit = 40", ""))
    booking = engine.add_appointment("B", clock.now + timedelta(minutes=10))
    engine.check_in(booking.qr_payload)
    for _ in range(tickets):
        engine.issue_ticket("A")
        engine.issue_ticket("B", priority=True)
    for _ in range(tickets):
        engine.call_next("1")
        clock.advance(seconds=30)
    engine.finish("1")
    for _ in range(tickets):
        engine.issue_ticket("B")
        engine.issue_ticket("C")
    clock.advance(minutes=5)
    return engine


OPERATIONS = {
    "issue": lambda e: e.issue_ticket("A"),
    "issue priority": lambda e: e.issue_ticket("C", priority=True),
    "call": lambda e: e.call_next("2"),
    "desk": lambda e: e.desk("1"),
    "status": lambda e: e.status(),
    "services": lambda e: e.services(),
    "waiting counts": lambda e: e.waiting_counts(),
    "calls today": lambda e: e.calls_today(),
}


@pytest.fixture(scope="module")
def small_and_large(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale")
    small, large = busy_day(folder / "small.db", 100), busy_day(folder / "large.db", 1500)
    yield small, large
    small.close()
    large.close()


@pytest.mark.parametrize("name", OPERATIONS)
def test_an_operation_costs_the_same_with_a_long_line(small_and_large, name):
    small, large = small_and_large
    operation = OPERATIONS[name]
    few, many = vm_steps(small, lambda: operation(small)), vm_steps(large, lambda: operation(large))
    assert many <= few * 1.5 + 5, f"{name}: {few} steps at 100 tickets, {many} at 1,500"
