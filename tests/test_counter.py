"""The counter app as a clerk uses it: call, recall, finish, transfer, pause, refusals,
in the office's language; check-ins and tickets at the desk; who holds the desk."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from datetime import timedelta

import pytest
from textual.widgets import Button, Checkbox, Input, OptionList

from counter.app import ACTION_KEYS, CounterApp
from loket.cli import main
from loket.config import default_config_text
from loket.engine import PRESENCE_INTERVAL_SECONDS, Engine
from loket.errors import StorageError
from loket.texts import LANGUAGES, text
from tests.conftest import Clock
from tests.terminal import Tmux

SIZE = (100, 32)
# The demo office speaks Dutch first: so does its counter app.
WAITING = text("nl", "counter_busy")
BUG = text("nl", "counter_bug")


def shown(app, selector: str) -> str:
    return str(app.query_one(selector).render())


def enabled(app) -> set[str]:
    return {button.id for button in app.query(".action").results(Button) if not button.disabled}


async def settle(pilot) -> None:
    """Let the counter's database work finish and its outcome reach the screen.

    An answer may start the next worker (the desk opened: read it again), hence the rounds.
    """
    for _ in range(4):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot, condition, seconds: float = 5.0) -> None:
    """Let the app run until `condition()` holds (the counter follows changes on a timer)."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("the counter did not catch up in time")


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
        assert "Volgende: B001  0 min · voorrang\n          A001  0 min\n" in line  # in order
        assert "Vandaag geholpen: 0" in line
        assert shown(app, "#details") == "Geen bezoeker."
        assert enabled(app) == {"next", "call_number", "pause", "issue", "check_in"}


async def test_next_calls_the_visitor_and_shows_who_it_is(make_counter, office, clock):
    office.issue_ticket("A")
    clock.advance(minutes=7)
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        assert app.query_one("#number").text == "A001"
        assert shown(app, "#message") == "A001 opgeroepen."
        details = shown(app, "#details")
        assert "A  Identiteitskaart en paspoort" in details
        assert "zonder afspraak" in details and "7 min gewacht" in details
        clock.advance(seconds=75)
        app.tick()
        assert "1:15 geleden opgeroepen" in shown(app, "#details")
        assert office.counter_state("1").current.number == "A001"
        assert "pause" not in enabled(app)  # finish the visitor before pausing
        await press(pilot, "p")
        assert shown(app, "#message") == "Rond eerst A001 af (klaar, niet gekomen of doorsturen)."
        assert "refused" in app.query_one("#message").classes
        assert {"recall", "done", "no_show", "transfer", "next"} <= enabled(app)


async def test_next_with_nobody_waiting_finishes_the_visitor_and_says_so(
    make_counter, office, clock
):
    office.issue_ticket("A")
    office.call_next("1")
    clock.advance(minutes=4)  # the visitor came long ago: "Next" does not ask
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#next")
        assert shown(app, "#message") == "A001 is klaar. Er wacht niemand."
        assert "Vandaag geholpen: 1" in shown(app, "#queue")
        assert "next" not in enabled(app)


async def test_recall_counts_and_is_announced_again(make_counter, office):
    office.issue_ticket("A")
    office.call_next("1")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "r")
        await press(pilot, "r")
        assert shown(app, "#message") == "A001 opnieuw opgeroepen."
        assert "2 keer opnieuw opgeroepen" in shown(app, "#details")
    recalls = office.events_after(0, actions=("recall",))
    assert [(e.number, e.counter) for e in recalls] == [("A001", "1"), ("A001", "1")]


@pytest.mark.parametrize(("key", "status", "said"), [("d", "done", "A001 is klaar."),
                                                      ("x", "no_show", "A001 is niet gekomen.")])  # fmt: skip
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
        assert shown(app, "#message") == "A001 staat nu in rij C; het nummer blijft hetzelfde."
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
        assert shown(app, "#message") == "A002 opgeroepen."
        assert app.query_one("#number").text == "A002"


async def test_calling_a_number_another_counter_took_is_refused_plainly(make_counter, office):
    office.issue_ticket("A")
    office.call_next("2")  # counter 2 took A001
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c", "a", "1", "enter")
        assert shown(app, "#message") == "A001 werd al opgeroepen aan Loket 2."
        assert "refused" in app.query_one("#message").classes
        await press(pilot, "c", "z", "9", "enter")
        assert shown(app, "#message") == "Er is vandaag geen ticket Z9."
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
        assert shown(app, "#message") == ("A001 is niet meer aan Loket 1: al afgehandeld.")
        assert app.query_one("#number").text == ""  # re-read after the refusal
    assert office.ticket("A001").status == "no_show"


