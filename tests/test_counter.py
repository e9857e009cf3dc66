"""The counter app as a clerk uses it: call, recall, finish, transfer, pause, and refusals."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from textual.widgets import Button, Checkbox, Input, OptionList

from counter.app import BUG, WAITING, CounterApp
from loket.config import default_config_text
from loket.engine import Engine
from tests.conftest import Clock

SIZE = (100, 32)


def shown(app, selector: str) -> str:
    return str(app.query_one(selector).render())


def enabled(app) -> set[str]:
    return {button.id for button in app.query(".action").results(Button) if not button.disabled}


async def settle(pilot) -> None:
    """Let the counter's database work finish and its outcome reach the screen."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def press(pilot, *keys: str) -> None:
    """The clerk presses these keys and the screen shows the outcome."""
    await pilot.press(*keys)
    await settle(pilot)


async def click(pilot, selector: str) -> None:
    await pilot.click(selector)
    await settle(pilot)


@pytest.fixture
def make_counter(db_path, clock):
    """Counter `desk` of the demo office; live updates off unless the test asks for them."""

    def make(desk: str = "1", **kwargs) -> CounterApp:
        Engine(db_path, clock=clock).close()
        kwargs.setdefault("watch_interval", 3600)
        return CounterApp(str(db_path), desk, clock=clock, **kwargs)

    return make


async def test_shows_the_counter_its_line_and_nothing_to_do_without_visitors(make_counter, office):
    office.issue_ticket("A")
    office.issue_ticket("B", priority=True)
    office.issue_ticket("C")  # not served at counter 1
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert shown(app, "#name") == "Loket 1 · Stadhuis Demo"
        assert shown(app, "#state") == "OPEN"
        line = shown(app, "#queue")
        assert "A    1  Identiteitskaart en paspoort" in line
        assert "B    1  Verhuizing en adres" in line
        assert "C " not in line
        assert "Next: B001* A001" in line  # priority first, marked
        assert "Served today: 0" in line
        assert shown(app, "#details") == "No visitor."
        assert enabled(app) == {"next", "call_number", "pause", "issue"}


async def test_next_calls_the_visitor_and_shows_who_it_is(make_counter, office, clock):
    office.issue_ticket("A")
    clock.advance(minutes=7)
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        assert app.query_one("#number").text == "A001"
        assert shown(app, "#message") == "Called A001."
        details = shown(app, "#details")
        assert "A  Identiteitskaart en paspoort" in details
        assert "walk-in" in details and "Waited 7 min" in details
        clock.advance(seconds=75)
        app.tick()
        assert "Called 1:15 ago" in shown(app, "#details")
        assert office.counter_state("1").current.number == "A001"
        assert "pause" not in enabled(app)  # finish the visitor before pausing
        await press(pilot, "p")
        assert shown(app, "#message") == "Finish A001 first (done, no-show or transfer)."
        assert "refused" in app.query_one("#message").classes
        assert {"recall", "done", "no_show", "transfer", "next"} <= enabled(app)


async def test_next_with_nobody_waiting_finishes_the_visitor_and_says_so(make_counter, office):
    office.issue_ticket("A")
    office.call_next("1")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#next")
        assert shown(app, "#message") == "A001 done. Nobody is waiting."
        assert "Served today: 1" in shown(app, "#queue")
        assert "next" not in enabled(app)


async def test_recall_counts_and_is_announced_again(make_counter, office):
    office.issue_ticket("A")
    office.call_next("1")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "r")
        await press(pilot, "r")
        assert shown(app, "#message") == "Called A001 again."
        assert "Recalled 2×" in shown(app, "#details")
    recalls = office.events_after(0, actions=("recall",))
    assert [(e.number, e.counter) for e in recalls] == [("A001", "1"), ("A001", "1")]


@pytest.mark.parametrize(("key", "status", "said"), [("d", "done", "A001 done."),
                                                      ("x", "no_show", "A001 marked as no-show.")])  # fmt: skip
async def test_done_and_no_show_end_the_visit(make_counter, office, key, status, said):
    office.issue_ticket("A")
    office.call_next("1")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, key)
        assert shown(app, "#message") == said
        assert app.query_one("#number").text == ""
        assert "recall" not in enabled(app)
    assert office.ticket("A001").status == status


async def test_transfer_sends_the_visitor_to_another_line_with_the_same_number(
    make_counter, office
):
    office.issue_ticket("A")
    office.call_next("1")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "t")
        options = app.screen.query_one(OptionList)
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == [
            "B",
            "C",
            "D",
        ]  # not its own service
        await press(pilot, "down", "enter")  # C
        assert shown(app, "#message") == "A001 moved to the line of C; it keeps its number."
    ticket = office.ticket("A001")
    assert (ticket.service, ticket.status, ticket.number) == ("C", "waiting", "A001")


