"""The apps on an office on a network: the server goes away and comes back, answers get lost.

The kiosk, counter and display run as real processes in tmux against a PostgreSQL server
that the test stops and starts again; the lost answers are played through Pilot on both
backends (on PostgreSQL the connection is really terminated by the server).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from counter.app import CounterApp
from kiosk.app import KioskApp
from kiosk.start import StartScreen
from kiosk.ticket import TicketScreen
from loket.engine import Engine
from loket.errors import StorageError
from loket.texts import text
from tests.conftest import clerks_at
from tests.terminal import Tmux
from tests.test_end_to_end import FROZEN, big_call

SIZE = (100, 32)


@pytest.fixture
def tmux(tmp_path):
    terminal = Tmux(tmp_path, LOKET_FROZEN_CLOCK=FROZEN)
    yield terminal
    terminal.close()


@pytest.fixture
def server_stopped(pg_cluster):
    """Stops the test's server when called; it runs again after the test, whatever happened."""
    stopped = []

    def stop() -> None:
        stopped.append(True)
        pg_cluster.stop()

    yield stop
    if stopped:
        pg_cluster.stop()  # the test may have started it again already
        pg_cluster.start()


def start_office(tmux: Tmux, url: str, folder) -> None:
    """A kiosk, counter 1 and a display, each a process of its own with only the URL."""
    assert tmux.loket("--db", url, "init").returncode == 0
    tmux.start("kiosk", "--db", url, "kiosk", "--log", f"{folder}/kiosk.log")
    tmux.start("counter", "--db", url, "counter", "1", "--log", f"{folder}/counter.log")
    tmux.start("display", "--db", url, "display", "--log", f"{folder}/display.log")
    tmux.wait_for("kiosk", "Raak een dienst aan")
    tmux.wait_for("counter", "Loket 1 · Stadhuis Demo", "Geen bezoeker.")
    tmux.wait_for("display", "Nog niemand opgeroepen")


def take_and_call(tmux: Tmux) -> None:
    """A visitor takes an A ticket at the kiosk; counter 1 calls the next visitor."""
    tmux.keys("kiosk", "1", "Enter")  # the button box's first service, at once
    tmux.wait_for("kiosk", "Uw nummer")
    tmux.keys("kiosk", "Escape")
    tmux.wait_for("kiosk", "Raak een dienst aan")
    tmux.keys("counter", "n")


def test_every_app_says_one_moment_while_the_server_is_away_and_carries_on_by_itself(
    tmux, pg_cluster, server_stopped, tmp_path
):
    start_office(tmux, pg_cluster.create_database(), tmp_path)
    take_and_call(tmux)
    tmux.wait_for("display", *big_call(tmux, "display", "A001", "Loket 1"))

    server_stopped()
    tmux.wait_for("kiosk", text("nl", "unavailable"))
    tmux.wait_for("counter", text("nl", "counter_not_connected"))
    tmux.wait_for("display", text("nl", "display_unavailable"))

    pg_cluster.start()  # nobody touches a key: each app finds the server again
    tmux.wait_for("kiosk", "Raak een dienst aan")
    tmux.wait_for("counter", text("nl", "counter_connected"), "Identiteitskaart en paspoort")
    tmux.wait_for("display", *big_call(tmux, "display", "A001", "Loket 1"))

    tmux.keys("counter", "d")  # A001 served; then the next visitor, called live again
    tmux.wait_for("counter", text("nl", "counter_done", ticket="A001"))
    take_and_call(tmux)
    tmux.wait_for("counter", text("nl", "counter_called", ticket="A002"))
    tmux.wait_for("display", *big_call(tmux, "display", "A002", "Loket 1"))


def test_the_demo_on_a_server_gives_each_app_only_the_url(tmux, pg_cluster):
    url = pg_cluster.create_database()
    started = tmux.loket("--db", url, "demo", "--detach", "--session", "demo")
    assert started.returncode == 0, started.stderr
    tmux.wait_for("demo:0.0", "Ik heb een afspraak")
    tmux.wait_for("demo:0.1", "Geen bezoeker.")
    tmux.wait_for("demo:0.2", "Nog niemand opgeroepen")
    for pid in tmux("list-panes", "-t", "demo", "-F", "#{pane_pid}").split():
        with open(f"/proc/{pid}/cmdline", "rb") as command_line:
            command = command_line.read().split(b"\0")
        with open(f"/proc/{pid}/environ", "rb") as environ:
            environment = environ.read().split(b"\0")
        assert b"--db" not in command
        assert f"LOKET_DB={url}".encode() in environment

    tmux.keys("demo:0.0", "1", "Enter")
    tmux.wait_for("demo:0.0", "Uw nummer")
    tmux.keys("demo:0.1", "n")
    tmux.wait_for("demo:0.2", *big_call(tmux, "demo:0.2", "A001", "Loket 1"))

    again = tmux.loket("--db", url, "demo", "--detach", "--session", "again")
    assert again.returncode == 1
    assert "already holds an office: the demo needs a fresh database" in again.stderr