async def test_pause_and_resume(make_counter, office):
    office.issue_ticket("A")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "p")
        assert shown(app, "#state") == "GEPAUZEERD"
        assert str(app.query_one("#pause", Button).label) == "Hervatten (p)"
        assert enabled(app) == {"pause", "issue", "check_in"}
        await press(pilot, "n")  # disabled: it says why, and nothing happens
        assert shown(app, "#message") == "Het loket is gepauzeerd: hervat eerst (p)."
        assert office.counter_state("1").current is None
        await press(pilot, "p")
        assert shown(app, "#state") == "OPEN"
        assert shown(app, "#message") == "Weer open."


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
        assert shown(app, "#message") == "Ticket B001 gemaakt: plaats 1 in de rij."
        assert app.screen.query_one("#ticket-number").text == "B001"  # large, to note
        await press(pilot, "escape")
        assert "Volgende: B001  0 min · voorrang" in shown(app, "#queue")
    assert office.ticket("B001").priority


async def test_next_right_after_a_ticket_came_in_calls_it(make_counter, office):
    app = make_counter()  # polls only hourly here: its screen still says nobody waits
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        office.issue_ticket("A")
        await press(pilot, "n")
        assert shown(app, "#message") == "A001 opgeroepen."


async def test_follows_tickets_issued_and_taken_elsewhere(make_counter, office):
    app = make_counter(watch_interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        office.issue_ticket("A")  # at the kiosk
        await pilot.pause(0.5)
        assert "Volgende: A001" in shown(app, "#queue")
        office.call_next("2")  # another counter takes it
        await pilot.pause(0.5)
        assert "Volgende: -" in shown(app, "#queue")
        assert "next" not in enabled(app)
        office.issue_ticket("B")
        office.call_next("1")  # a colleague calls from a shell for this desk
        await pilot.pause(0.5)
        assert shown(app, "#message") == "B001 werd van elders naar dit loket geroepen."
        office.finish("1")
        await pilot.pause(0.5)
        assert shown(app, "#message") == "B001 werd elders afgehandeld."


async def test_without_a_database_it_waits_and_then_starts(db_path, clock, caplog):
    app = CounterApp(str(db_path), "1", clock=clock, watch_interval=0.05)
    app.retry.seconds = 0.1
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # The clerk reads Dutch only; the engine's English reason is for the log.
        assert shown(app, "#message") == "Niet verbonden, nieuwe poging…"
        assert "database unavailable: the database" in caplog.text
        assert enabled(app) == set()
        await press(pilot, "n")
        Engine(db_path, clock=clock).close()
        await pilot.pause(0.4)
        assert shown(app, "#state") == "OPEN"
        assert enabled(app) == {"call_number", "pause", "issue", "check_in"}


async def test_a_new_office_config_is_taken_up_without_a_restart(make_counter, office):
    app = make_counter(watch_interval=0.05)
    app.retry.seconds = 0.05
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        office.init(default_config_text().replace('name = "Loket 1"', 'name = "Balie 1"'))
        await until(pilot, lambda: shown(app, "#name") == "Balie 1 · Stadhuis Demo")
        without_1 = default_config_text().replace(
            '[[counters]]\nid = "1"\nname = "Loket 1"\nservices = ["A", "B"]\n', ""
        )
        assert without_1 != default_config_text()
        office.init(without_1)
        removed = "Loket 1 staat niet in de configuratie: wachten op een nieuwe…"
        await until(pilot, lambda: shown(app, "#message") == removed)
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
        assert shown(app, "#details") == "Geen bezoeker."
        assert "geleden" not in shown(app, "#details")
        office.issue_ticket("A")
        await press(pilot, "n")
        assert shown(app, "#message") == "A001 opgeroepen."
        await press(pilot, "d")
        await press(pilot, "p")
        assert shown(app, "#state") == "GEPAUZEERD"


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
        assert "geleden" not in shown(app, "#details")
        assert "Vandaag geholpen: 0" in shown(app, "#queue")


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
        assert shown(app, "#message") == "A001 opgeroepen."
        assert "Volgende: A002" in shown(app, "#queue")
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
            assert shown(app, "#details") == "Geen bezoeker."
    finally:
        other.close()
    assert [t.status for t in office.store.all_tickets()] == ["expired"]


async def test_a_bug_while_telling_the_outcome_never_leaves_the_keys_dead(
    make_counter, office, monkeypatch, caplog
):
    def broken(language, receipt) -> str:
        raise RuntimeError("a bug")

    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        monkeypatch.setattr("counter.app._issued_text", broken)
        await press(pilot, "i")
        await press(pilot, "enter")  # A: issued, but saying so fails
        assert shown(app, "#message") == BUG  # no raw repr, no "Not connected"
        assert "a bug" in caplog.text  # the traceback is in the log
        app.follow_changes()  # its next look at the database reconnects
        await settle(pilot)
        await press(pilot, "n")
        assert shown(app, "#message") == "A001 opgeroepen."


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
        assert shown(app, "#message") == "A001 opgeroepen."
        assert closed == [False, False]  # the action's engine and the read's


# the office's language

FRENCH_FIRST = default_config_text().replace(
    'languages = ["nl", "fr", "en", "de"]', 'languages = ["fr", "nl", "en", "de"]'
)


def binding_descriptions(app) -> dict[str, str]:
    return {b.action: b.description for bs in app._bindings.key_to_bindings.values() for b in bs}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_label_and_key_is_in_the_offices_first_language(make_counter, office, language):
    office.init(
        default_config_text().replace(
            'languages = ["nl", "fr", "en", "de"]',
            f'languages = ["{language}"]',
        )
    )
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        described = binding_descriptions(app)
        for button in app.query(".action").results(Button):
            word = text(language, f"counter_{button.id}_button")
            assert str(button.label) == f"{word} ({ACTION_KEYS[button.id]})"
            assert described[button.id] == word
        assert described["quit"] == text(language, "counter_quit")
        assert shown(app, "#current-heading") == text(language, "counter_now")
        assert shown(app, "#line-heading") == text(language, "counter_waiting")
        assert shown(app, "#details") == text(language, "counter_no_visitor")


async def test_a_french_office_gets_a_french_counter(make_counter, office):
    office.init(FRENCH_FIRST)
    office.issue_ticket("A")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert shown(app, "#state") == "OUVERT"
        assert "Suivants : A001" in shown(app, "#queue")
        assert "A    1  Carte d'identité et passeport" in shown(app, "#queue")
        await press(pilot, "n")
        assert shown(app, "#message") == "A001 appelé."
        assert "sans rendez-vous" in shown(app, "#details")
        await press(pilot, "t")
        assert str(app.screen.query_one(".dialog-title").render()) == "Transférer A001 vers"


async def test_a_new_office_language_reaches_the_running_counter(make_counter, office):
    app = make_counter(watch_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert str(app.query_one("#next", Button).label) == "Volgende (n)"
        office.init(FRENCH_FIRST)
        await pilot.pause(0.3)
        await settle(pilot)
        assert str(app.query_one("#next", Button).label) == "Suivant (n)"
        assert shown(app, "#details") == "Aucun visiteur."


@pytest.mark.parametrize(
    ("c_line", "said"),
    [
        ('daily_limit = 40\nhours = { tue = "13:00-16:00" }',
         "Rij C is nu gesloten; ze opent vandaag om 13:00."),
        ('daily_limit = 40\nhours = { wed = "13:00-16:00" }',
         "Rij C is nu gesloten; ze opent op woensdag 2 december om 13:00."),
        ("daily_limit = 1", "Rij C heeft vandaag al haar tickets uitgedeeld."),
    ],
)  # fmt: skip
async def test_a_ticket_the_line_cannot_give_is_refused_in_the_clerks_words(
    make_counter, office, c_line, said
):
    office.init(default_config_text().replace("daily_limit = 40", c_line))
    at_limit = c_line == "daily_limit = 1"
    if at_limit:
        office.issue_ticket("C")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "i", "down", "down", "enter")  # C
        assert shown(app, "#message") == said
        assert "refused" in app.query_one("#message").classes
        assert len(app.screen_stack) == 1  # no ticket to show
    assert [t.number for t in office.store.all_tickets()] == (["C001"] if at_limit else [])


async def test_a_visitor_ticket_is_shown_large_until_the_clerk_closes_it(make_counter, office):
    office.issue_ticket("A")
    office.call_next("1")
    office.issue_ticket("A")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "i", "enter")  # A
        ticket = app.screen
        assert ticket.query_one("#ticket-number").text == "A003"
        lines = shown(ticket, "#ticket-lines")
        assert "Identiteitskaart en paspoort" in lines and "Plaats in de rij: 2" in lines
        await press(pilot, "n")  # the desk's keys wait while the visitor reads
        assert app.screen is ticket
        assert office.counter_state("1").current.number == "A001"
        await press(pilot, "enter")
        assert len(app.screen_stack) == 1
        assert app.query_one("#number").text == "A001"