async def test_escape_closes_a_dialog_without_doing_anything(make_counter, office):
    office.issue_ticket("A")
    office.call_next("1")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "t")
        await press(pilot, "n")  # the counter's keys are off while a dialog is open
        await press(pilot, "escape")
        assert len(app.screen_stack) == 1
    assert office.ticket("A001").status == "called"


async def test_call_a_given_number_out_of_turn(make_counter, office):
    office.issue_ticket("A")
    office.issue_ticket("A")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c")
        assert isinstance(app.focused, Input)
        await press(pilot, "a", "0", "0", "2", "enter")
        assert shown(app, "#message") == "Called A002."
        assert app.query_one("#number").text == "A002"


async def test_calling_a_number_another_counter_took_is_refused_plainly(make_counter, office):
    office.issue_ticket("A")
    office.call_next("2")  # counter 2 took A001
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c", "a", "1", "enter")
        message = shown(app, "#message")
        assert message.startswith("Refused: A001 cannot be called")
        assert "refused" in app.query_one("#message").classes
        await press(pilot, "c", "z", "9", "enter")
        assert shown(app, "#message").startswith("Refused:")
    assert office.counter_state("1").current is None


async def test_acting_on_a_visitor_someone_else_already_handled_is_refused(
    make_counter, office, db_path, clock
):
    office.issue_ticket("A")
    office.call_next("1")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        office.no_show("1")  # e.g. `loket no-show 1` from a colleague's shell
        office.issue_ticket("A")
        await press(pilot, "d")  # the screen still showed A001
        assert shown(app, "#message") == (
            "Refused: A001 is no longer at Loket 1: it was already handled"
        )
        assert app.query_one("#number").text == ""  # re-read after the refusal
    assert office.ticket("A001").status == "no_show"


async def test_pause_and_resume(make_counter, office):
    office.issue_ticket("A")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "p")
        assert shown(app, "#state") == "PAUSED"
        assert str(app.query_one("#pause", Button).label) == "Resume (p)"
        assert enabled(app) == {"pause", "issue"}
        await press(pilot, "n")  # disabled: it says why, and nothing happens
        assert shown(app, "#message") == "The counter is paused: resume it first (p)."
        assert office.counter_state("1").current is None
        await press(pilot, "p")
        assert shown(app, "#state") == "OPEN"
        assert shown(app, "#message") == "Open again."


async def test_staff_issue_a_ticket_for_a_visitor(make_counter, office):
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "i")
        options = app.screen.query_one(OptionList)
        assert options.option_count == 3  # D takes appointments only
        await press(pilot, "p")  # ticks priority; Enter then issues, never unticks
        assert app.screen.query_one(Checkbox).value
        await press(pilot, "down", "enter")  # B
        assert shown(app, "#message") == (
            "Ticket B001 issued: tell the visitor their number (1st in line)."
        )
        assert "Next: B001*" in shown(app, "#queue")
    assert office.ticket("B001").priority


async def test_next_right_after_a_ticket_came_in_calls_it(make_counter, office):
    app = make_counter()  # polls only hourly here: its screen still says nobody waits
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        office.issue_ticket("A")
        await press(pilot, "n")
        assert shown(app, "#message") == "Called A001."


