"""Who is at which counter: a counter counts as open only while a clerk's app holds it."""

from __future__ import annotations

import multiprocessing
import os
import signal
from datetime import timedelta

import pytest

from loket.cli import main
from loket.config import default_config_text
from loket.engine import PRESENCE_INTERVAL_SECONDS, PRESENCE_TIMEOUT_SECONDS, Engine
from loket.errors import DeskInUse, Refused
from tests.conftest import MORNING, Clock

pytestmark = pytest.mark.backends


def estimate_a(engine) -> tuple[int, int | None]:
    """(counters in use for service A, estimated wait of a new A ticket)."""
    a = next(s for s in engine.services() if s.code == "A")
    return a.open_counters, a.estimated_wait_minutes


def events(engine) -> list[tuple[str, str | None]]:
    return [(e.action, e.counter) for e in engine.store.events_after(0, limit=10**9)]


def test_a_new_office_has_nobody_at_its_counters_so_no_estimate(office):
    assert estimate_a(office) == (0, None)
    assert {c.id: (c.present, c.away_since) for c in office.status().counters} == {
        "1": (False, None),
        "2": (False, None),
        "3": (False, None),
        "4": (False, None),
    }


def test_a_clerk_opening_the_app_opens_the_desk_for_estimates(office):
    office.issue_ticket("A")
    state = office.open_desk("1", "app-1")
    assert (state.state, state.present) == ("open", True)
    assert estimate_a(office) == (1, 10)  # A: 8 minutes ahead by default, one counter
    office.open_desk("2", "app-2")
    assert estimate_a(office) == (2, 5)  # 4 minutes, to the nearest 5
    assert events(office)[-2:] == [("open_desk", "1"), ("open_desk", "2")]


def test_heartbeats_keep_a_desk_present_and_silence_makes_it_away(office, clock):
    office.open_desk("1", "app-1")
    for _ in range(10):
        clock.advance(seconds=PRESENCE_INTERVAL_SECONDS)
        assert office.heartbeat("1", "app-1") is True
    assert office.counter_state("1").present
    heard = clock.now
    clock.advance(seconds=PRESENCE_TIMEOUT_SECONDS + 1)  # the app died: no more heartbeats
    state = office.counter_state("1")
    assert (state.present, state.away_since) == (False, heard)
    assert estimate_a(office) == (0, None)


def test_heartbeats_write_no_events(office, clock):
    office.open_desk("1", "app-1")
    before = events(office)
    clock.advance(seconds=PRESENCE_INTERVAL_SECONDS)
    office.heartbeat("1", "app-1")
    assert events(office) == before


def test_closing_the_app_pauses_the_desk_and_says_since_when(office, clock):
    office.open_desk("1", "app-1")
    clock.advance(minutes=5)
    office.leave_desk("1", "app-1")
    state = office.counter_state("1")
    assert (state.state, state.present, state.away_since) == ("paused", False, clock.now)
    assert events(office)[-1] == ("leave_desk", "1")
    with pytest.raises(Refused, match="Loket 1 is paused"):
        office.call_next("1")


def test_a_visitor_at_the_desk_stays_its_ticket_when_the_app_closes(office):
    office.issue_ticket("A")
    office.open_desk("1", "app-1")
    office.call_next("1")
    office.leave_desk("1", "app-1")
    office.open_desk("1", "app-2")
    state = office.counter_state("1")
    assert (state.state, state.current.number) == ("open", "A001")


def test_a_second_app_at_a_held_desk_is_warned_and_changes_nothing(office, clock):
    office.open_desk("1", "first")
    opened = clock.now
    clock.advance(seconds=PRESENCE_INTERVAL_SECONDS)
    office.heartbeat("1", "first")
    before = events(office)
    with pytest.raises(DeskInUse) as refused:
        office.open_desk("1", "second")
    assert (refused.value.counter_name, refused.value.since, refused.value.seen_at) == (
        "Loket 1",
        opened,
        clock.now,
    )
    assert events(office) == before
    assert office.heartbeat("1", "first") is True


def test_taking_over_a_desk_tells_the_first_app_at_its_next_heartbeat(office, clock):
    office.open_desk("1", "first")
    office.open_desk("1", "second", take_over=True)
    assert events(office)[-1] == ("take_over", "1")
    clock.advance(seconds=PRESENCE_INTERVAL_SECONDS)
    assert office.heartbeat("1", "first") is False
    office.leave_desk("1", "first")  # the first app quits: the desk stays with the second
    state = office.counter_state("1")
    assert (state.state, state.present) == ("open", True)
    assert office.heartbeat("1", "second") is True


def test_an_app_that_died_is_no_reason_to_warn_the_next_one(office, clock):
    office.open_desk("1", "died")
    clock.advance(seconds=PRESENCE_TIMEOUT_SECONDS + 1)
    assert office.open_desk("1", "next").present
    assert events(office)[-1] == ("open_desk", "1")


def _hold_desk_then_wait(path, ready) -> None:
    """A counter app's process: it holds desk 1 at 09:00, then hangs until it is killed."""
    with Engine(path, clock=Clock(MORNING), create=False) as engine:
        engine.open_desk("1", f"pid-{os.getpid()}")
        ready.set()
        signal.pause()


def test_a_killed_counter_process_leaves_its_desk_away_after_the_timeout(db_path, clock):
    Engine(db_path, clock=clock).close()
    ready = multiprocessing.get_context("spawn").Event()
    process = multiprocessing.get_context("spawn").Process(
        target=_hold_desk_then_wait, args=(db_path, ready)
    )
    process.start()
    try:
        assert ready.wait(30)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.join(10)
    with Engine(db_path, clock=clock, create=False) as engine:
        assert engine.counter_state("1").present
        clock.advance(seconds=PRESENCE_TIMEOUT_SECONDS + 1)
        state = engine.counter_state("1")
        assert (state.present, state.away_since) == (False, MORNING)
        assert estimate_a(engine) == (0, None)