async def test_the_priority_box_stays_within_the_visitor_ticket_dialog_at_80_columns(
    make_counter,
):
    app = make_counter()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "i")
        box = app.screen.query_one("#priority")
        dialog = app.screen.query_one(".dialog")
        assert box.region.right <= dialog.content_region.right  # its right edge is seen


# the printer at the desk


async def test_a_visitor_ticket_is_printed_on_the_desks_printer(make_counter, office, tmp_path):
    out = tmp_path / "printed"
    app = make_counter(printer=f"file:{out}")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "i", "down", "enter")  # B
        await settle(pilot)
        assert shown(app, "#message") == "Ticket B001 afgedrukt: plaats 1 in de rij."
        assert len(app.screen_stack) == 1  # on paper, not on the screen
    printed = list(out.glob("B001-*.bin"))
    assert len(printed) == 1
    assert b"B001" in printed[0].read_bytes() and b"Verhuizing en adres" in printed[0].read_bytes()


async def test_a_printer_fault_shows_the_ticket_large_instead(
    make_counter, office, tmp_path, caplog
):
    occupied = tmp_path / "printed"
    occupied.write_text("a file where the printer's folder should be")
    app = make_counter(printer=f"file:{occupied}")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "i", "enter")
        await settle(pilot)
        # Only the clerk's language on the screen: escpos's English reason is in the log.
        assert shown(app, "#message") == (
            "De printer drukte A001 niet af: toon de bezoeker het nummer."
        )
        assert app.screen.query_one("#ticket-number").text == "A001"
        assert text("nl", "note_number") in shown(app.screen, "#ticket-lines")
    assert "printer fault, ticket A001 not printed: printer file:" in caplog.text
    assert [t.number for t in office.store.all_tickets()] == ["A001"]  # issued once