# answers lost on the way back (Pilot, on both backends)


def lose_the_first_answer(monkeypatch, name: str) -> list[tuple]:
    """`Engine.<name>` commits as usual, but the first caller never hears back.

    On PostgreSQL the server ends the connection right after the commit, so the caller
    meets the driver's own error; on SQLite the StorageError is raised in its place.
    Returns the arguments of every call.
    """
    calls: list[tuple] = []
    operation = getattr(Engine, name)

    def answer_lost(engine, *args, **kwargs):
        result = operation(engine, *args, **kwargs)
        calls.append((*args, *kwargs.values()))
        if len(calls) > 1:
            return result
        if engine.path.startswith("postgresql://"):
            with Engine(engine.store.url) as other:
                pid = engine.store.conn.info.backend_pid
                other.store._q("SELECT pg_terminate_backend(?, 5000)", (pid,))
            engine.services()  # the next statement finds the connection gone
        raise StorageError("the answer was lost")

    monkeypatch.setattr(Engine, name, answer_lost)
    return calls


@pytest.fixture
def make_kiosk(db_path, clock, monkeypatch):
    monkeypatch.setattr("kiosk.notice.RETRY_SECONDS", 0.1)

    def make() -> KioskApp:
        with Engine(db_path, clock=clock) as engine:
            clerks_at(engine, *engine.office.counters)
        return KioskApp(str(db_path), clock=clock, cursor_blink=False)

    return make


async def settle(pilot, seconds: float = 0.1) -> None:
    """Let the app's database work finish and its outcome reach the screen."""
    for _ in range(3):
        await pilot.pause(seconds)
        await pilot.app.workers.wait_for_complete()


@pytest.mark.backends
async def test_a_tap_whose_answer_was_lost_gives_one_ticket_once_the_database_answers(
    make_kiosk, office, monkeypatch
):
    app = make_kiosk()
    calls = lose_the_first_answer(monkeypatch, "issue_ticket")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#service-A")
        for _ in range(20):  # 'one moment', then the same tap asked again by itself
            await settle(pilot)
            if isinstance(app.screen, TicketScreen):
                break
        assert isinstance(app.screen, TicketScreen)
        assert app.screen.query_one("#number").text == "A001"
    assert [t.number for t in office.store.all_tickets()] == ["A001"]
    assert len(calls) == 2 and calls[0] == calls[1]  # asked again with the same request key
    assert calls[0][-1]


@pytest.mark.backends
async def test_a_tap_not_answered_for_too_long_is_not_asked_again(make_kiosk, office, monkeypatch):
    monkeypatch.setattr("kiosk.app.PENDING_TAP_SECONDS", 0)  # the visitor has gone
    app = make_kiosk()
    calls = lose_the_first_answer(monkeypatch, "issue_ticket")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#service-A")
        await settle(pilot)
        await settle(pilot)
        assert isinstance(app.screen, StartScreen)
    assert len(calls) == 1  # the ticket that did commit waits in line, nobody got a second


@pytest.mark.backends
async def test_a_call_whose_answer_was_lost_shows_what_the_database_holds(
    db_path, office, clock, monkeypatch
):
    office.issue_ticket("A")
    app = CounterApp(str(db_path), "1", clock=clock, watch_interval=0.05)
    app.retry.seconds = 0.1
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls = lose_the_first_answer(monkeypatch, "call_next")
        await pilot.press("n")
        for _ in range(20):  # not connected, then connected again by itself
            await settle(pilot)
            if app.desk is not None and app.desk.counter.current is not None:
                break
        assert str(app.query_one("#message").render()) == text("nl", "counter_connected")
        assert app.desk.counter.current.number == "A001"  # the call did commit: it shows
    assert len(calls) == 1  # and nothing was called twice


# a PC of the office: its units find the server in one environment file

SYSTEMD = Path(__file__).resolve().parent.parent / "data" / "systemd"
APP_UNITS = ("loket-kiosk.service", "loket-counter@.service", "loket-display.service")


def environment_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd reads an EnvironmentFile (no quotes: values as written)."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, equals, value = line.partition("=")
            assert equals and key.isidentifier() and " " not in value and '"' not in value
            found[key] = value
    return found


@pytest.mark.parametrize("unit", APP_UNITS)
def test_each_app_unit_takes_the_server_from_the_pcs_environment_file(unit):
    lines = (SYSTEMD / unit).read_text(encoding="utf-8").splitlines()
    # After Environment=: systemd lets the file's LOKET_DB replace the local default.
    assert lines.index("EnvironmentFile=-/etc/loket/loket.env") > next(
        number for number, line in enumerate(lines) if line.startswith("Environment=LOKET_DB=")
    )
    example = environment_file(SYSTEMD / "loket.env.example")
    assert set(example) == {"LOKET_DB", "LOKET_OFFICE", "PGPASSFILE"}
    assert example["LOKET_DB"].startswith("postgresql://")