async def test_follows_tickets_issued_and_taken_elsewhere(make_counter, office):
    app = make_counter(watch_interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        office.issue_ticket("A")  # at the kiosk
        await pilot.pause(0.5)
        assert "Next: A001" in shown(app, "#queue")
        office.call_next("2")  # another counter takes it
        await pilot.pause(0.5)
        assert "Next: -" in shown(app, "#queue")
        assert "next" not in enabled(app)
        office.issue_ticket("B")
        office.call_next("1")  # a colleague calls from a shell for this desk
        await pilot.pause(0.5)
        assert shown(app, "#message") == "B001 was called to this counter from elsewhere."
        office.finish("1")
        await pilot.pause(0.5)
        assert shown(app, "#message") == "B001 was handled elsewhere."


async def test_without_a_database_it_waits_and_then_starts(db_path, clock):
    app = CounterApp(str(db_path), "1", clock=clock, watch_interval=0.05)
    app.retry.seconds = 0.1
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert shown(app, "#message").startswith("Not connected: the database")
        assert enabled(app) == set()
        await press(pilot, "n")
        Engine(db_path, clock=clock).close()
        await pilot.pause(0.4)
        assert shown(app, "#state") == "OPEN"
        assert enabled(app) == {"call_number", "pause", "issue"}


async def test_a_new_office_config_is_taken_up_without_a_restart(make_counter, office):
    app = make_counter(watch_interval=0.05)
    app.retry.seconds = 0.05
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        office.init(default_config_text().replace('name = "Loket 1"', 'name = "Balie 1"'))
        await pilot.pause(0.3)
        assert shown(app, "#name") == "Balie 1 · Stadhuis Demo"
        without_1 = default_config_text().replace(
            '[[counters]]\nid = "1"\nname = "Loket 1"\nservices = ["A", "B"]\n', ""
        )
        assert without_1 != default_config_text()
        office.init(without_1)
        await pilot.pause(0.3)
        assert shown(app, "#message") == (
            "Not connected: unknown counter '1' (known: 2, 3, 4). Retrying…"
        )
        assert enabled(app) == set()


async def test_the_morning_after_the_counter_is_usable_at_once(make_counter, office, clock):
    office.issue_ticket("B")
    office.issue_ticket("B")
    office.call_next("1")  # B001 left called at closing time
    clock.advance(hours=24)
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.query_one("#number").text == ""
        assert shown(app, "#details") == "No visitor."
        assert "ago" not in shown(app, "#details")
        office.issue_ticket("A")
        await press(pilot, "n")
        assert shown(app, "#message") == "Called A001."
        await press(pilot, "d")
        await press(pilot, "p")
        assert shown(app, "#state") == "PAUSED"


async def test_a_counter_left_running_overnight_lets_go_of_yesterday(make_counter, office, clock):
    office.issue_ticket("A")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        assert app.query_one("#number").text == "A001"
        clock.advance(hours=24)
        app.tick()
        await settle(pilot)
        assert app.query_one("#number").text == ""
        assert "ago" not in shown(app, "#details")
        assert "Served today: 0" in shown(app, "#queue")


async def test_a_locked_database_says_so_and_one_key_press_is_one_call(
    make_counter, office, db_path
):
    office.issue_ticket("A")
    office.issue_ticket("A")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        try:
            await pilot.press("n")
            await pilot.pause(1.0)
            assert shown(app, "#message") == WAITING  # the screen answers while it waits
            assert enabled(app) == set()
            await pilot.press("n")  # pressed again, impatiently
            app.tick()
        finally:
            other.rollback()
            other.close()
        await settle(pilot)
        assert shown(app, "#message") == "Called A001."
        assert "Next: A002" in shown(app, "#queue")
    assert office.ticket("A002").status == "waiting"


async def test_the_morning_after_a_locked_database_never_freezes_the_counter(
    make_counter, office, clock, db_path
):
    office.issue_ticket("A")
    office.call_next("1")
    clock.advance(hours=24)  # closing yesterday's A001 needs the write lock
    app = make_counter()
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(1.0)
            assert shown(app, "#message") == WAITING
            other.rollback()
            await settle(pilot)
            assert shown(app, "#message") == ""
            assert shown(app, "#details") == "No visitor."
    finally:
        other.close()
    assert [t.status for t in office.store.all_tickets()] == ["expired"]


async def test_a_bug_while_telling_the_outcome_never_leaves_the_keys_dead(
    make_counter, office, monkeypatch, caplog
):
    def broken(position: int) -> str:
        raise RuntimeError("a bug")

    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        monkeypatch.setattr("counter.app._ordinal", broken)
        await press(pilot, "i")
        await press(pilot, "enter")  # A: issued, but saying "1st in line" fails
        assert shown(app, "#message") == BUG  # no raw repr, no "Not connected"
        assert "a bug" in caplog.text  # the traceback is in the log
        app.follow_changes()  # its next look at the database reconnects
        await settle(pilot)
        await press(pilot, "n")
        assert shown(app, "#message") == "Called A001."


async def test_a_later_day_already_in_the_database_is_read_once_not_over_and_over(
    make_counter, office, clock, db_path
):
    app = make_counter(tick_interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ahead = Clock(clock() + timedelta(days=1))  # another machine's clock, past midnight
        with Engine(db_path, clock=ahead) as other:
            other.issue_ticket("A")
        app.load()
        await settle(pilot)
        reads = []
        load = app.load
        app.load = lambda news=False: (reads.append(news), load(news))
        for _ in range(5):
            app.tick()
            await settle(pilot)
        assert reads == []


async def test_each_action_and_read_closes_its_engine_without_a_disk_sync(
    make_counter, office, request
):
    office.issue_ticket("A")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        closed = request.getfixturevalue("engine_closes")  # from here on, not at start-up
        await press(pilot, "n")
        assert shown(app, "#message") == "Called A001."
        assert closed == [False, False]  # the action's engine and the read's