class SlowPrinter:
    """A desk printer that takes its time over each ticket and notes two printing at once."""

    def __init__(self):
        self.guard = threading.Lock()
        self.printing = 0
        self.overlapped = False
        self.go_on = threading.Event()
        self.printed: list[str] = []

    def print_ticket(self, ticket) -> None:
        with self.guard:
            self.printing += 1
            self.overlapped |= self.printing > 1
        self.go_on.wait(timeout=10)
        with self.guard:
            self.printing -= 1
            self.printed.append(ticket.number)


async def test_two_visitor_tickets_in_a_row_reach_the_printer_one_after_the_other(
    make_counter, office, tmp_path
):
    printer = SlowPrinter()
    app = make_counter(printer=f"file:{tmp_path / 'printed'}")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.printer = printer
        for _ in range(2):  # the first is still printing when the second is issued
            await pilot.press("i", "enter")
            for _ in range(500):
                if not app.busy:
                    break
                await pilot.pause(0.01)
        await pilot.pause(0.5)  # time for a second ticket to reach the printer too soon
        printer.go_on.set()
        await settle(pilot)
        assert shown(app, "#message") == "Ticket A002 afgedrukt: plaats 2 in de rij."
    assert printer.printed == ["A001", "A002"]
    assert not printer.overlapped


def test_the_counter_command_refuses_a_printer_it_does_not_know(db_path, office, capsys):
    assert main(["--db", str(db_path), "counter", "1", "--printer", "lpt1"]) != 0
    err = capsys.readouterr().err
    assert "--printer: unknown printer 'lpt1'" in err and "Traceback" not in err


# an appointment checked in at the desk