def test_status_on_the_command_line_shows_who_is_away_since_when(db_path, clock, capsys):
    with Engine(db_path, clock=clock) as engine:
        engine.open_desk("1", "app-1")
        engine.open_desk("2", "app-2")
        clock.advance(minutes=12)
        engine.heartbeat("1", "app-1")
        engine.leave_desk("2", "app-2")  # 09:12 in Brussels
    capsys.readouterr()
    assert main(["--db", str(db_path), "status"], clock=clock) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "Loket" in line]
    states = [[cell.strip() for cell in row.strip("│").split("│")][1] for row in rows[:4]]
    assert states == ["open", "away since 09:12", "nobody", "nobody"]


def test_a_printer_fault_shows_in_the_status_until_it_prints_again(office, clock, capsys):
    office.report_problem("kiosk printer", "paper out")
    clock.advance(minutes=3)
    office.report_problem("kiosk printer", "paper out")  # the next ticket fails the same way
    problems = office.status().problems
    assert [(p.device, p.problem, p.since) for p in problems] == [
        ("kiosk printer", "paper out", clock.now - timedelta(minutes=3))
    ]
    assert events(office)[-1] == ("problem", None)
    assert sum(action == "problem" for action, _ in events(office)) == 1
    office.report_problem("kiosk printer", None)
    assert office.status().problems == []
    assert events(office)[-1] == ("problem_solved", None)


def test_the_status_command_lists_what_needs_attention(db_path, clock, capsys):
    with Engine(db_path, clock=clock) as engine:
        engine.report_problem("kiosk printer", "paper out")
    capsys.readouterr()
    assert main(["--db", str(db_path), "status"], clock=clock) == 0
    out = capsys.readouterr().out
    assert "Needs attention" in out
    row = next(line for line in out.splitlines() if "kiosk printer" in line)
    assert [cell.strip() for cell in row.split("│")[1:4]] == ["kiosk printer", "paper out", "09:00"]


@pytest.fixture
def uid_office(new_database, clock):
    """An office that lets visitors check in with their booking system's number."""
    config = default_config_text() + "\n[appointments]\ncheck_in_by_uid = true\n"
    with Engine(new_database(), clock=clock, config_text=config) as engine:
        engine.add_appointment("B", clock.now + timedelta(minutes=10), uid="bk-2026-1001")
        yield engine


@pytest.mark.parametrize(
    "code",
    [
        "bk-2026-1001",
        "BK-2026-1001",  # a keypad types capitals
        " bk-2026-1001 ",
        "https://afspraken.example.be/bevestiging/bk-2026-1001",  # the booking system's own QR
        "https://afspraken.example.be/bevestiging?id=bk-2026-1001&taal=nl",
    ],
)
def test_the_booking_systems_number_checks_in_when_the_office_allows_it(uid_office, code):
    result = uid_office.check_in(code)
    assert (result.outcome, result.receipt.ticket.number) == ("accepted", "R001")


def test_the_booking_systems_number_is_not_recognised_unless_the_office_allows_it(office, clock):
    office.add_appointment("B", clock.now + timedelta(minutes=10), uid="bk-2026-1001")
    assert office.check_in("bk-2026-1001").outcome == "not_recognised"
    assert office.waiting_counts()["B"] == 0


def test_a_number_near_a_booking_uid_is_not_recognised(uid_office):
    for code in ("bk-2026-100", "bk-2026-10011", "https://x.example/bk-2026-100", ""):
        assert uid_office.check_in(code).outcome == "not_recognised"
    assert uid_office.waiting_counts()["B"] == 0


def test_loket_s_own_key_of_a_csv_row_without_uid_is_no_check_in_code(uid_office, clock):
    from loket.imports import Row

    row = Row("line 2", None, "A", clock.now + timedelta(minutes=5), "Jan", False)
    uid_office.import_appointments([row])
    (imported,) = [a for a in uid_office.appointments() if a.uid != "bk-2026-1001"]
    assert imported.uid.startswith("row-") and imported.booking_uid is None
    assert uid_office.check_in(imported.uid).outcome == "not_recognised"
    assert uid_office.check_in(imported.reference).outcome == "accepted"


def test_a_link_that_holds_two_booking_numbers_checks_in_nobody(uid_office, clock):
    uid_office.add_appointment("B", clock.now + timedelta(minutes=20), uid="5")
    link = "https://afspraken.example.be/bevestiging?kantoor=5&id=bk-2026-1001"
    assert uid_office.check_in(link).outcome == "not_recognised"
    assert uid_office.waiting_counts()["B"] == 0


def test_a_link_whose_other_values_match_nothing_checks_in_its_booking(uid_office):
    link = "https://afspraken.example.be/bevestiging?kantoor=stadhuis&id=bk-2026-1001&taal=nl"
    assert uid_office.check_in(link).outcome == "accepted"


def test_after_the_clock_steps_back_a_dead_app_is_not_taken_for_present(office, clock):
    office.open_desk("1", "died")  # then the app dies, and NTP sets a fast clock back an hour
    clock.advance(hours=-1)
    assert office.counter_state("1").present is False
    assert estimate_a(office) == (0, None)
    assert office.open_desk("1", "next").present  # no warning about the dead one


def test_a_desk_pc_a_few_seconds_ahead_still_counts(office, clock):
    office.open_desk("1", "app-1")
    clock.advance(seconds=-PRESENCE_INTERVAL_SECONDS)  # the kiosk's clock is 10 s behind
    assert office.counter_state("1").present and estimate_a(office)[0] == 1