async def test_an_appointment_checked_in_at_the_desk_can_be_called_at_once(
    make_counter, office, clock
):
    booking = office.add_appointment("B", clock.now + timedelta(minutes=10), name="Els")
    office.issue_ticket("A")
    office.call_next("1")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "a")
        await pilot.press(*booking.reference.lower().replace("-", ""))
        await press(pilot, "enter")
        assert shown(app.screen, "#said") == "Aangemeld: R001, afspraak om 09:10."
        assert shown(app.screen, "#finishes") == "A001, nu aan uw loket, is dan klaar."
        await press(pilot, "enter")  # call it now
        assert shown(app, "#message") == "A001 is klaar. R001 opgeroepen."
        assert app.query_one("#number").text == "R001"
    assert office.ticket("A001").status == "done"
    assert office.counter_state("1").current.number == "R001"


@pytest.mark.parametrize(
    ("minutes", "said"),
    [
        (60, "Te vroeg: aanmelden voor deze afspraak kan vanaf 09:30."),
        (-30, "Te laat (afspraak om 08:30): gewoon ticket A001."),
    ],
)
async def test_check_in_outcomes_are_said_to_the_clerk(make_counter, office, clock, minutes, said):
    booking = office.add_appointment("A", clock.now + timedelta(minutes=minutes), name="Jan")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "a")
        await pilot.press(*booking.reference)
        await press(pilot, "enter")
        assert shown(app.screen, "#said") == said
        assert shown(app, "#message") == said


async def test_an_unknown_reference_offers_nothing_to_call(make_counter, office):
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "a", *"ZZZZ-ZZZZ", "enter")
        assert shown(app.screen, "#said") == "Er is geen afspraak met deze referentie."
        assert not app.screen.query("#accept")
        await press(pilot, "enter")
        assert len(app.screen_stack) == 1
    assert office.store.all_tickets() == []


async def test_a_paused_counter_checks_in_without_offering_to_call(make_counter, office, clock):
    booking = office.add_appointment("A", clock.now, name="An")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "p", "a", *booking.reference, "enter")
        assert shown(app.screen, "#said") == "Aangemeld: R001, afspraak om 09:00."
        assert not app.screen.query("#accept")
    assert office.ticket("R001").status == "waiting"


# a visitor who never came


async def test_next_right_after_the_call_asks_whether_the_visitor_came(make_counter, office, clock):
    office.issue_ticket("A")
    office.issue_ticket("A")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        clock.advance(seconds=20)
        await press(pilot, "n")  # 20 seconds: did A001 even reach the counter?
        question = app.screen
        assert str(question.query_one(".dialog-title").render()) == (
            "Is A001 aan het loket gekomen?"
        )
        assert shown(question, "#said") == "0:20 geleden opgeroepen"
        assert [str(b.label) for b in question.query(Button)] == [
            "Geholpen (d)",
            "Niet gekomen (x)",
            "Terug (Esc)",
        ]
        assert office.ticket("A001").status == "called"  # nothing done while it asks
        await press(pilot, "d")
        assert len(app.screen_stack) == 1
        assert shown(app, "#message") == "A001 is klaar. A002 opgeroepen."
    assert office.ticket("A001").status == "done"


async def test_a_visitor_who_did_not_come_is_a_no_show_and_the_next_is_called(
    make_counter, office, clock
):
    office.issue_ticket("A")
    office.issue_ticket("B")
    office.call_next("1")
    clock.advance(minutes=3)
    office.recall("1")  # called twice: maybe nobody came
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        assert shown(app.screen, "#said") == "3:00 geleden opgeroepen · 1 keer opnieuw opgeroepen"
        await click(pilot, "#no_show")  # by touch
        assert shown(app, "#message") == "A001 is niet gekomen. B001 opgeroepen."
        assert app.query_one("#number").text == "B001"
    assert office.ticket("A001").status == "no_show"
    assert office.counter_state("1").current.number == "B001"


@pytest.mark.parametrize("back", [("escape",), ("click", "#back")])
async def test_back_leaves_the_visitor_at_the_counter(make_counter, office, back):
    office.issue_ticket("A")
    office.issue_ticket("A")
    office.call_next("1")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        await (click(pilot, back[1]) if back[0] == "click" else press(pilot, *back))
        assert len(app.screen_stack) == 1
        assert app.query_one("#number").text == "A001"
    assert [t.status for t in office.store.all_tickets()] == ["called", "waiting"]


def a_missed_visitor(office) -> None:
    """A001 is called at Loket 1 and does not come."""
    office.issue_ticket("A")
    office.call_next("1")
    office.no_show("1")


async def test_a_no_show_who_turns_up_is_put_back_in_line_by_the_offices_policy(
    make_counter, office, clock
):
    for _ in range(5):
        office.issue_ticket("A")
        clock.advance(minutes=1)
    office.call_next("1")
    office.no_show("1")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c", *"a1", "enter")  # the clerk tries to call A001
        assert str(app.screen.query_one(".dialog-title").render()) == (
            "A001 kwam niet toen het werd opgeroepen. Terug in de rij zetten?"
        )
        await press(pilot, "enter")
        assert shown(app, "#message") == "A001 staat terug in de rij: plaats 4, ongeveer 25 min."
        assert "A001  teruggekomen" in shown(app, "#queue")  # behind the next three
        assert app.query_one("#number").text == ""  # not called: it waits its turn
    ticket = office.ticket("A001")
    assert (ticket.status, ticket.reinstated) == ("waiting", 1)
    assert office.position(ticket) == 4


async def test_escape_leaves_a_no_show_as_it_was(make_counter, office):
    a_missed_visitor(office)
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c", *"A001", "enter")
        assert app.screen.query_one("#reinstate")
        await press(pilot, "escape")
        assert len(app.screen_stack) == 1
    assert office.ticket("A001").status == "no_show"


@pytest.mark.parametrize(
    ("story", "said"),
    [
        ("twice", "A001 kwam al 1 keer terug; vaker kan niet."),
        ("late", "A001 werd meer dan 30 min geleden gemist: te laat om terug te komen."),
    ],
)
async def test_a_no_show_the_policy_does_not_take_back_is_refused_in_the_clerks_words(
    make_counter, office, clock, story, said
):
    a_missed_visitor(office)
    if story == "twice":
        office.reinstate("A001")
        office.call_next("1")
        office.no_show("1")
    else:
        clock.advance(minutes=31)
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c", *"A001", "enter", "enter")
        assert shown(app, "#message") == said
        assert "refused" in app.query_one("#message").classes
    assert office.ticket("A001").status == "no_show"


async def test_an_office_that_never_takes_no_shows_back_does_not_offer_it(make_counter, office):
    office.init(default_config_text().replace('requeue = "behind"', 'requeue = "none"'))
    a_missed_visitor(office)
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c", *"A001", "enter")
        assert len(app.screen_stack) == 1
        assert shown(app, "#message") == "A001 staat al als niet gekomen."


async def test_the_line_shows_why_each_next_number_stands_where_it_does(
    make_counter, office, clock
):
    office.issue_ticket("A")
    clock.advance(minutes=4)
    office.issue_ticket("A")
    office.call_next("1")
    clock.advance(minutes=1)
    office.no_show("1")  # A001
    office.reinstate("A001")  # behind A002, the only one waiting
    booking = office.add_appointment("A", clock.now + timedelta(minutes=10), name="Els")
    office.check_in(booking.reference)
    clock.advance(minutes=3)
    office.issue_ticket("B", priority=True)
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert shown(app, "#queue").splitlines()[3:8] == [
            "Volgende: B001  0 min · voorrang",
            "          R001  afspraak 09:15",
            "          A002  4 min",
            "          A001  teruggekomen",
            "Vandaag geholpen: 0",
        ]
        await press(pilot, "c", *"A001", "enter")
        assert "zonder afspraak · teruggekomen" in shown(app, "#details")


async def test_the_minutes_waited_move_on_with_the_clock(make_counter, office, clock):
    office.issue_ticket("A")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Volgende: A001  0 min" in shown(app, "#queue")
        clock.advance(minutes=7)
        app.tick()
        assert "Volgende: A001  7 min" in shown(app, "#queue")


@pytest.mark.parametrize(
    ("story", "said", "offered"),
    [
        ("missed", "A001 staat terug in de rij.", False),  # it waits where the policy put it
        ("called", "A001 wordt nu opgeroepen aan Loket 2.", False),
        ("waiting", "A001 wacht nog in de rij.", True),
    ],
)
async def test_a_scanned_ticket_at_the_desk_says_where_it_stands(
    make_counter, office, story, said, offered
):
    code = office.issue_ticket("A").code
    if story != "waiting":
        office.call_next("2")
    if story == "missed":
        office.no_show("2")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "a", *code, "enter")
        assert shown(app.screen, "#said") == said
        assert bool(app.screen.query("#accept")) == offered
    assert office.ticket("A001").status == ("called" if story == "called" else "waiting")


async def test_a_line_full_for_today_is_refused_with_when_to_come_back(make_counter, office, clock):
    office.init(
        default_config_text().replace(
            "minutes = 8\n", 'minutes = 8\nhours = { tue = "08:00-09:10", wed = "08:00-12:00" }\n'
        )
    )
    for _ in range(3):
        office.issue_ticket("A")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "i", "enter")  # A
        assert shown(app, "#message") == (
            "Rij A is vol voor vandaag; kom terug op woensdag 2 december om 08:00."
        )
    assert [t.number for t in office.store.all_tickets()] == ["A001", "A002", "A003"]


# quitting, and who is at the desk


async def test_the_app_opens_its_desk_and_quitting_leaves_it_paused(make_counter, office, clock):
    office.pause("1")  # yesterday's clerk paused it
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        state = office.counter_state("1")
        assert (state.state, state.present) == ("open", True)
        await press(pilot, "ctrl+q")  # nobody at the counter: at once
        assert app.return_code == 0
    state = office.counter_state("1")
    assert (state.state, state.present, state.away_since) == ("paused", False, clock.now)


async def test_quitting_with_a_visitor_at_the_counter_asks_first(make_counter, office):
    office.issue_ticket("A")
    office.call_next("1")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+q")
        assert str(app.screen.query_one(".dialog-title").render()) == (
            "A001 staat nog aan uw loket. Toch afsluiten?"
        )
        await press(pilot, "escape")  # stay
        assert app.return_code is None and len(app.screen_stack) == 1
        assert office.counter_state("1").present
        await press(pilot, "ctrl+q", "ctrl+q")
        assert app.return_code == 0
    state = office.counter_state("1")
    assert (state.state, state.present, state.current.number) == ("paused", False, "A001")


async def test_heartbeats_keep_the_desk_present(make_counter, office, clock):
    app = make_counter(presence_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _ in range(6):  # two minutes: silent, the desk would be away after 35 s
            clock.advance(seconds=PRESENCE_INTERVAL_SECONDS * 2)
            await pilot.pause(0.2)
            assert office.counter_state("1").present
        assert estimate_a(office) is not None


async def test_a_missed_heartbeat_is_logged_and_tried_again_while_the_clerk_works_on(
    make_counter, office, clock, monkeypatch, caplog
):
    office.issue_ticket("A")
    missed = []
    heartbeat = Engine.heartbeat

    def busy_once(engine, counter, session):
        if not missed:
            missed.append(session)
            raise StorageError("the database is busy (another program holds it)")
        return heartbeat(engine, counter, session)

    app = make_counter(presence_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        monkeypatch.setattr(Engine, "heartbeat", busy_once)
        await pilot.pause(0.3)
        await settle(pilot)
        assert missed
        assert "could not tell the database the desk is still here" in caplog.text
        assert shown(app, "#state") == "OPEN" and shown(app, "#message") == ""
        clock.advance(seconds=PRESENCE_INTERVAL_SECONDS * 3)
        await pilot.pause(0.3)  # the next heartbeats get through
        assert office.counter_state("1").present
        await press(pilot, "n")
        assert shown(app, "#message") == "A001 opgeroepen."


def estimate_a(engine) -> int | None:
    return next(s for s in engine.services() if s.code == "A").estimated_wait_minutes


async def test_a_second_screen_on_a_desk_is_warned_and_may_take_it_over(
    make_counter, office, clock
):
    office.open_desk("1", "the-first-screen")
    clock.advance(minutes=5)
    office.heartbeat("1", "the-first-screen")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert shown(app.screen, "#said") == (
            "Loket 1 is sinds 09:00 open op een ander scherm. Daar laatst gezien om 09:05:00."
        )
        assert enabled(app) == set()
        await click(pilot, "#take-over")
        assert len(app.screen_stack) == 1
        assert "next" not in enabled(app) and "pause" in enabled(app)
    assert office.heartbeat("1", "the-first-screen") is False  # that screen learns so


async def test_a_second_screen_that_quits_leaves_the_desk_to_the_first(make_counter, office):
    office.open_desk("1", "the-first-screen")
    app = make_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "escape")
        assert app.return_code == 0
    assert office.heartbeat("1", "the-first-screen") is True
    assert office.counter_state("1").state == "open"


async def test_a_screen_whose_desk_was_taken_over_says_so_and_only_quits(
    make_counter, office, clock
):
    office.issue_ticket("A")
    app = make_counter(presence_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        clock.advance(minutes=42)
        office.open_desk("1", "a-colleagues-screen", take_over=True)
        await pilot.pause(0.3)
        await settle(pilot)
        assert shown(app, "#message") == (
            "Loket 1 werd om 09:42 overgenomen op een ander scherm. Ctrl+Q sluit af."
        )
        assert enabled(app) == set()
        assert not app.query_one("#actions").display  # no buttons that do nothing
        await press(pilot, "n")
        assert office.ticket("A001").status == "waiting"
        await press(pilot, "ctrl+q")
        assert app.return_code == 0
    state = office.counter_state("1")
    assert (state.state, state.present) == ("open", True)  # the colleague's desk, untouched


async def test_a_take_over_is_known_at_the_redraw_it_causes_not_at_the_next_sign_of_life(
    make_counter, office
):
    office.issue_ticket("A")
    app = make_counter(presence_interval=3600, watch_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        office.open_desk("1", "a-colleagues-screen", take_over=True)
        await pilot.pause(0.3)
        await settle(pilot)
        assert "overgenomen op een ander scherm" in shown(app, "#message")
        await press(pilot, "n")
    assert office.ticket("A001").status == "waiting"  # the colleague's line, untouched


async def test_a_question_left_open_on_a_taken_over_screen_acts_for_nobody(
    make_counter, office, clock
):
    office.issue_ticket("A")
    office.issue_ticket("A")
    app = make_counter(presence_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n")  # A001 called
        await press(pilot, "n")  # called moments ago: "did A001 come?"
        assert len(app.screen_stack) == 2
        office.open_desk("1", "a-colleagues-screen", take_over=True)
        await pilot.pause(0.3)
        await settle(pilot)
        assert len(app.screen_stack) == 1  # the question is gone with the desk
        await press(pilot, "d")
    assert [(t.number, t.status) for t in office.store.all_tickets()] == [
        ("A001", "called"),
        ("A002", "waiting"),
    ]


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP], ids=lambda n: n.name)
def test_a_counter_ended_by_a_signal_leaves_its_desk_paused(tmp_path, number):
    """`systemctl stop`, a closed terminal window or an ssh drop: the counter pauses."""
    db = str(tmp_path / "office.db")
    terminal = Tmux(tmp_path, width=100, height=32)
    try:
        assert terminal.loket("--db", db, "init").returncode == 0
        terminal.start("counter", "--db", db, "counter", "1", "--log", str(tmp_path / "c.log"))
        terminal.wait_for("counter", "Loket 1 · Stadhuis Demo", "Geen bezoeker.")
        with Engine(db, create=False) as engine:
            assert eventually(lambda: engine.counter_state("1").present)
        pid = int(terminal("list-panes", "-t", "counter", "-F", "#{pane_pid}"))

        os.kill(pid, number)

        assert eventually(lambda: not running(pid))
    finally:
        terminal.close()
    with Engine(db, create=False) as engine:
        state = engine.counter_state("1")
        assert (state.state, state.present) == ("paused", False)
        assert len(engine.events_after(0, actions=["leave_desk"])) == 1


def eventually(condition, seconds: float = 15) -> bool:
    """Whether `condition()` holds within `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def running(pid: int) -> bool:
    """Whether the process runs (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_a_desk_ticket_carries_the_phone_page_when_the_office_has_one(
    make_counter, office, tmp_path
):
    from loket.config import default_config_text
    from tests.test_printing import decode, parse

    office.init(
        default_config_text().replace('public_url = ""', 'public_url = "https://loket.example"')
    )
    out = tmp_path / "printed"
    app = make_counter(printer=f"file:{out}")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "i", "down", "enter")  # B
        await settle(pilot)
    (printed,) = out.glob("B001-*.bin")
    codes = [text for image in parse(printed.read_bytes())["images"] for text in decode(image)]
    phone = f"https://loket.example/t/{office.visitor_token(office.ticket('B001'))}?lang=nl"
    assert phone in codes
